"""SECURITY.md's GRANTs, run as written on a real PostgreSQL: the app and its worker work as the
least-privileged role, and even that role cannot edit, delete or truncate its own audit log."""

from __future__ import annotations

import re
import secrets
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.pool import NullPool

from casefeedback import create_app
from casefeedback.audit.verify import verify_log
from casefeedback.audit.watch import keep_watch
from casefeedback.storage.engine import read
from tests.conftest import canary, make_config
from tests.retention.conftest import seed_submission
from tests.services import postgres_url
from tests.stores import fresh_postgres_database

SECURITY = Path(__file__).resolve().parents[2] / "SECURITY.md"


def documented_grants(database: str, app_role: str) -> list[str]:
    block = re.search(r"<!-- grants:begin -->\s*```sql\n(.*?)```\s*<!-- grants:end -->",
                      SECURITY.read_text(encoding="utf-8"), re.S)
    assert block, "SECURITY.md has no grants block"
    script = re.sub(r"--[^\n]*", "", block.group(1))
    script = script.replace("DATABASE casefeedback ", f'DATABASE "{database}" ').replace("casefeedback_app", app_role)
    return [statement.strip() for statement in script.split(";") if statement.strip()]


@pytest.fixture
def roles():  # type: ignore[no-untyped-def]
    """An owner and an app role (cluster-wide, so uniquely named) on a fresh database; all dropped after."""
    suffix = secrets.token_hex(4)
    owner, app_role = f"cf_owner_{suffix}", f"cf_app_{suffix}"
    server = create_engine(postgres_url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE ROLE "{owner}" LOGIN'))
            connection.execute(text(f'CREATE ROLE "{app_role}" LOGIN'))
        with fresh_postgres_database() as url:
            database = make_url(url).database
            assert database is not None
            with server.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{database}" OWNER TO "{owner}"'))
            as_ = make_url(url)
            yield (url, as_.set(username=owner).render_as_string(hide_password=False),
                   as_.set(username=app_role).render_as_string(hide_password=False), database, app_role)
    finally:  # the database is gone (with what the roles owned in it): the roles can go too
        with server.connect() as connection:
            for role in (app_role, owner):
                connection.execute(text(f'DROP OWNED BY "{role}"'))
                connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        server.dispose()


def test_the_app_works_under_the_documented_grants_and_cannot_rewrite_its_audit_log(roles, tmp_path) -> None:  # type: ignore[no-untyped-def]
    admin_url, owner_url, app_url, database, app_role = roles
    # The owner migrates (as `casefeedback init` / `migrate` would), then the administrator grants.
    config = make_config(tmp_path / "instance", database_url=owner_url)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            for statement in documented_grants(database, app_role):
                connection.execute(text(statement))
    finally:
        admin.dispose()

    app = create_app(replace(config, database_url=app_url))
    found = app.extensions["casefeedback"]
    try:
        seed_submission(found, {"treated": "2", "anything_else": canary(), "safe_now": "no"})
        said = keep_watch(found.config, found.engine, found.audit, timedelta(minutes=1), found.clock())
        assert "checkpoint at event" in said
        with read(found.engine) as connection:
            secrets_ = found.config.secrets
            assert verify_log(connection, secrets_.audit_chain.value, secrets_.audit_signing.value).ok
        for forbidden in ("UPDATE audit_events SET outcome = 'allowed'", "DELETE FROM audit_events",
                          "TRUNCATE audit_events", "DELETE FROM audit_checkpoints",
                          "UPDATE alembic_version SET version_num = '0001'", "DROP TABLE cases",
                          "CREATE TABLE escape (x int)"):
            with pytest.raises(ProgrammingError, match=r"permission denied|must be owner"), found.engine.begin() as c:
                c.execute(text(forbidden))
    finally:
        found.engine.dispose()
