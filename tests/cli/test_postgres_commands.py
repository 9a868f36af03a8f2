"""The casefeedback command against a real PostgreSQL, chosen by CASEFEEDBACK_DATABASE_URL alone:
init, migrate, policy check and audit verify work; what only the SQLCipher file can do (backup, restore,
re-key) is refused with a reason and a non-zero exit; a server or database that is not there is one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from casefeedback.bootstrap import create_secrets
from casefeedback.storage import migrate
from tests.conftest import POLICIES, ROOT
from tests.stores import fresh_postgres_database


def run(*args: str, instance: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CASEFEEDBACK_INSTANCE": str(instance), "CASEFEEDBACK_POLICIES": str(POLICIES),
           "CASEFEEDBACK_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "casefeedback", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120, check=False)


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory, database: str) -> Path:
    path = tmp_path_factory.mktemp("pg") / "instance"
    result = run("init", instance=path, url=database)
    assert result.returncode == 0, result.stderr
    name = database.rsplit("/", 1)[1].split("?")[0]
    assert f"Created the PostgreSQL database {name} on /" in result.stdout
    return path


def test_init_makes_the_schema_in_postgresql_and_no_database_file(instance: Path, database: str) -> None:
    assert not (instance / "casefeedback.db").exists()
    engine = create_engine(database, poolclass=NullPool)
    try:
        assert migrate.current_revision(engine) == migrate.head_revision()
        with engine.connect() as connection:
            assert {"submissions", "answers", "audit_events", "audit_chains"} <= set(
                inspect(connection).get_table_names())
    finally:
        engine.dispose()
    again = run("init", instance=instance, url=database)
    assert again.returncode == 0 and "Checked the PostgreSQL database" in again.stdout, again.stderr


def test_migrate_policy_check_and_audit_verify(instance: Path, database: str) -> None:
    migrated = run("migrate", instance=instance, url=database)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.strip() == f"Schema at revision {migrate.head_revision()}"
    checked = run("policy", "check", str(POLICIES), instance=instance, url=database)
    assert checked.returncode == 0 and "victim-support.toml: ok" in checked.stdout, checked.stderr
    verified = run("audit", "verify", instance=instance, url=database)
    assert verified.returncode == 0 and "audit log intact" in verified.stdout, verified.stderr


@pytest.mark.parametrize(("command", "said"), [
    (("backup",), "on PostgreSQL, backups are the operator's"),
    (("restore", "/nonexistent/backup", "--yes"), "on PostgreSQL, backups are the operator's"),
    (("keys", "rekey-db", "--yes"), "on PostgreSQL, encryption of the database at rest is the operator's"),
])
def test_what_only_the_sqlcipher_file_can_do_is_refused(instance: Path, database: str, command: tuple[str, ...],
                                                         said: str) -> None:
    result = run(*command, instance=instance, url=database)
    assert result.returncode == 1
    assert result.stderr.startswith(f"casefeedback: {said}") and "Nothing was changed." in result.stderr
    assert "Traceback" not in result.stderr
    assert not (instance / "casefeedback.db").exists() and not (instance / "backups").exists()


@pytest.mark.parametrize("command", [("init",), ("migrate",), ("audit", "verify")])
def test_an_unreachable_server_is_one_line_and_exit_1(tmp_path: Path, command: tuple[str, ...]) -> None:
    # A socket directory with no server in it: nothing listens, as when the server is down.
    url = f"postgresql+psycopg://cf:s3cret-pw@/feedback?host={tmp_path}"
    create_secrets(tmp_path / "instance", "development")  # so that only the database can be what is missing
    result = run(*command, instance=tmp_path / "instance", url=url)
    assert result.returncode == 1
    assert re.fullmatch(f"casefeedback: cannot reach the PostgreSQL database feedback on {re.escape(str(tmp_path))} "
                        r"\([^\n]*No such file or directory\): is the server running, and is "
                        r"CASEFEEDBACK_DATABASE_URL right\?\n", result.stderr), result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_a_missing_database_says_to_create_it(tmp_path: Path, database: str) -> None:
    absent = database.replace("casefeedback_test_", "casefeedback_absent_")
    result = run("init", instance=tmp_path / "instance", url=absent)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "does not exist: create it (e.g. `createdb casefeedback_absent_" in result.stderr
