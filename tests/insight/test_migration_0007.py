"""Migration 0007 (insight counts) runs up and down on a real encrypted file."""

from __future__ import annotations

import os

from sqlalchemy import inspect

from casefeedback.storage import migrate
from casefeedback.storage.engine import open_engine
from casefeedback.storage.tables import metadata


def test_0007_up_down_up(tmp_path):
    engine = open_engine(tmp_path / "m.db", os.urandom(32), create=True)
    migrate.upgrade(engine)
    with engine.connect() as connection:
        for name in ("insight_counts", "insight_submission_counts", "insight_submission_months"):
            columns = {c["name"] for c in inspect(connection).get_columns(name)}
            assert columns == set(metadata.tables[name].columns.keys()), name
        indexes = {i["name"] for i in inspect(connection).get_indexes("submissions")}
        assert "ix_submissions_service_submitted" in indexes
    migrate.downgrade(engine, "0007@-1")
    with engine.connect() as connection:
        assert not {"insight_counts", "insight_submission_counts", "insight_submission_months"} & set(
            inspect(connection).get_table_names())
        indexes = {i["name"] for i in inspect(connection).get_indexes("submissions")}
        assert "ix_submissions_service_submitted" not in indexes
        assert "insight_contributions" in inspect(connection).get_table_names()
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()
