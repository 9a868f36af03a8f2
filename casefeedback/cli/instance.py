"""Creating and upgrading an instance."""

from __future__ import annotations

import click

from casefeedback.cli.common import fail_clearly, instance_dir
from casefeedback.clock import system_clock
from casefeedback.config import Config
from casefeedback.instance import announce_generated
from casefeedback.policy import load_policies


@click.command()
@click.option("--production", is_flag=True, help="Provision secrets for production (not marked as development).")
@click.option("--demo", is_flag=True, help="Also create demo staff, a demo case, an invitation and two "
              "years of de-identified demo history for insight.")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True, help="Used in printed links.")
@fail_clearly
def init(production: bool, demo: bool, base_url: str) -> None:
    """Create secrets, the database (the encrypted file, or PostgreSQL) and its schema; idempotent."""
    from casefeedback.bootstrap import create_or_upgrade_database, create_secrets
    from casefeedback.services import build_services

    instance = instance_dir()
    created = create_secrets(instance, "provisioned" if production else "development")
    if production:
        click.echo(f"Provisioned {len(created)} secret(s) in {instance / 'secrets'}; back them up separately.")
    else:
        announce_generated(created)
    config = Config.from_environment()
    policies = load_policies(config.policies_dir)
    new_database = create_or_upgrade_database(config)
    found = build_services(config, policies, system_clock)
    click.echo(("Created" if new_database else "Checked") + f" the {config.store.described}")
    if demo:
        from casefeedback.demo import seed

        click.echo(seed(found, base_url.rstrip("/")), nl=False)
    found.engine.dispose()


@click.command(name="migrate")
@fail_clearly
def migrate_command() -> None:
    """Bring the database schema up to date."""
    from casefeedback.storage import migrate
    from casefeedback.storage.engine import open_store

    config = Config.from_environment()
    engine = open_store(config.store)
    try:
        migrate.upgrade(engine)
        click.echo(f"Schema at revision {migrate.current_revision(engine)}")
    finally:
        engine.dispose()
