"""Migration 0005 (retention, audit checkpoints, keys, worker) runs up and down on a real encrypted file."""

from __future__ import annotations

import os

from sqlalchemy import inspect, text

from casefeedback.storage import migrate
from casefeedback.storage.engine import open_engine
from casefeedback.storage.tables import metadata

OURS = {"instance_identity", "legal_holds", "erased_keys", "purge_runs", "insight_contributions",
        "audit_checkpoints", "retired_keks", "worker_jobs"}


def test_0005_up_down_up(tmp_path):
    engine = open_engine(tmp_path / "m.db", os.urandom(32), create=True)
    migrate.upgrade(engine)
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        assert tables >= OURS
        for name in OURS:
            columns = {c["name"] for c in inspect(connection).get_columns(name)}
            assert columns == set(metadata.tables[name].columns.keys()), name
        first_id = connection.execute(text("SELECT instance_id FROM instance_identity")).scalar_one()
        # Insight rows are stored in key order, not insertion order (WITHOUT ROWID): no regrouping by position.
        sql = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = 'insight_contributions'")).scalar()
        assert "WITHOUT ROWID" in sql
    migrate.downgrade(engine, "0005@-1")
    with engine.connect() as connection:
        assert not OURS & set(inspect(connection).get_table_names())
        assert "audit_events" in set(inspect(connection).get_table_names())
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT instance_id FROM instance_identity")).scalar_one() != first_id
    engine.dispose()
