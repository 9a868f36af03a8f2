"""One setting chooses the engine: CASEFEEDBACK_DATABASE_URL opens PostgreSQL (a real server), pooled,
with per-connection timeouts, no file lock and no key; a server or database that is not there is one
sentence a person can act on. Unset, the SQLCipher file stays the store."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool, QueuePool

from casefeedback.audit import AuditEvent
from casefeedback.config import Config, ConfigError
from casefeedback.instance import generate_missing_secrets
from casefeedback.storage.dialect import StoreOpenError
from casefeedback.storage.engine import database_file, open_postgres, open_store, read, write
from casefeedback.storage.tables import audit_events, teams
from tests.stores import fresh_postgres_database, instance_config


def _environment(instance: Path, **extra: str) -> dict[str, str]:
    generate_missing_secrets(instance, "development")
    return {"CASEFEEDBACK_INSTANCE": str(instance), **extra}


def test_without_a_url_the_store_is_the_sqlcipher_file(tmp_path: Path) -> None:
    config = Config.from_environment(_environment(tmp_path / "instance"))
    assert config.database_url is None and not config.store.is_postgres
    assert config.store.path == config.database_path
    assert config.store.described == f"encrypted database {config.database_path}"


def test_a_postgresql_url_chooses_postgresql_through_psycopg_and_keeps_its_password_out_of_sight(
        tmp_path: Path) -> None:
    config = Config.from_environment(_environment(
        tmp_path / "instance", CASEFEEDBACK_DATABASE_URL="postgresql://cf:s3cret-pw@db.internal:5433/feedback",
        CASEFEEDBACK_DATABASE_STATEMENT_TIMEOUT="12.5", CASEFEEDBACK_DATABASE_LOCK_TIMEOUT="0"))
    assert config.store.is_postgres
    assert config.database_url == "postgresql+psycopg://cf:s3cret-pw@db.internal:5433/feedback"
    assert (config.store.statement_timeout_ms, config.store.lock_timeout_ms) == (12_500, 0)
    assert config.store.described == "PostgreSQL database feedback on db.internal"
    assert "s3cret-pw" not in repr(config) and "s3cret-pw" not in repr(config.store)


@pytest.mark.parametrize(("variable", "value", "said"), [
    ("CASEFEEDBACK_DATABASE_URL", "sqlite:///elsewhere.db", "only PostgreSQL through psycopg 3"),
    ("CASEFEEDBACK_DATABASE_URL", "mysql+pymysql://u@h/d", "only PostgreSQL through psycopg 3"),
    ("CASEFEEDBACK_DATABASE_URL", "not a url", "is not a database URL"),
    ("CASEFEEDBACK_DATABASE_STATEMENT_TIMEOUT", "soon", "must be a number of seconds"),
    ("CASEFEEDBACK_DATABASE_LOCK_TIMEOUT", "-1", "must be a number of seconds"),
])
def test_a_setting_that_cannot_be_used_is_refused_by_name(tmp_path: Path, variable: str, value: str,
                                                          said: str) -> None:
    with pytest.raises(ConfigError, match=f"{variable}.*{said}|{said}"):
        Config.from_environment(_environment(tmp_path / "instance", **{variable: value}))


def test_the_engine_is_pooled_with_timeouts_on_every_connection_and_no_file_lock() -> None:
    with fresh_postgres_database() as url:
        engine = open_postgres(url, statement_timeout_ms=1_500, lock_timeout_ms=250)
        try:
            assert isinstance(engine.pool, QueuePool) and engine.pool._pre_ping
            assert engine.hide_parameters
            assert database_file(engine) is None  # no SQLCipher file: no writer lock, no key, no file ledger
            for _ in range(2):  # a new connection each time: every one starts with the settings
                with read(engine) as connection:
                    assert connection.execute(text("SHOW statement_timeout")).scalar() == "1500ms"
                    assert connection.execute(text("SHOW lock_timeout")).scalar() == "250ms"
                    assert connection.execute(text("SHOW transaction_isolation")).scalar() == "read committed"
                engine.pool.dispose()
        finally:
            engine.dispose()


def test_the_urls_own_connection_parameters_are_kept_beside_the_timeouts() -> None:
    with fresh_postgres_database() as url:
        given = f"{url}&application_name=feedback-web&options=-c%20work_mem%3D8MB"
        engine = open_postgres(given, statement_timeout_ms=2_000, lock_timeout_ms=1_000)
        try:
            with read(engine) as connection:
                assert connection.execute(text("SHOW application_name")).scalar() == "feedback-web"
                assert connection.execute(text("SHOW work_mem")).scalar() == "8MB"
                assert connection.execute(text("SHOW statement_timeout")).scalar() == "2s"
        finally:
            engine.dispose()


def test_a_writer_waiting_on_a_row_lock_gives_up_after_the_lock_timeout(tmp_path: Path) -> None:
    """No flock on PostgreSQL: writers meet on rows, and one held too long is an error, not a hang."""
    with instance_config("postgresql", tmp_path) as made:
        config = replace(made, database_lock_timeout=0.3)
        engine = open_store(config.store)
        try:
            with write(engine) as connection:
                connection.execute(insert(teams).values(id="team-1", name="North"))
            holding, release = threading.Event(), threading.Event()

            def hold() -> None:
                with write(engine) as connection:
                    connection.execute(select(teams).where(teams.c.id == "team-1").with_for_update())
                    holding.set()
                    release.wait(10)

            holder = threading.Thread(target=hold)
            holder.start()
            assert holding.wait(10)
            started = time.monotonic()
            with pytest.raises(DBAPIError, match="lock timeout"), write(engine) as connection:
                connection.execute(teams.update().where(teams.c.id == "team-1").values(name="South"))
            waited = time.monotonic() - started
            release.set()
            holder.join(10)
            assert 0.3 <= waited < 3
            with read(engine) as connection:
                assert connection.execute(select(teams.c.name)).scalar_one() == "North"
        finally:
            engine.dispose()


def test_the_audit_log_appends_and_numbers_events_from_its_sequence(tmp_path: Path) -> None:
    from casefeedback import create_app

    with instance_config("postgresql", tmp_path) as config:
        app = create_app(config)
        found = app.extensions["casefeedback"]
        try:
            with write(found.engine) as connection:
                numbers = found.audit.append_many(connection, [AuditEvent(action="field.open", outcome="allowed"),
                                                              AuditEvent(action="field.open", outcome="denied")])
            with read(found.engine) as connection:
                stored = connection.execute(select(audit_events.c.seq).order_by(audit_events.c.seq)).scalars().all()
                assert connection.execute(text("SELECT last_value FROM audit_events_seq")).scalar() == numbers[-1]
            assert numbers == [numbers[0], numbers[0] + 1] and stored[-2:] == numbers
        finally:
            found.engine.dispose()


def test_a_missing_database_says_to_create_it() -> None:
    with fresh_postgres_database() as url:
        missing = url.replace("casefeedback_test_", "casefeedback_absent_")
        with pytest.raises(StoreOpenError) as raised:
            open_postgres(missing, statement_timeout_ms=1000, lock_timeout_ms=1000)
    name = missing.rsplit("/", 1)[1].split("?")[0]
    assert str(raised.value).startswith(f"the PostgreSQL database {name} on /")
    assert str(raised.value).endswith(f"does not exist: create it (e.g. `createdb {name}` as its owner), "
                                      "then run `casefeedback init`.")


def test_an_unreachable_server_is_one_sentence_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://cf:s3cret-pw@/feedback?host={tmp_path}"  # a socket directory with no server
    with pytest.raises(StoreOpenError) as raised:
        open_postgres(url, statement_timeout_ms=1000, lock_timeout_ms=1000)
    said = str(raised.value)
    assert said.startswith(f"cannot reach the PostgreSQL database feedback on {tmp_path} (")
    assert said.endswith("): is the server running, and is CASEFEEDBACK_DATABASE_URL right?")
    assert "s3cret-pw" not in said and "\n" not in said


def test_wrong_credentials_are_named_as_such() -> None:
    with fresh_postgres_database() as url:
        admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as connection:
            role = connection.execute(text("SELECT current_user")).scalar()
        admin.dispose()
        stranger = url.replace(f"{role}@", "nobody_here@", 1)
        with pytest.raises(StoreOpenError, match=r"refused the connection \(role \"nobody_here\" does not exist\): "
                                                 r"check the user and password in CASEFEEDBACK_DATABASE_URL\.$"):
            open_postgres(stranger, statement_timeout_ms=1000, lock_timeout_ms=1000)


def test_the_workers_minute_signs_witnesses_and_walks_the_log_on_postgresql(tmp_path: Path) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from casefeedback import create_app
    from casefeedback.audit.watch import keep_watch, raised_alarm

    with instance_config("postgresql", tmp_path) as config:
        app = create_app(config)
        found = app.extensions["casefeedback"]
        try:
            with write(found.engine) as connection:
                found.audit.append_many(connection, [AuditEvent(action="field.open", outcome="allowed")] * 3)
            said = keep_watch(config, found.engine, found.audit, timedelta(minutes=1), found.clock())
            assert "checkpoint at event" in said and raised_alarm(config) is None
            with write(found.engine) as connection:  # more events, walked from where the last walk ended
                found.audit.append_many(connection, [AuditEvent(action="field.open", outcome="denied")] * 2)
            assert "ALARM" not in keep_watch(config, found.engine, found.audit, timedelta(hours=1), found.clock())
            with write(found.engine) as connection:  # more, and someone with the database edits one before a walk
                found.audit.append_many(connection, [AuditEvent(action="field.open", outcome="denied")] * 2)
                newest = connection.execute(select(audit_events.c.seq).order_by(audit_events.c.seq.desc())).first()
                assert newest is not None
                connection.execute(update(audit_events).where(audit_events.c.seq == newest.seq)
                                   .values(outcome="allowed"))
            alarmed = keep_watch(config, found.engine, found.audit, timedelta(hours=1), found.clock())
            assert alarmed.startswith("ALARM") and raised_alarm(config) is not None
        finally:
            found.engine.dispose()
