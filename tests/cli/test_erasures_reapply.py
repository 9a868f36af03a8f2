"""`casefeedback erasures reapply`: a PostgreSQL database restored from a copy made before an erasure
(as a dump or a point-in-time recovery would be) gets that erasure back from the ledger kept outside it."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.pool import NullPool

from casefeedback import create_app
from casefeedback.retention import ledger
from casefeedback.retention.erasure import erase
from casefeedback.storage.engine import open_postgres, read, write
from casefeedback.storage.tables import answers, audit_events, data_keys, erased_keys
from tests.cli.test_postgres_commands import run
from tests.conftest import canary, make_config
from tests.retention.conftest import seed_submission
from tests.services import postgres_url
from tests.stores import fresh_postgres_database


def counts(url: str, submission_id: str) -> tuple[int, int, int]:
    engine = open_postgres(url, statement_timeout_ms=30_000, lock_timeout_ms=5_000)
    try:
        with read(engine) as connection:
            return (connection.execute(select(func.count()).select_from(answers)
                                       .where(answers.c.submission_id == submission_id)).scalar_one(),
                    connection.execute(select(func.count()).select_from(data_keys)
                                       .where(data_keys.c.submission_id == submission_id)).scalar_one(),
                    connection.execute(select(func.count()).select_from(erased_keys)
                                       .where(erased_keys.c.submission_id == submission_id)).scalar_one())
    finally:
        engine.dispose()


def test_a_restored_postgresql_database_gets_every_later_erasure_back(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with fresh_postgres_database() as url:
        config = make_config(tmp_path / "instance", database_url=url)
        app = create_app(config)
        found = app.extensions["casefeedback"]
        kept = seed_submission(found, {"treated": "4", "anything_else": canary()})
        withdrawn = seed_submission(found, {"treated": "1", "anything_else": canary(), "safe_now": "no"})
        found.engine.dispose()

        # The operator's backup, taken now: a copy of the whole database.
        live = make_url(url).database
        copy_name = f"{live}_copy"
        admin = create_engine(postgres_url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{copy_name}" TEMPLATE "{live}"'))
        copy_url = make_url(url).set(database=copy_name).render_as_string(hide_password=False)
        try:
            # Later the person withdraws: their keys are destroyed, and the ledger outside the database says so.
            app = create_app(config)
            found = app.extensions["casefeedback"]
            with write(found.engine) as connection:
                erase(connection, found.audit, submission_id=withdrawn, reason="consent_withdrawn")
            found.engine.dispose()
            outside = [json.loads(line)["submission_id"] for path in (
                ledger.ledger_path(config.database_path), ledger.witness_copy_path(config.witness_path))
                for line in path.read_text().splitlines()]
            assert outside.count(withdrawn) >= 2 and kept not in outside  # in both files
            assert counts(url, withdrawn)[:2] == (0, 0)

            # Then the database is restored from the copy: the withdrawn answers are back in it.
            restored_before = counts(copy_url, withdrawn)
            assert restored_before[0] > 0 and restored_before[1] > 0 and restored_before[2] == 0
            done = run("erasures", "reapply", instance=config.instance_dir, url=copy_url)
            assert done.returncode == 0, done.stderr
            assert "Destroyed again:" in done.stdout and "0 data key(s)" not in done.stdout
            answers_left, keys_left, recorded = counts(copy_url, withdrawn)
            assert (answers_left, keys_left) == (0, 0) and recorded == restored_before[1]
            assert counts(copy_url, kept)[:2] == counts(url, kept)[:2] != (0, 0)  # nothing else touched
            engine = open_postgres(copy_url, statement_timeout_ms=30_000, lock_timeout_ms=5_000)
            try:
                with read(engine) as connection:
                    assert connection.execute(select(func.count()).select_from(audit_events).where(
                        audit_events.c.action == "erasures.reapply")).scalar_one() == 1
            finally:
                engine.dispose()
            again = run("erasures", "reapply", instance=config.instance_dir, url=copy_url)
            assert again.returncode == 0 and "Destroyed again: 0 data key(s) and 0 sealed field(s)" in again.stdout
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{copy_name}" WITH (FORCE)'))
            admin.dispose()


def test_a_ledger_file_that_is_not_there_is_refused_and_nothing_changes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with fresh_postgres_database() as url:
        config = make_config(tmp_path / "instance", database_url=url)
        done = run("erasures", "reapply", "--from", str(tmp_path / "missing.jsonl"), instance=config.instance_dir,
                   url=url)
        assert done.returncode != 0 and "is not a file" in done.stderr and "Traceback" not in done.stderr
