"""Migration 0002 (drafts) runs up and down on a real encrypted file, beside the other branches."""

from __future__ import annotations

import os

from sqlalchemy import inspect

from casefeedback.storage import migrate
from casefeedback.storage.engine import open_engine
from casefeedback.storage.tables import draft_answers, drafts

OURS = {"drafts", "draft_answers"}


def tables(engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def test_0002_creates_the_draft_tables_as_declared_and_removes_them(tmp_path):
    engine = open_engine(tmp_path / "m.db", os.urandom(32), create=True)
    migrate.upgrade(engine, "0001")
    assert not OURS & tables(engine)
    migrate.upgrade(engine, "0002")
    assert tables(engine) >= OURS
    with engine.connect() as connection:
        for table in (drafts, draft_answers):
            columns = {c["name"] for c in inspect(connection).get_columns(table.name)}
            assert columns == set(table.columns.keys()), table.name
        indexes = {i["name"] for i in inspect(connection).get_indexes("draft_answers")}
        assert {"ix_draft_answers_draft_id", "ix_draft_answers_kek_id"} <= indexes
    migrate.downgrade(engine, "0001")
    assert not OURS & tables(engine) and "submissions" in tables(engine)
    migrate.upgrade(engine)  # every head, ours included
    assert tables(engine) >= OURS
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()
