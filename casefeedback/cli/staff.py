"""Managing staff accounts: add, update, disable, reset, list. Every change is audited (actor "cli")."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import click

from casefeedback.cli.common import CommandError, fail_clearly, open_services
from casefeedback.services import Services


@click.group()
def staff() -> None:
    """Manage staff accounts."""


@contextmanager
def _staffing() -> Iterator[Services]:
    """The instance's services; account errors become clear command errors."""
    from casefeedback.auth.accounts import AccountError

    found = open_services()
    try:
        yield found
    except AccountError as error:
        raise CommandError(str(error)) from None
    finally:
        found.engine.dispose()


def _account_id(found: Services, username: str) -> str:
    from casefeedback.admin import staffing

    staff_id = staffing.account_id(found, username)
    if staff_id is None:
        raise CommandError(f"there is no staff account called {username!r} (see `casefeedback staff list`)")
    return staff_id


@staff.command("add")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="Full name, as colleagues know it.")
@click.option("--role", required=True)
@click.option("--team", default=None, help="Team name (created if new).")
@click.option("--email", default=None, metavar="ADDRESS", help="Where their alerts are emailed (if SMTP is set up).")
@click.password_option(envvar="CASEFEEDBACK_NEW_PASSWORD")
@fail_clearly
def staff_add(username: str, display_name: str, role: str, team: str | None, email: str | None,
              password: str) -> None:
    """Add a staff account (password prompted, or from CASEFEEDBACK_NEW_PASSWORD).

    The person sets up their authenticator app (scanning a QR code) at their first sign-in.
    """
    from casefeedback.admin import staffing

    with _staffing() as found:
        staffing.add_staff(found, staffing.COMMAND_LINE, username=username, display_name=display_name, role=role,
                           password=password, team_name=team, email=email)
    click.echo(f"Added {role} {username}. At their first sign-in they set up an authenticator app.")


@staff.command("update")
@click.argument("username")
@click.option("--email", default=None, metavar="ADDRESS", help="Where their alerts are emailed (if SMTP is set up).")
@click.option("--no-email", is_flag=True, help="Stop emailing their alerts (the in-app inbox still has them).")
@click.option("--mobile", default=None, metavar="NUMBER", help="A UK mobile their alerts are texted to (Notify).")
@click.option("--no-mobile", is_flag=True, help="Stop texting their alerts.")
@fail_clearly
def staff_update(username: str, email: str | None, no_email: bool, mobile: str | None, no_mobile: bool) -> None:
    """Change an account's email address or mobile for alerts; an old email address is told of the change."""
    from casefeedback.admin import staffing
    from casefeedback.alerts.sms import BadMobile

    if mobile is not None or no_mobile:
        if email is not None or no_email or (mobile is None) == (not no_mobile):
            raise CommandError("say what to change: --mobile NUMBER or --no-mobile (not both, and not with --email)")
        with _staffing() as found:
            try:
                change = staffing.set_mobile(found, staffing.COMMAND_LINE, _account_id(found, username),
                                             None if no_mobile else mobile)
            except BadMobile as bad:
                raise CommandError(str(bad)) from None
        click.echo(f"Nothing changed: {username} already had that mobile." if change is None
                   else f"Mobile {change} for {username}.")
        return
    if (email is None) == (not no_email):
        raise CommandError("say what to change: --email ADDRESS, or --no-email (not both)")
    if email is not None and not email.strip():
        raise CommandError("to stop emailing their alerts, use --no-email")
    with _staffing() as found:
        change = staffing.set_email(found, staffing.COMMAND_LINE, _account_id(found, username),
                                    None if no_email else email)
    if change is None:
        click.echo(f"Nothing changed: {username} already had that email address.")
    else:
        click.echo(f"Email address {change} for {username}.")


@staff.command("disable")
@click.argument("username")
@fail_clearly
def staff_disable(username: str) -> None:
    """Disable an account: it can no longer sign in, and every session it has ends at once."""
    from casefeedback.admin import staffing

    with _staffing() as found:
        staffing.set_enabled(found, staffing.COMMAND_LINE, _account_id(found, username), False)
    click.echo(f"Disabled {username}; every session of the account has ended.")


@staff.command("reset")
@click.argument("username")
@click.option("--password/--keep-password", "new_password", default=True, show_default=True,
              help="Set a new password (prompted, or from CASEFEEDBACK_NEW_PASSWORD).")
@click.option("--mfa", is_flag=True, help="Also forget their authenticator app: they set one up again at sign-in.")
@click.option("--enable", is_flag=True, help="Also enable the account if it was disabled.")
@fail_clearly
def staff_reset(username: str, new_password: bool, mfa: bool, enable: bool) -> None:
    """Reset an account's password and/or second factor. Every session it has ends at once."""
    from casefeedback.admin import staffing

    if not new_password and not mfa and not enable:
        raise CommandError("nothing to reset: leave out --keep-password, or add --mfa or --enable")
    password = _prompt_password() if new_password else None
    with _staffing() as found:
        staffing.reset(found, staffing.COMMAND_LINE, _account_id(found, username), password=password,
                       second_factor=mfa, enable=enable)
    done = [what for what, did in (("password", new_password), ("authenticator app", mfa), ("enabled", enable))
            if did]
    click.echo(f"Reset {username} ({', '.join(done)}); every session of the account has ended.")


def _prompt_password() -> str:
    from_env = os.environ.get("CASEFEEDBACK_NEW_PASSWORD")
    if from_env:
        return from_env
    return str(click.prompt("New password", hide_input=True, confirmation_prompt=True))


@staff.command("list")
@fail_clearly
def staff_list() -> None:
    """List staff accounts: username, role, team, and whether they can sign in."""
    from casefeedback.admin import staffing

    with _staffing() as found:
        people = staffing.people(found)
    if not people:
        click.echo("There are no staff accounts yet: add one with `casefeedback staff add`.")
        return
    click.echo(f"{'username':<20} {'role':<14} {'team':<24} status")
    for person in people:
        status = "disabled" if not person.enabled else ("active" if person.mfa_enrolled else "no authenticator yet")
        click.echo(f"{person.username:<20} {person.role:<14} {(person.team_name or '-'):<24} {status}")
