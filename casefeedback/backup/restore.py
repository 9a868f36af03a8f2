"""Restoring a backup: verify everything first, re-apply every erasure since, then swap in one rename.

Order matters, so that a refusal — or a crash — at any step leaves the live
database exactly as it was:

1. take the instance alone (refused onto a running instance);
2. verify the backup completely (signature, instance, size, SHA-256, the
   copy's page MACs and structure, its audit chain) — nothing is touched yet;
3. build the restored database in a staging file beside the live one: the
   copy, re-keyed to the current database key, migrated to this version's
   schema, with the erasure ledger re-applied (the union of the live table,
   the ledger file and the copy's own table), so erased fields never come
   back into service;
4. keep the live log's newer audit events in ``audit-archive/`` (they are
   not in the backup), then rename the staging file over the live one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import select

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.actions import Action
from casefeedback.audit.checkpoints import Signer, instance_id, public_key_of
from casefeedback.audit.watch import sign_and_witness
from casefeedback.audit.witness import RestoreNote, Witness
from casefeedback.backup.archive import (
    POSTGRES_MESSAGE,
    BackupError,
    Verified,
    backup_time,
    read_manifest,
    verify_backup,
)
from casefeedback.backup.lock import exclusive
from casefeedback.clock import Clock
from casefeedback.config import Config
from casefeedback.crypto.rotation import KeyOperationError, keks_on_disk
from casefeedback.instance import secrets_dir
from casefeedback.retention import ledger
from casefeedback.storage import migrate
from casefeedback.storage.dialect import WRITER_LOCK_SUFFIXES, open_readonly, rekey_file, truncate_wal
from casefeedback.storage.engine import open_engine, read, write
from casefeedback.storage.generations import read_key_file
from casefeedback.storage.tables import audit_events, instance_identity

ARCHIVE_DIR = "audit-archive"
Report = Callable[[int, int], None]  # (done, of how many): a command's progress bar


@dataclass(frozen=True)
class Restored:
    verified: Verified
    reapplied_keys: int
    reapplied_fields: int
    ledger_entries: int
    archived_events: int
    archive: Path | None


@dataclass(frozen=True)
class _Live:
    instance_id: str | None
    entries: list[ledger.LedgerEntry]


def database_keys(config: Config) -> list[bytes]:
    """The current database key, then any earlier ones kept after a re-key (for older backups)."""
    keys = [config.secrets.database.value]
    # A long-running process (the worker) keeps the key it started with; an online re-key has since put
    # a new one in the file.
    if config.secrets.database.path is not None and (on_disk := read_key_file(config.secrets.database.path)):
        keys = [on_disk, *[k for k in keys if k != on_disk]]
    for path in sorted(secrets_dir(config.instance_dir).glob("database.key.previous-*"), reverse=True):
        for line in path.read_text(encoding="ascii", errors="replace").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                with contextlib.suppress(ValueError):
                    value = bytes.fromhex(line)
                    if len(value) == 32:
                        keys.append(value)
    return keys


def verify(config: Config, backup_dir: Path, progress: Report | None = None) -> Verified:
    """``verify_backup`` with this instance's keys; ``progress``: (audit events verified, events in the copy)."""
    live = _live_state(config)
    return _verify(config, backup_dir, live, progress)


def _verify(config: Config, backup_dir: Path, live: _Live, progress: Report | None = None) -> Verified:
    verified = verify_backup(backup_dir, public_key=public_key_of(config.secrets.audit_signing.value),
                             instance_id=live.instance_id, database_keys=database_keys(config),
                             chain_key=config.secrets.audit_chain.value, kek_ids=_held_keks(config),
                             progress=progress)
    known = {script.revision for script in ScriptDirectory.from_config(migrate._alembic_config()).walk_revisions()}
    newer = sorted(set(verified.manifest.schema_revision.split(",")) - known - {""})
    if newer:
        raise BackupError(f"{backup_dir} was made by a newer version of casefeedback (schema {', '.join(newer)}): "
                          "upgrade casefeedback before restoring it")
    return verified


def _held_keks(config: Config) -> set[str]:
    """The KEKs on disk now: a long-running worker's config predates its own rotations and retirements."""
    try:
        return set(keks_on_disk(config)[0])
    except KeyOperationError:
        return set(config.secrets.keks)


def _live_state(config: Config) -> _Live:
    """What the live database says (its instance id and ledger), if it exists and opens; read only."""
    path = config.database_path
    # The ledger beside the database and its copy beside the audit witness: either may be all that is left.
    entries = ledger.read_file(ledger.ledger_path(path)) + ledger.read_file(ledger.witness_copy_path(
        config.witness_path))
    if not path.exists():
        return _Live(None, entries)
    try:
        connection = open_readonly(path, config.secrets.database.value)
    except Exception:  # a damaged live database is a reason to restore, not to refuse
        return _Live(None, entries)
    try:
        instance = connection.execute("SELECT instance_id FROM instance_identity").fetchone()
        rows = connection.execute("SELECT data_key_id, submission_id, field_class, reason, erased_at "
                                  "FROM erased_keys").fetchall()
    except Exception:
        return _Live(None, entries)
    finally:
        connection.close()
    for row in rows:
        erased_at = row[4] if isinstance(row[4], datetime) else datetime.fromisoformat(str(row[4]))
        entries.append(ledger.LedgerEntry(str(row[0]), str(row[1]), str(row[2]), str(row[3]),
                                          erased_at.replace(tzinfo=UTC)))
    return _Live(instance[0] if instance else None, entries)


def restore(config: Config, backup_dir: Path, clock: Clock, *, horizon: timedelta | None = None,
            events_progress: Report | None = None, erasures_progress: Report | None = None) -> Restored:
    """``horizon``: refuse a backup older than this (the erasure horizon: keep + rotation, ``backup/horizon.py``).

    ``events_progress``: (audit events verified, events in the backup) as its log is walked (step 2);
    ``erasures_progress``: (ledger entries re-applied, entries in all) as they are (step 3)."""
    if config.store.is_postgres:
        raise BackupError(POSTGRES_MESSAGE)
    with exclusive(config.instance_dir, "restoring a backup"):
        live = _live_state(config)
        if horizon is not None:
            _refuse_past_horizon(backup_dir, horizon, clock)
        verified = _verify(config, backup_dir, live, events_progress)
        staging = config.database_path.with_name(config.database_path.name + ".restoring")
        _remove_with_sidecars(staging)
        try:
            applied = _build_staging(config, verified, staging, live, clock, erasures_progress)
            archived, archive = _archive_live_tail(config, verified.manifest.audit_seq, clock)
            _swap(staging, config.database_path)
        except BaseException:
            _remove_with_sidecars(staging)
            raise
        _witness_restore(config, verified.manifest.audit_seq, archived, clock)
        path = ledger.ledger_path(config.database_path)
        everything = {e.data_key_id: e for e in live.entries} | applied[2]
        for each in (path, ledger.witness_copy_path(config.witness_path)):
            in_file = {e.data_key_id for e in ledger.read_file(each)}
            each.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            ledger.append_lines(each, (e.line() for k, e in everything.items() if k not in in_file))
    return Restored(verified, applied[0], applied[1], len(everything), archived, archive)


def _refuse_past_horizon(backup_dir: Path, horizon: timedelta, clock: Clock) -> None:
    made = backup_time(read_manifest(backup_dir))
    age = clock() - made
    if age > horizon:
        raise BackupError(f"{backup_dir} was made {made:%d %B %Y}, {age.days} days ago: older than the erasure "
                          f"horizon ({horizon.days} days). Every copy older than that should already be gone, and "
                          "answers people had erased may be readable in it. It is not restored. Nothing was changed.")


def _witness_restore(config: Config, backup_seq: int, archived: int, clock: Clock) -> None:
    """Tell the witness the log went back on purpose (signed), then sign the restored log's head.

    Without the note, the restored log — shorter than what the witness last
    recorded — would read exactly like an attacker's rollback.
    """
    signer = Signer(config.secrets.audit_signing.value)
    witness = Witness(config.witness_path)
    engine = open_engine(config.database_path, config.secrets.database.value)
    try:
        with read(engine) as connection:
            instance = instance_id(connection)
        at = clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        witness.record(RestoreNote(instance, at, backup_seq, archived, signer.public_key).signed_by(signer))
        sign_and_witness(engine, AuditLog(config.secrets.audit_chain.value, clock), signer, witness)
    finally:
        engine.dispose()


def _build_staging(config: Config, verified: Verified, staging: Path, live: _Live, clock: Clock,
                   progress: Report | None) -> tuple[int, int, dict[str, ledger.LedgerEntry]]:
    shutil.copyfile(verified.directory / "casefeedback.db", staging)
    os.chmod(staging, 0o600)
    current = config.secrets.database.value
    if verified.database_key != current:
        rekey_file(staging, verified.database_key, current)
    engine = open_engine(staging, current)
    try:
        migrate.upgrade(engine)
        audit = AuditLog(config.secrets.audit_chain.value, clock)
        with read(engine) as connection:
            own = ledger.read_table(connection)
        entries = {e.data_key_id: e for e in [*live.entries, *own]}
        with write(engine) as connection:
            applied = ledger.apply(connection, entries.values(), progress)
            instance = connection.execute(select(instance_identity.c.instance_id)).scalar()
            audit.append(connection, AuditEvent(
                action=Action.BACKUP_RESTORE, outcome="success", actor_role="cli", object_type="backup",
                object_id=verified.directory.name[:36],
                detail={"backup_created_at": verified.manifest.created_at, "instance": instance,
                        "backup_audit_seq": verified.manifest.audit_seq, "erasures_reapplied": applied.data_keys,
                        "fields_reapplied": applied.fields, "ledger_entries": len(entries)}))
        truncate_wal(engine)
    finally:
        engine.dispose()
    return applied.data_keys, applied.fields, entries


def _archive_live_tail(config: Config, backup_seq: int, clock: Clock) -> tuple[int, Path | None]:
    """The live log's events the backup does not have: kept, never silently lost by a restore."""
    path = config.database_path
    if not path.exists():
        return 0, None
    try:
        engine = open_engine(path, config.secrets.database.value)
    except Exception:  # unreadable live database: nothing can be archived
        return 0, None
    try:
        with read(engine) as connection:
            rows = connection.execute(select(audit_events).where(audit_events.c.seq > backup_seq)
                                      .order_by(audit_events.c.seq)).all()
    finally:
        engine.dispose()
    if not rows:
        return 0, None
    directory = config.instance_dir / ARCHIVE_DIR
    directory.mkdir(mode=0o700, exist_ok=True)
    target = directory / f"replaced-{clock().strftime('%Y%m%dT%H%M%S%fZ')}.jsonl"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(dict(row._mapping), ensure_ascii=True, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return len(rows), target


def _swap(staging: Path, live: Path) -> None:
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            live.with_name(live.name + suffix).unlink()
    os.replace(staging, live)
    for suffix in ("-wal", "-shm", *WRITER_LOCK_SUFFIXES):
        with contextlib.suppress(FileNotFoundError):
            staging.with_name(staging.name + suffix).unlink()
    fd = os.open(live.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_with_sidecars(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", *WRITER_LOCK_SUFFIXES):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()


__all__ = ["BackupError", "Restored", "database_keys", "read_manifest", "restore", "verify"]
