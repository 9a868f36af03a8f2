"""`casefeedback insight`: the public key partner agencies check exports with, and checking a bundle."""

from __future__ import annotations

import zipfile
from pathlib import Path

import click

from casefeedback.cli.common import CommandError, fail_clearly
from casefeedback.config import Config
from casefeedback.insight.export import public_key_of, verify_bundle

BUNDLE_FILES = ("insight.csv", "insight.json", "manifest.json")


@click.group()
def insight() -> None:
    """Shared insight exports (format: docs/insight-export.md)."""


@insight.command("public-key")
@fail_clearly
def public_key() -> None:
    """Print the insight signing public key: give it to partner agencies yourself, not inside an export."""
    secret = Config.from_environment().secrets.insight_signing
    if secret is None:
        raise CommandError("this instance has no insight signing key yet: run `casefeedback init` to add it")
    click.echo(public_key_of(secret.value))


@insight.command("verify")
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--public-key", "key", required=True, help="The sender's public key (64 hex), obtained from them.")
@fail_clearly
def verify(bundle: Path, key: str) -> None:
    """Check an export's signature and files against the sender's public key. Exit 1 if anything is wrong."""
    try:
        with zipfile.ZipFile(bundle) as archive:
            files = {name: archive.read(name) for name in archive.namelist() if name in BUNDLE_FILES}
    except (OSError, zipfile.BadZipFile) as error:
        raise CommandError(f"{bundle} cannot be read as an insight export: {type(error).__name__}") from None
    problems = verify_bundle(files, key.strip().lower())
    if problems:
        raise CommandError("this export does not verify: " + "; ".join(problems))
    click.echo(f"{bundle}: signature and files verify")
