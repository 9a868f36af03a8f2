"""Migration 0019 (staff mobiles for alert texts) runs up, down and up again on a real encrypted file,
keeping every account and, while up, the mobile set."""

from __future__ import annotations

import os
from datetime import datetime

from sqlalchemy import MetaData, insert, inspect, select, update

from casefeedback.storage import migrate
from casefeedback.storage.engine import open_engine, write

NOW = datetime(2026, 1, 2, 3, 4, 5)


def _staff(engine):
    reflected = MetaData()
    with engine.connect() as connection:
        reflected.reflect(connection)
    return reflected.tables["staff"]


def _columns(engine) -> set[str]:
    with engine.connect() as connection:
        return {c["name"] for c in inspect(connection).get_columns("staff")}


def test_0019_up_down_up_on_an_encrypted_file_keeps_accounts(tmp_path):
    path = tmp_path / "m.db"
    engine = open_engine(path, os.urandom(32), create=True)
    migrate.upgrade(engine, "0018")
    assert "mobile" not in _columns(engine)
    before = _staff(engine)
    with write(engine) as connection:
        connection.execute(insert(before).values(
            id="s-1", username="ana", display_name="Ana", email="ana@example.org", role="caseworker",
            password_hash="x", enabled=True, created_at=NOW, password_changed_at=NOW))
    migrate.upgrade(engine, "0019")
    staff = _staff(engine)
    with write(engine) as connection:
        assert connection.execute(select(staff.c.mobile)).scalar_one() is None  # nobody is texted until set
        connection.execute(update(staff).values(mobile="+447700900123"))
    with engine.connect() as connection:
        assert connection.execute(select(staff.c.username, staff.c.mobile)).one() == ("ana", "+447700900123")
    migrate.downgrade(engine, "0018")
    assert "mobile" not in _columns(engine)
    after = _staff(engine)
    with engine.connect() as connection:
        assert connection.execute(select(after.c.email)).scalar_one() == "ana@example.org"
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision() and "mobile" in _columns(engine)
    engine.dispose()
    assert b"SQLite format 3" not in path.read_bytes()[:16]  # the file is encrypted
