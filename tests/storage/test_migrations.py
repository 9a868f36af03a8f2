"""Every migration runs up and down on a real encrypted file, and leaves what it promises."""

from __future__ import annotations

import os

from sqlalchemy import inspect, text

from casefeedback.storage import migrate
from casefeedback.storage.dialect import APPLICATION_ID
from casefeedback.storage.engine import open_engine

FOUNDATION_TABLES = {"policy_versions", "teams", "staff", "staff_sessions", "cases", "invitations", "submissions",
                     "consent_receipts", "data_keys", "answers", "audit_events", "audit_head"}


def test_0001_creates_the_foundation_schema_and_marks_the_file(tmp_path):
    engine = open_engine(tmp_path / "m.db", os.urandom(32), create=True)
    migrate.upgrade(engine, "0001")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA application_id")).scalar() == APPLICATION_ID
        assert connection.execute(text("PRAGMA auto_vacuum")).scalar() == 1
        assert set(inspect(connection).get_table_names()) - {"alembic_version"} == FOUNDATION_TABLES
    engine.dispose()


def test_upgrade_downgrade_upgrade_round_trip(tmp_path):
    engine = open_engine(tmp_path / "m.db", os.urandom(32), create=True)
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()


def test_app_refuses_an_old_schema(tmp_path, config):
    from casefeedback import create_app
    from casefeedback.storage.dialect import StoreOpenError

    engine = open_engine(config.database_path, config.secrets.database.value)
    migrate.downgrade(engine, "base")
    engine.dispose()
    try:
        create_app(config)
    except StoreOpenError as error:
        assert "run `casefeedback migrate`" in str(error)
    else:
        raise AssertionError("an app was built on an old schema")


def test_0008_adds_and_removes_the_insight_marker_table(tmp_path):
    engine = open_engine(tmp_path / "m.db", os.urandom(32), create=True)
    migrate.upgrade(engine, "0008")
    with engine.connect() as connection:
        assert "insight_contributed" in inspect(connection).get_table_names()
    migrate.downgrade(engine, "0001")
    with engine.connect() as connection:
        assert "insight_contributed" not in inspect(connection).get_table_names()
    engine.dispose()
