"""The ``casefeedback`` command. Every failure is one clear message and a non-zero exit."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from casefeedback.clock import system_clock
from casefeedback.config import Config, ConfigError
from casefeedback.instance import SecretError, announce_generated
from casefeedback.policy import PolicyError, load_policies
from casefeedback.storage.dialect import StoreOpenError

F = TypeVar("F", bound=Callable[..., Any])
EXPECTED_ERRORS = (ConfigError, SecretError, PolicyError, StoreOpenError)


def _fail_clearly(command: F) -> F:
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except EXPECTED_ERRORS as error:
            click.echo(f"casefeedback: {error}", err=True)
            sys.exit(1)
    return wrapper  # type: ignore[return-value]


def _instance() -> Path:
    return Path(os.environ.get("CASEFEEDBACK_INSTANCE", "instance")).resolve()


@click.group()
def main() -> None:
    """Run and administer a casefeedback instance (CASEFEEDBACK_INSTANCE, default ./instance)."""


@main.command()
@click.option("--production", is_flag=True, help="Provision secrets for production (not marked as development).")
@click.option("--demo", is_flag=True, help="Also create demo staff, a demo case and an invitation.")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True, help="Used in printed links.")
@_fail_clearly
def init(production: bool, demo: bool, base_url: str) -> None:
    """Create secrets, the encrypted database and its schema; idempotent."""
    from casefeedback.bootstrap import create_or_upgrade_database, create_secrets
    from casefeedback.services import build_services

    instance = _instance()
    created = create_secrets(instance, "provisioned" if production else "development")
    if production:
        click.echo(f"Provisioned {len(created)} secret(s) in {instance / 'secrets'}; back them up separately.")
    else:
        announce_generated(created)
    config = Config.from_environment()
    policies = load_policies(config.policies_dir)
    new_database = create_or_upgrade_database(config)
    found = build_services(config, policies, system_clock)
    click.echo(("Created" if new_database else "Checked") + f" the encrypted database {config.database_path}")
    if demo:
        from casefeedback.demo import seed

        click.echo(seed(found, base_url.rstrip("/")), nl=False)
    found.engine.dispose()


@main.command(name="migrate")
@_fail_clearly
def migrate_command() -> None:
    """Bring the database schema up to date."""
    from casefeedback.storage import migrate
    from casefeedback.storage.engine import open_engine

    config = Config.from_environment()
    engine = open_engine(config.database_path, config.secrets.database.value)
    migrate.upgrade(engine)
    click.echo(f"Schema at revision {migrate.current_revision(engine)}")
    engine.dispose()


@main.group()
def policy() -> None:
    """Check policies."""


@policy.command("check")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@_fail_clearly
def policy_check(directory: Path | None) -> None:
    """Validate every policy file in DIRECTORY (default: CASEFEEDBACK_POLICIES or ./policies)."""
    directory = directory or Path(os.environ.get("CASEFEEDBACK_POLICIES", "policies"))
    loaded = load_policies(directory)
    for service in loaded.services.values():
        click.echo(f"{service.source}: ok (service {service.id}, version {service.version[:12]})")


@main.group()
def audit() -> None:
    """Work with the audit log."""


@audit.command("verify")
@_fail_clearly
def audit_verify() -> None:
    """Walk the whole chain; exit 1 naming the first broken event."""
    from casefeedback.audit import AuditLog
    from casefeedback.storage.engine import open_engine, read

    config = Config.from_environment()
    engine = open_engine(config.database_path, config.secrets.database.value)
    with read(engine) as connection:
        report = AuditLog(config.secrets.audit_chain.value, system_clock).verify(connection)
    engine.dispose()
    if not report.ok:
        click.echo(f"casefeedback: audit log is NOT intact: {report.problem} "
                   f"({report.checked} events verified before it)", err=True)
        sys.exit(1)
    click.echo(f"audit log intact: {report.checked} events verified")


@main.group()
def staff() -> None:
    """Manage staff accounts."""


@staff.command("add")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="Full name, as colleagues know it.")
@click.option("--role", required=True)
@click.option("--team", default=None, help="Team name (created if new).")
@click.password_option(envvar="CASEFEEDBACK_NEW_PASSWORD")
@_fail_clearly
def staff_add(username: str, display_name: str, role: str, team: str | None, password: str) -> None:
    """Add a staff account (password prompted, or from CASEFEEDBACK_NEW_PASSWORD)."""
    from casefeedback.audit import AuditEvent
    from casefeedback.auth import accounts
    from casefeedback.services import build_services
    from casefeedback.storage.engine import write

    config = Config.from_environment()
    found = build_services(config, load_policies(config.policies_dir), system_clock)
    try:
        with write(found.engine) as connection:
            team_id = accounts.ensure_team(connection, team) if team else None
            staff_id = accounts.add_staff(connection, username=username, display_name=display_name, role=role,
                                          password=password, now=found.clock(), team_id=team_id)
            found.audit.append(connection, AuditEvent(action="staff.add", outcome="success",
                                                      actor_role="cli", object_type="staff",
                                                      object_id=staff_id, detail={"role": role}))
    except accounts.AccountError as error:
        click.echo(f"casefeedback: {error}", err=True)
        sys.exit(1)
    finally:
        found.engine.dispose()
    click.echo(f"Added {role} {username}")
