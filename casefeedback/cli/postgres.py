"""`casefeedback export-to-postgres`: move an instance from its SQLCipher file to PostgreSQL."""

from __future__ import annotations

import click

from casefeedback.cli.common import CommandError, fail_clearly
from casefeedback.clock import system_clock
from casefeedback.config import Config


@click.command("export-to-postgres")
@click.argument("url")
@fail_clearly
def export_to_postgres(url: str) -> None:
    """Copy the instance's encrypted database, exactly, into the EMPTY PostgreSQL database at URL.

    Stop the web app and the worker first. URL is postgresql://user@host:5432/database; leave the password
    out of it (a command line is visible to other users) and give it in PGPASSWORD or ~/.pgpass.
    """
    from casefeedback.backup.lock import InstanceBusy
    from casefeedback.backup.to_postgres import export_to_postgres as export
    from casefeedback.storage.transfer import TransferRefused

    config = Config.from_environment()
    try:
        done = export(config, url, system_clock)
    except (TransferRefused, InstanceBusy) as error:
        raise CommandError(str(error)) from None
    click.echo(f"Copied {done.total:,} rows of {len(done.rows)} tables from the {done.source} into the "
               f"{done.target}, byte for byte (sealed fields still sealed), and audited it there.")
    click.echo("Next:")
    click.echo("  1. Set CASEFEEDBACK_DATABASE_URL to that database for the web app, the worker and every "
               "command, on every node.")
    click.echo(f"  2. Keep the instance directory {config.instance_dir}: its secrets open the sealed fields and "
               "check the audit log, and with the erasure ledger they stay there, not in PostgreSQL. The audit "
               f"witness {config.witness_path} stays where it is too.")
    click.echo("  3. Run `casefeedback audit verify` with the new setting, then start the web app and the worker.")
    click.echo("  4. The encrypted file is left as it was and no longer used: keep it as a backup while you need "
               "one, then delete it (README, \"Scaling out\").")
