"""Migration 0017 (replies to feedback, published changes) runs up, down and up again on a real encrypted file,
keeping what was there before it."""

from __future__ import annotations

import os
from datetime import datetime

from sqlalchemy import MetaData, insert, inspect, select

from casefeedback.storage import migrate
from casefeedback.storage.engine import open_engine, write
from casefeedback.storage.tables import metadata

NOW = datetime(2026, 1, 2, 3, 4, 5)
NEW = ("feedback_replies", "published_changes")


def _tables(engine) -> set[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def _reflected(engine):  # type: ignore[no-untyped-def]
    reflected = MetaData()
    with engine.connect() as connection:
        reflected.reflect(connection)
    return reflected.tables


def test_0017_up_down_up_on_an_encrypted_file_keeps_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "m.db"
    engine = open_engine(path, os.urandom(32), create=True)
    migrate.upgrade(engine, "0016")
    assert not set(NEW) & _tables(engine)
    tables = _reflected(engine)
    with write(engine) as connection:  # rows from before, which the migration must not touch
        connection.execute(insert(tables["teams"]).values(id="team-1", name="North"))
        connection.execute(insert(tables["policy_versions"]).values(
            version="v1", service_id="svc", source="s", document="d", first_loaded_at=NOW))
        connection.execute(insert(tables["submissions"]).values(
            id="sub-1", service_id="svc", policy_version="v1", case_id=None, language="cy", submitted_at=NOW,
            receipt_hash="c" * 64, status="active"))
        connection.execute(insert(tables["staff"]).values(
            id="staff-1", username="sam", display_name="Sam", role="caseworker", password_hash="x",
            enabled=True, created_at=NOW, password_changed_at=NOW))
    migrate.upgrade(engine, "0017")
    for name in NEW:
        with engine.connect() as connection:
            columns = {c["name"] for c in inspect(connection).get_columns(name)}
        assert columns == set(metadata.tables[name].columns.keys())
    with engine.connect() as connection:
        indexes = {i["name"] for i in inspect(connection).get_indexes("feedback_replies")}
    assert {"ix_feedback_replies_submission_id", "ix_feedback_replies_data_key_id"} <= indexes
    tables = _reflected(engine)
    with write(engine) as connection:
        connection.execute(insert(tables["feedback_replies"]).values(
            id="r-1", submission_id="sub-1", field_class="reply", data_key_id="dk-1", language="cy",
            written_by="staff-1", written_at=NOW, form_nonce="n" * 32, ciphertext=b"\x01" * 40))
        connection.execute(insert(tables["published_changes"]).values(
            id="c-1", service_id="svc", period="2026-Q1", period_starts=NOW, said='{"en": "s"}', did='{"en": "d"}',
            status="draft", created_by="staff-1", created_at=NOW, updated_at=NOW, form_nonce="m" * 32))
    migrate.downgrade(engine, "0016")
    assert not set(NEW) & _tables(engine)
    migrate.upgrade(engine)
    assert set(NEW) <= _tables(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as connection:
        kept = connection.execute(select(tables["submissions"].c.id, tables["submissions"].c.language)).all()
        teams = list(connection.execute(select(tables["teams"].c.name)).scalars())
    assert [tuple(r) for r in kept] == [("sub-1", "cy")] and teams == ["North"]
    engine.dispose()
    assert b"SQLite format 3" not in path.read_bytes()[:16]  # the file is encrypted
