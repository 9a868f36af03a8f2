"""`casefeedback insight`: the public key partner agencies check exports with, and checking a bundle."""

from __future__ import annotations

import zipfile
from pathlib import Path

import click

from casefeedback.cli.common import CommandError, fail_clearly
from casefeedback.config import Config
from casefeedback.insight.export import public_key_of, public_key_pem, verify_bundle

# A received file is read whole: refuse one that unpacks to more than any export could be.
MAX_UNPACKED = 512 * 1024 * 1024


@click.group()
def insight() -> None:
    """Shared insight exports (format: docs/insight-export.md)."""


@insight.command("public-key")
@click.option("--pem", is_flag=True, help="As PEM, for `openssl pkeyutl -verify` (docs/insight-export.md).")
@fail_clearly
def public_key(pem: bool) -> None:
    """Print the insight signing public key: give it to partner agencies yourself, not inside an export."""
    secret = Config.from_environment().secrets.insight_signing
    if secret is None:
        raise CommandError("this instance has no insight signing key yet: run `casefeedback init` to add it")
    key = public_key_of(secret.value)
    click.echo(public_key_pem(key).rstrip() if pem else key)


@insight.command("verify")
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--public-key", "key", required=True, help="The sender's public key (64 hex), obtained from them.")
@fail_clearly
def verify(bundle: Path, key: str) -> None:
    """Check an export's signature and files against the sender's public key. Exit 1 if anything is wrong."""
    try:
        with zipfile.ZipFile(bundle) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED:
                raise CommandError(f"{bundle} unpacks to more than any insight export: not read")
            files = {name: archive.read(name) for name in archive.namelist()}
    except (OSError, zipfile.BadZipFile) as error:
        raise CommandError(f"{bundle} cannot be read as an insight export: {type(error).__name__}") from None
    key = key.strip().lower()
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise CommandError("--public-key must be the sender's Ed25519 public key: 64 hexadecimal characters")
    problems = verify_bundle(files, key)
    if problems:
        raise CommandError("this export does not verify: " + "; ".join(problems))
    click.echo(f"{bundle}: signature and files verify")
