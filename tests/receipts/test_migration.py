"""Migration 0003 (receipts) goes up and down on a real encrypted file, leaving the tables it promises."""

from __future__ import annotations

import os

from sqlalchemy import inspect

from casefeedback.storage import migrate
from casefeedback.storage.engine import open_engine
from casefeedback.storage.tables import consent_changes, submission_additions

MINE = {"submission_additions", "consent_changes"}


def _tables(engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def test_0003_adds_its_tables_as_declared_and_removes_them_again(tmp_path):
    engine = open_engine(tmp_path / "m.db", os.urandom(32), create=True)
    migrate.upgrade(engine, "0003")
    assert _tables(engine) >= MINE
    with engine.connect() as connection:
        for table in (submission_additions, consent_changes):
            columns = {c["name"] for c in inspect(connection).get_columns(table.name)}
            assert columns == set(table.columns.keys()), table.name
            indexes = {tuple(i["column_names"]) for i in inspect(connection).get_indexes(table.name)}
            assert {tuple(i.columns.keys()) for i in table.indexes} <= indexes, table.name
    migrate.downgrade(engine, "0001")
    assert not MINE & _tables(engine)
    assert "submissions" in _tables(engine)  # 0001 is untouched
    migrate.upgrade(engine, "0003")
    assert _tables(engine) >= MINE
    engine.dispose()
