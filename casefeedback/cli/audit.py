"""Working with the audit log."""

from __future__ import annotations

import sys

import click

from casefeedback.cli.common import fail_clearly
from casefeedback.clock import system_clock
from casefeedback.config import Config


@click.group()
def audit() -> None:
    """Work with the audit log."""


@audit.command("verify")
@fail_clearly
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
