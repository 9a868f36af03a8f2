"""`casefeedback keys`: status, rotation of key-encryption keys, retirement, re-keying the database."""

from __future__ import annotations

import os
import stat

import click

from casefeedback.cli.common import CommandError, fail_clearly, open_services
from casefeedback.cli.progress import Progress
from casefeedback.services import Services


@click.group()
def keys() -> None:
    """See and rotate the instance's keys (procedures: SECURITY.md, "Key procedures")."""


@keys.command("status")
@fail_clearly
def keys_status() -> None:
    """Which keys exist, which is active, how many data keys each wraps, and what to do next."""
    from casefeedback.audit.checkpoints import latest_checkpoint, public_key_of
    from casefeedback.crypto.rotation import (
        RETIRABLE_LATER,
        kek_state,
        kek_usage,
        retirable_from,
        retirable_when,
        retired,
    )
    from casefeedback.storage.dialect import page_mac
    from casefeedback.storage.engine import read

    found = open_services()
    try:
        usage = kek_usage(found.engine, found.keyring)
        gone = retired(found.engine)
        retire_from = retirable_from(found.engine, found.keyring.current_active_id)
        with read(found.engine) as connection:
            checkpoint = latest_checkpoint(connection)
            pages = page_mac(connection)
    finally:
        found.engine.dispose()
    secrets = found.config.secrets
    click.echo("Key-encryption keys:")
    states = {use.kek_id: kek_state(use, retire_from, found.clock()) for use in usage}
    if retire_from is not None:
        states = {k: f"can be retired {retirable_when(retire_from)}" if state == RETIRABLE_LATER else state
                  for k, state in states.items()}
    width = max([15, *(len(state) for state in states.values())])
    for use in usage:
        secret = secrets.keks.get(use.kek_id)
        where = _where(secret) if secret is not None else ("NOT ON DISK" if use.kek_id not in gone else "retired")
        click.echo(f"  {use.kek_id:<24} {states[use.kek_id]:<{width}} {use.data_keys:>8} data key(s)   {where}")
    for kek_id, when in sorted(gone.items()):
        click.echo(f"  {kek_id:<24} retired {when}")
    left = sum(u.data_keys for u in usage if not u.active)
    if left:
        click.echo(f"Rotation unfinished: {left} data key(s) are wrapped by an older key; run "
                   "`casefeedback keys rotate` to finish re-wrapping them.")
    else:
        click.echo("Every data key is wrapped by the active key-encryption key.")
    click.echo(f"Database key: {_where(secrets.database)}")
    if pages == "HMAC_SHA512":
        click.echo("Database file: made with SQLCipher 4's own page settings (HMAC-SHA512), which cost more "
                   "when several processes write; `casefeedback keys rekey-db` copies it into a file of the "
                   "current kind (HMAC-SHA256).")
    elif pages is not None:
        click.echo(f"Database file: pages encrypted with AES-256 and authenticated with {pages.replace('_', '-')}.")
    click.echo(f"Audit chain key: {_where(secrets.audit_chain)}")
    click.echo(f"Audit signing key: {_where(secrets.audit_signing)}; public key "
               f"{public_key_of(secrets.audit_signing.value)}")
    click.echo("Last audit checkpoint: " + (f"event {checkpoint.seq} at {checkpoint.at}" if checkpoint else "none yet"))
    _echo_horizon(found)


def _echo_horizon(found: Services) -> None:
    from casefeedback.backup.horizon import compute

    report = compute(found)
    click.echo("")
    click.echo(f"Erasure horizon: {report.days} days. {report.summary()}")
    click.echo("  Now: " + ("met." if report.met else "NOT met; held back by:"))
    for reason in report.held_back:
        click.echo(f"   - {reason}")
    click.echo("  Last met: " + (f"{report.last_met:%d %B %Y %H:%M} UTC" if report.last_met else "never yet"))
    click.echo("  Last backup: " + (f"{report.last_backup:%d %B %Y %H:%M} UTC" if report.last_backup else "none yet")
               + f" ({report.backups} kept, in {found.config.backup_path}"
               + (f" and {found.config.backup_mirror})" if found.config.backup_mirror else ")"))
    if report.next_rotation is not None:
        click.echo(f"  Next change of key-encryption key: {report.next_rotation:%d %B %Y}")
    for kek in report.keks:
        if kek.state == "needed" and kek.until is not None:
            click.echo(f"  Old key {kek.kek_id} is kept for a backup that expires {kek.until:%d %B %Y}, "
                       "then destroyed.")


@keys.command("horizon")
@click.option("--backup-now", is_flag=True, help="Back up now even if the last backup is recent.")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 10_000),
              help="Data keys re-wrapped per transaction, if a rotation is due.")
@click.option("--pause", default=0.0, show_default=True, type=click.FloatRange(0, 60),
              help="Seconds to wait between re-wrap batches.")
@fail_clearly
def keys_horizon(backup_now: bool, batch_size: int, pause: float) -> None:
    """Do now what the worker does hourly: back up when due, prune, rotate when due, destroy unneeded old keys.

    Exits non-zero, and alerts the administrators, if any step fails.
    """
    from casefeedback.backup.schedule import keep_horizon

    found = open_services()
    try:
        done = keep_horizon(found, progress=click.echo, backup_now=backup_now, batch_size=batch_size,
                            pause_s=pause)
        for line in done.done:
            click.echo(f"Done: {line}.")
        if done.report is not None:
            click.echo(f"Erasure horizon ({done.report.days} days): " + (
                "met." if done.report.met else "NOT met: " + " ".join(done.report.held_back)))
    finally:
        found.engine.dispose()
    if done.failed:
        raise CommandError("; ".join(done.failed) + ". The administrators have been alerted.")


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

        with Progress("re-wrapped") as bar:
            done = rewrap_all(found.config, found.engine, found.audit, batch_size=batch_size, pause_s=pause,
                              progress=bar)
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
    """Re-encrypt the whole database under a new database key, online: people can keep sending feedback.

    Copies the database into a new file under the new key, catches up what changed meanwhile,
    and pauses writes only for the last catch-up and the swap (the pause is printed). Safe to
    interrupt: run it again and it finishes or rolls back what was begun. The old key is
    destroyed, or kept as database.key.previous-* while a kept backup was made under it.
    """
    from casefeedback.backup.rekey import Rekeyed, RekeyRefused, refuse_on_postgres, rekey_database
    from casefeedback.clock import system_clock
    from casefeedback.config import Config
    from casefeedback.logs import configure_logging
    from casefeedback.storage.live_copy import CopyError

    try:
        refuse_on_postgres(os.environ)
    except RekeyRefused as error:
        raise CommandError(str(error)) from None
    config = Config.from_environment()
    configure_logging(config)  # the outcome goes to the instance log in one line, as the worker's jobs do
    if not yes:
        click.confirm("Re-encrypt the database under a new key now? (the web app and worker may keep running)",
                      abort=True)
    try:
        outcome = rekey_database(config, system_clock, progress=click.echo)
    except (RekeyRefused, CopyError) as error:
        raise CommandError(str(error)) from None
    if isinstance(outcome, Rekeyed):
        click.echo(f"Done: the database is re-encrypted under a new key (secrets/database.key). {outcome.rows} rows "
                   f"in {outcome.tables} tables copied, {outcome.caught_up} caught up in {outcome.passes + 1} "
                   f"pass(es); writes paused for {outcome.paused_s:.2f} s. Old key: {outcome.old_key}. "
                   f"Integrity check: {outcome.integrity}.")
    else:
        click.echo(outcome)
