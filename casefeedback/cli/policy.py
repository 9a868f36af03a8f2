"""Checking policies."""

from __future__ import annotations

import os
from pathlib import Path

import click

from casefeedback.cli.common import fail_clearly
from casefeedback.policy import load_policies


@click.group()
def policy() -> None:
    """Check policies."""


@policy.command("check")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@fail_clearly
def policy_check(directory: Path | None) -> None:
    """Validate every policy file in DIRECTORY (default: CASEFEEDBACK_POLICIES or ./policies)."""
    directory = directory or Path(os.environ.get("CASEFEEDBACK_POLICIES", "policies"))
    loaded = load_policies(directory)
    for service in loaded.services.values():
        click.echo(f"{service.source}: ok (service {service.id}, version {service.version[:12]})")
