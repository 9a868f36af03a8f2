"""The ``casefeedback`` command. Every failure is one clear message and a non-zero exit.

Each domain keeps its commands in a module of its own (``cli/<domain>.py``); they are added here, in the
order ``casefeedback --help`` lists them.
"""

from __future__ import annotations

import click

from casefeedback.cli import (
    api_clients,
    audit,
    backup,
    insight,
    instance,
    keys,
    policy,
    postgres,
    retention,
    staff,
    worker,
)
from casefeedback.instance import keep_files_private


@click.group()
def main() -> None:
    """Run and administer a casefeedback instance (CASEFEEDBACK_INSTANCE, default ./instance)."""
    # Before any command writes: secrets, the database, backups, restores and the worker's files are 0600.
    keep_files_private()


for command in (instance.init, instance.migrate_command, policy.policy, audit.audit, staff.staff,
                retention.purge, retention.legal_hold, backup.backup, backup.restore, keys.keys, worker.worker,
                insight.insight, api_clients.api_clients, retention.erasures, postgres.export_to_postgres):
    main.add_command(command)
