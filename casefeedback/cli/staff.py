"""Managing staff accounts."""

from __future__ import annotations

import click

from casefeedback.cli.common import CommandError, fail_clearly, open_services


@click.group()
def staff() -> None:
    """Manage staff accounts."""


@staff.command("add")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="Full name, as colleagues know it.")
@click.option("--role", required=True)
@click.option("--team", default=None, help="Team name (created if new).")
@click.password_option(envvar="CASEFEEDBACK_NEW_PASSWORD")
@fail_clearly
def staff_add(username: str, display_name: str, role: str, team: str | None, password: str) -> None:
    """Add a staff account (password prompted, or from CASEFEEDBACK_NEW_PASSWORD)."""
    from casefeedback.audit import AuditEvent
    from casefeedback.auth import accounts
    from casefeedback.storage.engine import write

    found = open_services()
    try:
        with write(found.engine) as connection:
            team_id = accounts.ensure_team(connection, team) if team else None
            staff_id = accounts.add_staff(connection, username=username, display_name=display_name, role=role,
                                          password=password, now=found.clock(), team_id=team_id)
            found.audit.append(connection, AuditEvent(action="staff.add", outcome="success",
                                                      actor_role="cli", object_type="staff",
                                                      object_id=staff_id, detail={"role": role}))
    except accounts.AccountError as error:
        raise CommandError(str(error)) from None
    finally:
        found.engine.dispose()
    click.echo(f"Added {role} {username}")
