"""`casefeedback backup` and `casefeedback restore`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from casefeedback.cli.common import CommandError, fail_clearly, open_services
from casefeedback.cli.progress import Progress, after
from casefeedback.clock import system_clock
from casefeedback.config import Config


@click.command()
@click.option("--to", "destination", type=click.Path(path_type=Path, file_okay=False),
              help="Directory to write the backup into (default: CASEFEEDBACK_BACKUP_DIR, else <instance>/backups).")
@click.option("--verify", "verify_only", type=click.Path(path_type=Path, file_okay=False),
              help="Only check an existing backup directory, as a restore would; change nothing.")
@fail_clearly
def backup(destination: Path | None, verify_only: Path | None) -> None:
    """Write an encrypted, signed, verified backup of the database (secrets are backed up separately)."""
    from casefeedback.backup.archive import BackupError
    from casefeedback.backup.restore import verify

    _sqlcipher_only()
    if verify_only is not None:
        try:
            with Progress("backup: audit events verified in the copy") as walked:
                checked = verify(Config.from_environment(), verify_only, walked)
        except BackupError as error:
            raise CommandError(str(error)) from None
        click.echo(f"{verify_only}: a sound backup of this instance made {checked.manifest.created_at} "
                   f"({checked.events} audit events, chain intact)")
        return
    with (Progress("backup: rows copied") as copied,
          Progress("backup: audit events verified in the copy") as walked):
        directory, events = make_verified_backup(destination, copied, after(copied, walked))
    click.echo(f"Backup written and verified: {directory} ({events} audit events, chain intact)")


def make_verified_backup(destination: Path | None, copied: Callable[[int, int], None] | None = None,
                         checked: Callable[[int, int], None] | None = None) -> tuple[Path, int]:
    """Back up, then verify the copy exactly as a restore would. Used by `keys rekey-db` too.

    ``copied``: (rows copied, rows in all); ``checked``: (audit events verified in the copy, events in it)."""
    from casefeedback.audit.checkpoints import Signer
    from casefeedback.backup.archive import BackupError, create_backup
    from casefeedback.backup.restore import verify

    found = open_services()
    config = found.config
    try:
        directory, _manifest = create_backup(found.engine, config.database_path, config.secrets.database.value,
                                             found.audit, Signer(config.secrets.audit_signing.value),
                                             destination or config.backup_path, progress=copied)
    except BackupError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(f"cannot write the backup: {error.strerror} ({error.filename})") from None
    finally:
        found.engine.dispose()
    try:
        verified = verify(config, directory, checked)
    except BackupError as error:
        raise CommandError(f"the backup just written does not verify: {error}") from None
    return directory, verified.events


@click.command()
@click.argument("backup_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@fail_clearly
def restore(backup_dir: Path, yes: bool) -> None:
    """Replace the database with BACKUP_DIR, after verifying it; erased answers stay erased.

    The instance must be stopped (web app and worker). Audit events newer than
    the backup are kept in <instance>/audit-archive/.
    """
    from casefeedback.backup.archive import BackupError
    from casefeedback.backup.lock import InstanceBusy
    from casefeedback.backup.restore import read_manifest
    from casefeedback.backup.restore import restore as run_restore
    from casefeedback.policy import load_policies
    from casefeedback.policy.problems import PolicyError

    config = _sqlcipher_only()
    try:
        rules = load_policies(config.policies_dir).organisation
    except PolicyError as error:
        raise CommandError(f"the policies do not load, so the erasure horizon is unknown: {error}") from None
    try:
        manifest = read_manifest(backup_dir)
    except BackupError as error:
        raise CommandError(str(error)) from None
    if not yes:
        click.confirm(f"Replace the database of {config.instance_dir} with the backup made "
                      f"{manifest.created_at}?", abort=True)
    try:
        with (Progress("restore: audit events verified in the backup") as checked,
              Progress("restore: erasures re-applied") as reapplied):
            done = run_restore(config, backup_dir, system_clock, horizon=rules.backups.keep + rules.keys.rotate_every,
                               events_progress=checked, erasures_progress=after(checked, reapplied))
    except (BackupError, InstanceBusy) as error:
        raise CommandError(str(error)) from None
    click.echo(f"Restored the backup made {done.verified.manifest.created_at} ({done.verified.events} audit "
               f"events, chain intact).")
    click.echo(f"Erasures re-applied from the ledger: {done.reapplied_keys} data key(s), {done.reapplied_fields} "
               f"answer(s) that the backup still held are destroyed again ({done.ledger_entries} ledger entries).")
    if done.archive is not None:
        click.echo(f"{done.archived_events} newer audit event(s) of the replaced database kept in {done.archive}")


def _sqlcipher_only() -> Config:
    """The configuration, unless it names PostgreSQL: these commands copy and replace the SQLCipher file."""
    from casefeedback.backup.archive import POSTGRES_MESSAGE

    config = Config.from_environment()
    if config.store.is_postgres:
        raise CommandError(POSTGRES_MESSAGE)
    return config
