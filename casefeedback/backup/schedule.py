"""The worker's backup round: back up when due, copy to the second location, prune, rotate, retire.

Run hourly by the worker (``backup/jobs.py``) and by ``casefeedback keys
horizon`` at a terminal, with the same code. Each step stands alone: a full
backup disk does not stop a due key rotation, and every step that fails is
named in one line, audited, and sent to the administrators (email and the alert
webhook, ``worker/alarms.py``), again every hour while it lasts.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.audit.checkpoints import Signer, instance_id
from casefeedback.backup import horizon
from casefeedback.backup.archive import POSTGRES_MESSAGE, BackupError, create_backup
from casefeedback.backup.locations import (
    LocationError,
    catalogue,
    check_writable,
    copy_to,
    prune,
    remove_leftovers,
)
from casefeedback.backup.rekey import Rekeyed, refuse_on_postgres, rekey_database
from casefeedback.backup.rekey_recovery import RekeyRefused
from casefeedback.backup.restore import verify
from casefeedback.crypto.rotation import (
    KeyOperationError,
    activated_at,
    kek_usage,
    keks_on_disk,
    retirable_from,
    retire,
    rewrap_all,
    start_rotation,
)
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events
from casefeedback.worker import alarms
from casefeedback.worker.alarms import Send

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
_FAILURES = (LocationError, BackupError, KeyOperationError, RekeyRefused, OSError)
# The hourly tick may land a little early; a backup a minute short of its interval is still due.
_TICK = timedelta(minutes=5)


@dataclass
class Round:
    done: list[str] = field(default_factory=list)  # one line per step that did something
    failed: list[str] = field(default_factory=list)  # one line per step that failed
    report: horizon.HorizonReport | None = None

    def summary(self) -> str:
        return "; ".join([*self.done, *(f"FAILED {f}" for f in self.failed)]) or "nothing due"


def keep_horizon(found: Services, *, progress: Progress | None = None, backup_now: bool = False,
                 send: Send | None = None, batch_size: int = 200, pause_s: float = 0.0) -> Round:
    """One round; ``batch_size``/``pause_s`` pace a re-wrap as ``keys rotate`` does."""
    say: Progress = progress or (lambda _line: None)
    result = Round()
    steps: tuple[tuple[str, Callable[[], str | None]], ...] = (
        ("backup", lambda: _backup_if_due(found, say, backup_now)),
        ("prune", lambda: _prune(found, say)),
        ("rotation", lambda: _rotate_if_due(found, say, batch_size, pause_s)),
        ("retirement", lambda: _retire(found, say)),
        ("re-key", lambda: _rekey_if_due(found, say)))
    for name, step in steps:
        try:
            line = step()
        except _FAILURES as error:
            line = None
            problem = f"{name}: {_words(error)}"
            result.failed.append(problem)
            log.error("backup round %s", problem)
            _audit_failure(found, name, error)
        if line:
            result.done.append(line)
            log.info("backup round %s: %s", name, line)
    if result.failed:
        body = ("casefeedback's scheduled backup and key work did not all succeed:\n\n"
                + "\n".join(f"- {f}" for f in result.failed)
                + "\n\nUntil it is mended, erased answers may stay readable in old copies for longer than the "
                  "policy promises.\nRun `casefeedback keys status` on the server to see what is held back, and "
                  "`casefeedback keys horizon` to try again.\n")
        alarms.raise_alarm(found.config, found.engine, horizon.admin_alarm(found), "; ".join(result.failed), body,
                           found.clock(), send)
    else:
        alarms.clear(horizon.admin_alarm(found))
    result.report = _note_if_met(found, horizon.compute(found))
    return result


def last_rekey(found: Services) -> datetime | None:
    """When the database key last changed: its re-key's event; else the log's start (the key's oldest possible age)."""
    with read(found.engine) as connection:
        done = connection.execute(select(func.max(audit_events.c.at)).where(
            audit_events.c.action == Action.KEYS_REKEY_DB.value, audit_events.c.outcome == "success")).scalar()
        if done is None:
            done = connection.execute(select(func.min(audit_events.c.at))).scalar()
    if done is None:
        return None
    moment = done if isinstance(done, datetime) else datetime.fromisoformat(str(done))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _rekey_if_due(found: Services, say: Progress) -> str | None:
    """The optional ``[keys] rekey_database_every``: re-encrypt the database online when its key is that old."""
    every = found.policies.organisation.keys.rekey_database_every
    if every is None:
        return None
    since = last_rekey(found)
    if since is not None and found.clock() - since < every - _TICK:
        return None
    # Declared on PostgreSQL, the cadence cannot be kept: refused (and administrators told) every round,
    # rather than silently doing nothing while the policy promises it.
    refuse_on_postgres(os.environ)
    say("Re-encrypting the database under a new key; sending carries on…")
    outcome = rekey_database(found.config, found.clock, progress=say)
    if not isinstance(outcome, Rekeyed):
        return f"database re-key: {outcome}"
    return (f"database re-keyed: {outcome.rows} rows copied, writes paused {outcome.paused_s:.2f} s, "
            f"old key {outcome.old_key}")


def _words(error: BaseException) -> str:
    if isinstance(error, OSError) and not isinstance(error, LocationError):
        return f"{error.strerror or type(error).__name__} ({error.filename})"
    return str(error)


def _instance(found: Services) -> str:
    with read(found.engine) as connection:
        return instance_id(connection)


def _backup_if_due(found: Services, say: Progress, now_anyway: bool) -> str | None:
    config, now = found.config, found.clock()
    every = found.policies.organisation.backups.every
    shelf = catalogue(config, _instance(found))
    newest = max((b.created_at for b in shelf.backups if b.location == config.backup_path), default=None)
    if not now_anyway and newest is not None and now - newest < every - _TICK:
        return None
    if config.store.is_postgres:  # told every round, as a declared re-key is: the policy promises backups
        raise BackupError(POSTGRES_MESSAGE)
    for location in (config.backup_path, config.backup_mirror):
        if location is not None:
            remove_leftovers(location)
    size = config.database_path.stat().st_size
    check_writable(config.backup_path, size, create=config.backup_dir is None)
    say(f"Backing up the database ({size // 1024} KB) to {config.backup_path}…")
    directory, _manifest = create_backup(found.engine, config.database_path, config.secrets.database.value,
                                         found.audit, Signer(config.secrets.audit_signing.value), config.backup_path,
                                         actor_role="system")
    say("Verifying the backup as a restore would…")
    _verified_or_removed(found, directory)
    line = f"backup {directory.name} written and verified"
    if config.backup_mirror is not None:
        try:
            check_writable(config.backup_mirror, size, create=False)
        except LocationError as error:
            raise LocationError(f"{error}; the backup in {config.backup_path} is sound, but it has no second "
                                "copy") from None
        say(f"Copying it to the second location {config.backup_mirror}…")
        try:
            copy = copy_to(directory, config.backup_mirror)
        except OSError as error:
            raise LocationError(f"the copy to the second location {config.backup_mirror} failed "
                                f"({error.strerror}); the backup in {config.backup_path} is sound") from None
        _verified_or_removed(found, copy)
        line += "; copied to the second location and verified"
    return line


def _verified_or_removed(found: Services, directory: Path) -> None:
    try:
        verify(found.config, directory)
    except BackupError as error:
        shutil.rmtree(directory, ignore_errors=True)  # a copy that does not verify is not kept
        raise BackupError(f"the backup just written does not verify, so it was removed: {error}") from None


def _prune(found: Services, say: Progress) -> str | None:
    config, now = found.config, found.clock()
    keep = found.policies.organisation.backups.keep
    shelf = catalogue(config, _instance(found))
    due = [b for b in shelf.backups if now - b.created_at > keep]
    for number, backup in enumerate(due, 1):
        say(f"Removing backup {number} of {len(due)}: made {backup.created_at:%d %B %Y}, kept {keep.days} days…")
        prune(backup)
        with write(found.engine) as connection:
            found.audit.append(connection, AuditEvent(
                action=Action.BACKUP_PRUNE, outcome="success", actor_role="system", object_type="backup",
                object_id=backup.directory.name[:36],
                detail={"made": backup.created_at.isoformat(),
                        "second_location": backup.location != config.backup_path}))
    return f"{len(due)} backup(s) past {keep.days} days removed" if due else None


def _rotate_if_due(found: Services, say: Progress, batch_size: int, pause_s: float) -> str | None:
    every = found.policies.organisation.keys.rotate_every
    _ids, active = keks_on_disk(found.config)
    unfinished = sum(u.data_keys for u in kek_usage(found.engine, found.keyring) if u.kek_id != active)
    since = activated_at(found.engine, active)
    if not unfinished and since is not None and found.clock() - since < every:
        return None
    kek_id, previous, left = start_rotation(found.config, found.engine, found.audit, actor_role="system")
    say(f"New key-encryption key {kek_id} (was {previous}); re-wrapping {left} data key(s)…" if previous else
        f"Resuming the unfinished change of key to {kek_id}: {left} data key(s) to re-wrap…")
    done = rewrap_all(found.config, found.engine, found.audit, actor_role="system", batch_size=batch_size,
                      pause_s=pause_s,
                      progress=lambda n, total: say(f"re-wrapped {n} of {total}"))
    return f"key-encryption key {kek_id} active; {done} data key(s) re-wrapped"


def _retire(found: Services, say: Progress) -> str | None:
    shelf = catalogue(found.config, _instance(found))
    if shelf.unreadable:
        # A backup we cannot see may need an old key: destroying it would make that backup useless
        # without telling anyone. Held back (and shown by `keys status`) until the location is back.
        return None
    ids, active = keks_on_disk(found.config)
    allowed = retirable_from(found.engine, active)
    if allowed is not None and found.clock() < allowed:
        ids = []  # a rotation this recent: its old key stays until every process has moved off it (a later round)
    needed = {k for b in shelf.backups for k in b.kek_ids}
    live = {u.kek_id: u.data_keys for u in kek_usage(found.engine, found.keyring)}
    gone = []
    for kek_id in ids:
        if kek_id != active and not live.get(kek_id) and kek_id not in needed:
            say(f"Destroying the old key-encryption key {kek_id}: no kept backup needs it…")
            retire(found.config, found.engine, found.audit, kek_id, actor_role="system",
                   reason="no kept backup needs it")
            gone.append(kek_id)
    if gone:
        found.keyring.refresh()  # this process lets go of them now; the web workers at their next refresh
    old_database_keys = _retire_old_database_keys(found, say)
    said = [f"old key-encryption key(s) {', '.join(gone)} destroyed"] if gone else []
    said += [f"{old_database_keys} old database key(s) destroyed"] if old_database_keys else []
    return "; ".join(said) or None


def _retire_old_database_keys(found: Services, say: Progress) -> int:
    """An old database key kept by a re-key (``backup/old_keys.py``) goes when its last backup has gone."""
    from casefeedback.backup.old_keys import PREVIOUS, backups_made_under
    from casefeedback.crypto.rotation import destroy_file
    from casefeedback.instance import secrets_dir
    from casefeedback.storage.generations import read_key_file

    destroyed = 0
    for path in sorted(secrets_dir(found.config.instance_dir).glob(PREVIOUS + "*")):
        key = read_key_file(path)
        if key is not None and not backups_made_under(found.config, key):
            say(f"Destroying the old database key {path.name}: no kept backup needs it…")
            destroy_file(path)
            destroyed += 1
    return destroyed


def _audit_failure(found: Services, step: str, error: BaseException) -> None:
    try:
        with write(found.engine) as connection:
            found.audit.append(connection, AuditEvent(action=Action.BACKUP_FAIL, outcome="failed",
                                                      actor_role="system", object_type="backup", object_id=step,
                                                      detail={"error": type(error).__name__}))
    except Exception:  # the alarm below must go out even if the database cannot take the event
        log.error("backup round: the failure of %s could not be audited", step)


def _note_if_met(found: Services, report: horizon.HorizonReport) -> horizon.HorizonReport:
    """Audit the horizon met, once a day while it holds: the report's "last met" is that event."""
    now = found.clock()
    if not report.met or (report.last_met is not None and now - report.last_met < timedelta(hours=23)):
        return report
    with write(found.engine) as connection:
        found.audit.append(connection, AuditEvent(
            action=Action.BACKUP_HORIZON_MET, outcome="success", actor_role="system", object_type="backup",
            object_id="horizon", detail={"days": report.days, "backups": report.backups}))
    return replace(report, last_met=now)
