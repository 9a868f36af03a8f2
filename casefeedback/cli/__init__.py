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
