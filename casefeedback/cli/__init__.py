"""The ``casefeedback`` command. Every failure is one clear message and a non-zero exit.

Each domain adds its commands in a module of its own below; register it here.
"""

from __future__ import annotations

import click

from casefeedback.cli import audit, instance, policy, staff


@click.group()
def main() -> None:
    """Run and administer a casefeedback instance (CASEFEEDBACK_INSTANCE, default ./instance)."""


main.add_command(instance.init)
main.add_command(instance.migrate_command)
main.add_command(policy.policy)
main.add_command(audit.audit)
main.add_command(staff.staff)

# --- issue 6: retention, legal hold, backups, keys, the worker ---
from casefeedback.cli import backup as backup_cli  # noqa: E402
from casefeedback.cli import keys as keys_cli  # noqa: E402
from casefeedback.cli import retention as retention_cli  # noqa: E402
from casefeedback.cli import worker as worker_cli  # noqa: E402

main.add_command(retention_cli.purge)
main.add_command(retention_cli.legal_hold)
main.add_command(backup_cli.backup)
main.add_command(backup_cli.restore)
main.add_command(keys_cli.keys)
main.add_command(worker_cli.worker)

# --- issue 7: insight exports ---
from casefeedback.cli import insight as insight_cli  # noqa: E402

main.add_command(insight_cli.insight)
