"""Migration 0023 keeps only submissions with a case in ``ix_submissions_case_id``: up, down and up again on a real
encrypted file and a real PostgreSQL database; lookups by case still use the index. (That `casefeedback init`
makes the same index is test_schema_matches_migrations'.)"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, inspect, text

from casefeedback.storage import migrate


def _case_index(engine: Engine) -> str:
    """The index's definition as the database keeps it (its WHERE, if any)."""
    sql = ("SELECT sql FROM sqlite_master WHERE name = 'ix_submissions_case_id'" if engine.dialect.name == "sqlite"
           else "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_submissions_case_id'")
    with engine.connect() as connection:
        return " ".join(str(connection.execute(text(sql)).scalar_one()).split())


def _plan(engine: Engine, query: str) -> str:
    with engine.connect() as connection:
        return " ".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {query}")))


def test_0023_up_down_up(new_database: Callable[[], Engine]) -> None:
    engine = new_database()
    migrate.upgrade(engine, "0022")
    assert "NOT NULL" not in _case_index(engine).upper()

    migrate.upgrade(engine, "0023")
    assert "case_id IS NOT NULL" in _case_index(engine).replace("(", "").replace(")", "")
    with engine.connect() as connection:
        columns = [index["column_names"] for index in inspect(connection).get_indexes("submissions")
                   if index["name"] == "ix_submissions_case_id"]
    assert columns == [["case_id"]]
    if engine.dialect.name == "sqlite":  # the planner still takes it for one case and for a list of them
        assert "ix_submissions_case_id" in _plan(engine, "SELECT id FROM submissions WHERE case_id = 'c1'")
        assert "ix_submissions_case_id" in _plan(engine, "SELECT id FROM submissions WHERE case_id IN ('c1', 'c2')")

    migrate.downgrade(engine, "0022")
    assert "NOT NULL" not in _case_index(engine).upper()
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert "case_id IS NOT NULL" in _case_index(engine).replace("(", "").replace(")", "")

