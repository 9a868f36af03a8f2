"""Migration 0020 drops three indexes a unique constraint's index already provides, and one nothing reads: up,
down and up again on a real encrypted file, and every lookup the three served still goes through an index."""

from __future__ import annotations

import os

from sqlalchemy import inspect, text

from casefeedback.storage import migrate
from casefeedback.storage.engine import open_engine

DROPPED = {"submissions": "ix_submissions_service_id", "answers": "ix_answers_submission_id",
           "draft_answers": "ix_draft_answers_draft_id", "erased_keys": "ix_erased_keys_submission_id"}
# The lookups by the dropped indexes' columns, as the services make them (and as ON DELETE CASCADE does).
LOOKUPS = ("SELECT id FROM submissions WHERE service_id = 'victim-support' ORDER BY submitted_at DESC",
           "SELECT id FROM answers WHERE submission_id = 's-1'",
           "DELETE FROM answers WHERE submission_id = 's-1'",
           "SELECT id FROM draft_answers WHERE draft_id = 'd-1'",
           "DELETE FROM draft_answers WHERE draft_id = 'd-1'")


def _indexes(engine) -> dict[str, set[str]]:
    with engine.connect() as connection:
        inspector = inspect(connection)
        return {table: {index["name"] for index in inspector.get_indexes(table)} for table in DROPPED}


def test_0020_up_down_up_and_every_lookup_still_uses_an_index(tmp_path):
    engine = open_engine(tmp_path / "m.db", os.urandom(32), create=True)
    migrate.upgrade(engine, "0019")
    assert all(name in _indexes(engine)[table] for table, name in DROPPED.items())
    migrate.upgrade(engine, "0020")
    assert not any(name in _indexes(engine)[table] for table, name in DROPPED.items())
    with engine.connect() as connection:
        for lookup in LOOKUPS:
            plan = " ".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {lookup}")))
            assert "USING" in plan and "INDEX" in plan and not plan.startswith("SCAN"), (lookup, plan)
    migrate.downgrade(engine, "0019")
    assert all(name in _indexes(engine)[table] for table, name in DROPPED.items())
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()
