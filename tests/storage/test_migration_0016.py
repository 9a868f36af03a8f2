"""Migration 0016 (API clients) runs up, down and up again on a real encrypted file, keeping what was there."""

from __future__ import annotations

import os
from datetime import datetime

from sqlalchemy import MetaData, insert, inspect, select

from casefeedback.storage import migrate
from casefeedback.storage.engine import open_engine, write
from casefeedback.storage.tables import metadata

NOW = datetime(2026, 1, 2, 3, 4, 5)


def _tables(engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def test_0016_up_down_up_on_an_encrypted_file_keeps_data(tmp_path):
    path = tmp_path / "m.db"
    engine = open_engine(path, os.urandom(32), create=True)
    migrate.upgrade(engine, "0015")
    assert "api_clients" not in _tables(engine)
    with write(engine) as connection:  # a row from before, which the migration must not touch
        connection.execute(insert(metadata.tables["teams"]).values(id="team-1", name="North"))
    migrate.upgrade(engine, "0016")
    with engine.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("api_clients")}
    assert columns == set(metadata.tables["api_clients"].columns.keys())
    reflected = MetaData()
    with engine.connect() as connection:
        reflected.reflect(connection)
    with write(engine) as connection:
        connection.execute(insert(reflected.tables["api_clients"]).values(
            id="c-1", name="case system", scopes="cases:write", token_prefix="cfk_abcd1234",
            token_hash="a" * 64, created_at=NOW))
    migrate.downgrade(engine, "0015")
    assert "api_clients" not in _tables(engine)
    migrate.upgrade(engine)
    assert "api_clients" in _tables(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as connection:
        teams = list(connection.execute(select(reflected.tables["teams"].c.name)).scalars())
    assert teams == ["North"]
    engine.dispose()
    assert b"SQLite format 3" not in path.read_bytes()[:16]  # the file is encrypted
