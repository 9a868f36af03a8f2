"""`casefeedback keys`: status, rotation of key-encryption keys, retirement, re-keying the database."""

from __future__ import annotations

import os
import stat

import click

from casefeedback.cli.common import CommandError, fail_clearly, open_services


@click.group()
def keys() -> None:
    """See and rotate the instance's keys (procedures: SECURITY.md, "Key procedures")."""


@keys.command("status")
@fail_clearly
def keys_status() -> None:
    """Which keys exist, which is active, how many data keys each wraps, and what to do next."""
    from casefeedback.audit.checkpoints import latest_checkpoint, public_key_of
    from casefeedback.crypto.rotation import kek_usage, retired
    from casefeedback.storage.engine import read

    found = open_services()
    try:
        usage = kek_usage(found.engine, found.keyring)
        gone = retired(found.engine)
        with read(found.engine) as connection:
            checkpoint = latest_checkpoint(connection)
    finally:
        found.engine.dispose()
    secrets = found.config.secrets
    click.echo("Key-encryption keys:")
    for use in usage:
        secret = secrets.keks.get(use.kek_id)
        where = _where(secret) if secret is not None else ("NOT ON DISK" if use.kek_id not in gone else "retired")
        state = "active" if use.active else ("can be retired" if use.data_keys == 0 and use.on_disk else "old")
        click.echo(f"  {use.kek_id:<24} {state:<15} {use.data_keys:>8} data key(s)   {where}")
    for kek_id, when in sorted(gone.items()):
        click.echo(f"  {kek_id:<24} retired {when}")
    left = sum(u.data_keys for u in usage if not u.active)
    if left:
        click.echo(f"Rotation unfinished: {left} data key(s) are wrapped by an older key; run "
                   "`casefeedback keys rotate` to finish re-wrapping them.")
    else:
        click.echo("Every data key is wrapped by the active key-encryption key.")
    click.echo(f"Database key: {_where(secrets.database)}")
    click.echo(f"Audit chain key: {_where(secrets.audit_chain)}")
    click.echo(f"Audit signing key: {_where(secrets.audit_signing)}; public key "
               f"{public_key_of(secrets.audit_signing.value)}")
    click.echo("Last audit checkpoint: " + (f"event {checkpoint.seq} at {checkpoint.at}" if checkpoint else "none yet"))


def _where(secret: object) -> str:
    path = getattr(secret, "path", None)
    origin = getattr(secret, "origin", "?")
    if path is None:
        return f"from the environment ({origin})"
    mode = stat.S_IMODE(os.stat(path).st_mode)
    return f"{path} (mode {mode:04o}, {origin})"


@keys.command("rotate")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 10_000),
              help="Data keys re-wrapped per transaction.")
@click.option("--pause", default=0.0, show_default=True, type=click.FloatRange(0, 60),
              help="Seconds to wait between batches, to leave room for people giving feedback.")
@fail_clearly
def keys_rotate(batch_size: int, pause: float) -> None:
    """Make a new key-encryption key active and re-wrap every data key under it, online.

    Safe to interrupt: run it again and it finishes the data keys still under
    an older key (it makes no second new key while a rotation is unfinished).
    """
    from casefeedback.crypto.rotation import KeyOperationError, rewrap_all, start_rotation

    found = open_services()
    try:
        active, previous, left = start_rotation(found.config, found.engine, found.audit)
        if previous:
            click.echo(f"New key-encryption key {active} is active (was {previous}); re-wrapping {left} data key(s).")
        else:
            click.echo(f"Resuming the unfinished rotation to {active}: {left} data key(s) still to re-wrap.")

        def progress(done: int, total: int) -> None:
            click.echo(f"re-wrapped {done} of {total}")

        done = rewrap_all(found.config, found.engine, found.audit, batch_size=batch_size, pause_s=pause,
                          progress=progress)
    except KeyOperationError as error:
        raise CommandError(str(error)) from None
    finally:
        found.engine.dispose()
    click.echo(f"Done: {done} data key(s) re-wrapped; every data key is wrapped by {active}. Old keys can now be "
               "retired with `casefeedback keys retire ID` (after a new backup: older backups need them).")


@keys.command("retire")
@click.argument("kek_id")
@fail_clearly
def keys_retire(kek_id: str) -> None:
    """Destroy an old key-encryption key. Refused while any data key still uses it.

    Backups made before the rotation need it: once it is retired they cannot be restored.
    """
    from casefeedback.crypto.rotation import KeyOperationError, retire

    found = open_services()
    try:
        retire(found.config, found.engine, found.audit, kek_id)
    except KeyOperationError as error:
        raise CommandError(str(error)) from None
    finally:
        found.engine.dispose()
    click.echo(f"Key-encryption key {kek_id} is retired and its file destroyed.")


@keys.command("rekey-db")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@fail_clearly
def keys_rekey_db(yes: bool) -> None:
    """Re-encrypt the whole database under a new database key (PRAGMA rekey), after a verified backup.

    The instance must be stopped. The old key is kept as database.key.previous-* for
    restoring older backups; destroy it when those backups expire.
    """
    from casefeedback.backup.lock import InstanceBusy
    from casefeedback.backup.rekey import RekeyRefused, rekey_database
    from casefeedback.clock import system_clock
    from casefeedback.config import Config

    if not yes:
        click.confirm("Re-encrypt the database under a new key now? (stop the web app and worker first)",
                      abort=True)
    try:
        outcome = rekey_database(Config.from_environment(), system_clock, progress=click.echo)
    except (InstanceBusy, RekeyRefused) as error:
        raise CommandError(str(error)) from None
    click.echo(outcome)
