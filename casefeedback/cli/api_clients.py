"""Registering, listing and revoking API clients. The token is printed once; every change is audited (actor "cli")."""

from __future__ import annotations

import click

from casefeedback.cli.common import CommandError, fail_clearly, open_services


@click.group("api-clients")
def api_clients() -> None:
    """Manage the systems allowed to call the JSON API (/api/v1)."""


@api_clients.command("add")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True,
              help="A scope to grant (repeat for several); `casefeedback api-clients scopes` lists them.")
@fail_clearly
def add(name: str, scopes: tuple[str, ...]) -> None:
    """Register a client NAME with its scopes, and print its token: the only time it is shown."""
    from casefeedback.api import clients

    found = open_services()
    try:
        registered = clients.register(found, name, scopes)
    except clients.ClientError as error:
        raise CommandError(str(error)) from None
    finally:
        found.engine.dispose()
    click.echo(f"Registered {registered.client.name} with {', '.join(sorted(registered.client.scopes))}.")
    click.echo("Its token, shown only now (keep it in the client's secret store):", err=True)
    click.echo(registered.token)


@api_clients.command("list")
@fail_clearly
def list_clients() -> None:
    """Every client: name, token prefix, state and scopes (never a token)."""
    from casefeedback.api import clients

    found = open_services()
    try:
        listed = clients.listing(found)
    finally:
        found.engine.dispose()
    if not listed:
        click.echo("No API clients are registered.")
    for client in listed:
        click.echo(f"{client.name}\t{client.token_prefix}…\t{client.state}\t{' '.join(sorted(client.scopes))}")


@api_clients.command("revoke")
@click.argument("name")
@fail_clearly
def revoke(name: str) -> None:
    """Stop a client's token at once (its next request is refused)."""
    from casefeedback.api import clients

    found = open_services()
    try:
        revoked = clients.revoke(found, name)
    except clients.ClientError as error:
        raise CommandError(str(error)) from None
    finally:
        found.engine.dispose()
    click.echo(f"Revoked {revoked.name}: its token no longer works.")


@api_clients.command("scopes")
def scopes() -> None:
    """The scopes a client may be given."""
    from casefeedback.policy.api_scopes import SCOPES

    for name, words in SCOPES.items():
        click.echo(f"{name}\t{words}")
