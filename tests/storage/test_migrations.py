"""Every migration runs up and down on a real encrypted file and a real PostgreSQL database, and leaves
what it promises."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, inspect, text

from casefeedback.storage import migrate
from casefeedback.storage.dialect import APPLICATION_ID
from casefeedback.storage.engine import open_store
from tests.stores import instance_config

FOUNDATION_TABLES = {"policy_versions", "teams", "staff", "staff_sessions", "cases", "invitations", "submissions",
                     "consent_receipts", "data_keys", "answers", "audit_events", "audit_head"}


def test_0001_creates_the_foundation_schema_and_marks_the_file(new_database: Callable[[], Engine]) -> None:
    engine = new_database()
    migrate.upgrade(engine, "0001")
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) - {"alembic_version"} == FOUNDATION_TABLES
        if engine.dialect.name == "sqlite":  # the file's own header; a PostgreSQL database has none
            assert connection.execute(text("PRAGMA application_id")).scalar() == APPLICATION_ID
            assert connection.execute(text("PRAGMA auto_vacuum")).scalar() == 1


def test_upgrade_downgrade_upgrade_round_trip(new_database: Callable[[], Engine]) -> None:
    engine = new_database()
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        if engine.dialect.name == "postgresql":  # the audit numbers' sequence went with 0014 (SQLite has none)
            assert inspect(connection).get_sequence_names() == []
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_app_refuses_an_old_schema(store_kind: str, tmp_path: Path) -> None:
    from casefeedback import create_app
    from casefeedback.storage.dialect import StoreOpenError

    with instance_config(store_kind, tmp_path) as config:
        engine = open_store(config.store)
        migrate.downgrade(engine, "base")
        engine.dispose()
        try:
            create_app(config)
        except StoreOpenError as error:
            assert "run `casefeedback migrate`" in str(error)
        else:
            raise AssertionError("an app was built on an old schema")


def test_0008_adds_and_removes_the_insight_marker_table(new_database: Callable[[], Engine]) -> None:
    engine = new_database()
    migrate.upgrade(engine, "0008")
    with engine.connect() as connection:
        assert "insight_contributed" in inspect(connection).get_table_names()
    migrate.downgrade(engine, "0001")
    with engine.connect() as connection:
        assert "insight_contributed" not in inspect(connection).get_table_names()
