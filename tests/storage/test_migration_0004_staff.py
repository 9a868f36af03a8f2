"""Migration 0004 (staff: MFA, throttling, break-glass, outcomes) runs up and down on a real encrypted file."""

from __future__ import annotations

import os

from sqlalchemy import inspect

from casefeedback.storage import migrate
from casefeedback.storage.engine import open_engine
from casefeedback.storage.tables import metadata

TABLES = {"staff_mfa", "staff_recovery_codes", "sign_in_challenges", "sign_in_throttle", "break_glass",
          "staff_notifications", "case_outcomes", "submission_reads"}


def _tables(engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def _session_columns(engine) -> set[str]:
    with engine.connect() as connection:
        return {c["name"] for c in inspect(connection).get_columns("staff_sessions")}


def test_0004_up_down_up(tmp_path):
    engine = open_engine(tmp_path / "m.db", os.urandom(32), create=True)
    migrate.upgrade(engine, "0004")
    assert _tables(engine) >= TABLES
    assert "reauthenticated_at" in _session_columns(engine)
    with engine.connect() as connection:
        for name in TABLES:
            columns = {c["name"] for c in inspect(connection).get_columns(name)}
            assert columns == set(metadata.tables[name].columns.keys()), name
        # The staff_sessions index survives the batch rebuild.
        assert "ix_staff_sessions_staff_id" in {i["name"] for i in inspect(connection).get_indexes("staff_sessions")}
    migrate.downgrade(engine, "0001")
    assert not TABLES & _tables(engine)
    assert "reauthenticated_at" not in _session_columns(engine)
    assert {"staff", "staff_sessions", "cases"} <= _tables(engine)
    migrate.upgrade(engine)
    assert _tables(engine) >= TABLES
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()
