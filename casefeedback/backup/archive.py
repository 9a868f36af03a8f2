"""Making and verifying backups: an encrypted copy of the database and a signed manifest.

A backup is a directory holding

* ``casefeedback.db`` — a SQLCipher export of one consistent snapshot of the
  live database, encrypted under the database key (as the database is), and
* ``manifest.json`` — what a restore must check before trusting the copy: the
  instance it came from, when, the schema revision, the audit head it
  contains, the copy's size and SHA-256, a key check of the database key, and
  the key-encryption keys its data keys need; signed (Ed25519) with the
  instance's audit signing key, so a copy from another instance, or one altered
  or cut short, is refused.

The data keys inside are wrapped by key-encryption keys that are *not* in the
backup; the instance's secrets are backed up separately (SECURITY.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.actions import Action
from casefeedback.audit.checkpoints import Signer, signature_valid
from casefeedback.audit.walk import HEADS_SQL, LAST_SEQ_SQL, heads_digest, walk_dbapi
from casefeedback.crypto.rotation import wrapped_tables
from casefeedback.retention import ledger
from casefeedback.storage.dialect import export_database, integrity_problems, is_ours, open_readonly
from casefeedback.storage.engine import current_key, database_file, read, write

FORMAT = "casefeedback-backup/1"
DATABASE_FILE = "casefeedback.db"
MANIFEST_FILE = "manifest.json"
_DOMAIN = b"casefeedback backup manifest v1\n"
_KEY_CHECK = b"casefeedback database key check v1"
# Read in the export's own transaction: they describe exactly the copy.
def _snapshot() -> tuple[str, ...]:
    kek_ids = " UNION ".join(f"SELECT DISTINCT kek_id FROM {spec.table}"  # noqa: S608 — table names from code
                             for spec, _table in wrapped_tables())
    return (HEADS_SQL, "SELECT instance_id FROM instance_identity", kek_ids,
            "SELECT count(*) FROM erased_keys", "SELECT version_num FROM alembic_version", LAST_SEQ_SQL)


class BackupError(Exception):
    """A backup cannot be made, trusted or restored; the message says why. Nothing was changed."""


# Said by `backup`, `restore` and the worker's backup round on PostgreSQL, not a failure on a missing file.
POSTGRES_MESSAGE = ("on PostgreSQL, backups are the operator's (pg_dump, or the server's own base backups and "
                    "point-in-time recovery): casefeedback backs up and restores only its SQLCipher file. "
                    "Nothing was changed.")


def database_key_check(key: bytes) -> str:
    return hmac.digest(key, _KEY_CHECK, hashlib.sha256).hex()[:32]


@dataclass(frozen=True)
class Manifest:
    instance_id: str
    created_at: str
    schema_revision: str
    audit_seq: int
    audit_mac: str
    database_size: int
    database_sha256: str
    database_key_check: str
    kek_ids: tuple[str, ...]
    erased_keys: int
    public_key: str
    signature: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def signed_part(self) -> dict[str, Any]:
        return {"format": FORMAT, "instance_id": self.instance_id, "created_at": self.created_at,
                "schema_revision": self.schema_revision, "audit_seq": self.audit_seq, "audit_mac": self.audit_mac,
                "database": {"file": DATABASE_FILE, "size": self.database_size, "sha256": self.database_sha256},
                "database_key_check": self.database_key_check, "kek_ids": list(self.kek_ids),
                "erased_keys": self.erased_keys, "public_key": self.public_key}

    def message(self) -> bytes:
        return _DOMAIN + json.dumps(self.signed_part(), sort_keys=True, separators=(",", ":")).encode()

    def to_json(self) -> str:
        return json.dumps({**self.signed_part(), "signature": self.signature}, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a casefeedback backup manifest")
        database = data["database"]
        return cls(str(data["instance_id"]), str(data["created_at"]), str(data["schema_revision"]),
                   int(data["audit_seq"]), str(data["audit_mac"]), int(database["size"]),
                   str(database["sha256"]), str(data["database_key_check"]),
                   tuple(str(k) for k in data["kek_ids"]), int(data["erased_keys"]), str(data["public_key"]),
                   str(data["signature"]))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


INCOMPLETE = ".incomplete-"


def create_backup(engine: Engine, database_path: Path, database_key: bytes, audit: AuditLog, signer: Signer,
                  destination: Path, *, actor_role: str = "cli",
                  progress: Callable[[int, int], None] | None = None) -> tuple[Path, Manifest]:
    """Export one consistent snapshot to a new directory under ``destination``; sign its manifest.

    Written under a ``.incomplete-`` name and renamed when whole: a crash or a full disk
    midway leaves nothing that looks like a backup (the next scheduled run removes it).
    ``progress``: told (rows copied, rows in the snapshot) as the export goes, a table at a time."""
    if database_file(engine) is None:
        raise BackupError(POSTGRES_MESSAGE)
    with read(engine) as connection:
        ledger.sync_file(connection, ledger.ledger_path(database_path))
    stamp = audit.now().strftime("%Y%m%dT%H%M%S%fZ")
    destination.mkdir(parents=True, exist_ok=True, mode=0o700)
    # The time sorts backups; the suffix keeps two in one microsecond (or a frozen test clock) apart.
    final = destination / f"casefeedback-{stamp}-{os.urandom(2).hex()}"
    directory = destination / (INCOMPLETE + final.name)
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError:
        raise BackupError(f"{directory} already exists; try again in a moment") from None
    target = directory / DATABASE_FILE
    raw = engine.raw_connection()
    # The key this very connection opened the live file with, not the one given: after an online
    # re-key (`keys rekey-db`) a long-running worker's configuration still holds the old key, which
    # is destroyed — a backup under it could never be restored.
    database_key = current_key(engine)
    try:
        heads, instance, keks, erased, revision, last = export_database(raw.dbapi_connection, target, database_key,
                                                                        _snapshot(), progress)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)  # never leave half a backup that looks like one
        raise
    finally:
        raw.close()
    kek_ids = tuple(sorted(str(row[0]) for row in keks))
    os.chmod(target, 0o600)
    _fsync(target)
    manifest = signer_sign(signer, Manifest(
        str(instance[0][0]), audit.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        # The audit log as of the copy: its newest event's number, and one digest of every writer chain's head.
        ",".join(sorted(str(row[0]) for row in revision)), int(last[0][0]) if last else 0,
        heads_digest({int(r[0]): (int(r[1]), str(r[2])) for r in heads}), target.stat().st_size, sha256_of(target),
        database_key_check(database_key), kek_ids, int(erased[0][0]), signer.public_key))
    try:
        write_manifest(directory, manifest)
        os.rename(directory, final)
        _fsync(destination)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    directory = final
    with write(engine) as connection:
        audit.append(connection, AuditEvent(action=Action.BACKUP_CREATE, outcome="success", actor_role=actor_role,
                                            object_type="backup", object_id=stamp[:36],
                                            detail={"audit_seq": manifest.audit_seq, "bytes": manifest.database_size,
                                                    "sha256": manifest.database_sha256[:16]}))
    return directory, manifest


def write_manifest(directory: Path, manifest: Manifest) -> None:
    fd = os.open(directory / MANIFEST_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(manifest.to_json())
        handle.flush()
        os.fsync(handle.fileno())


def signer_sign(signer: Signer, manifest: Manifest) -> Manifest:
    from dataclasses import replace

    return replace(manifest, signature=signer.sign_bytes(manifest.message()))


@dataclass(frozen=True)
class Verified:
    directory: Path
    manifest: Manifest
    database_key: bytes  # the key the copy opens with (the current one, or an earlier one kept on disk)
    events: int


def read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST_FILE
    if not directory.is_dir():
        raise BackupError(f"{directory} is not a backup directory (it should hold {MANIFEST_FILE} and "
                          f"{DATABASE_FILE})")
    try:
        return Manifest.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{directory} has no {MANIFEST_FILE}: it is not a casefeedback backup") from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise BackupError(f"{path} is not a complete casefeedback backup manifest (cut short or altered)") from None


def verify_backup(directory: Path, *, public_key: str, instance_id: str | None, database_keys: list[bytes],
                  chain_key: bytes, kek_ids: set[str], progress: Callable[[int, int], None] | None = None) -> Verified:
    """Every check a restore relies on; raises BackupError naming the first that fails. Reads only.

    ``progress``: told (audit events verified, events in the copy) as its log is walked, the last check."""
    manifest = read_manifest(directory)
    if not signature_valid(manifest.public_key, manifest.signature, manifest.message()):
        raise BackupError(f"the manifest of {directory} does not match its signature: it was altered")
    if manifest.public_key != public_key:
        raise BackupError(f"{directory} was not made by this instance (its manifest is signed by another audit "
                          "signing key): it is a backup of another instance, or this instance's keys changed")
    if instance_id is not None and manifest.instance_id != instance_id:
        raise BackupError(f"{directory} is a backup of another instance ({manifest.instance_id}; this one is "
                          f"{instance_id})")
    copy = directory / DATABASE_FILE
    if not copy.is_file():
        raise BackupError(f"{directory} has no {DATABASE_FILE}")
    size = copy.stat().st_size
    if size != manifest.database_size:
        raise BackupError(f"{copy} is {size} bytes but the manifest says {manifest.database_size}: the backup is "
                          "truncated or incomplete")
    if sha256_of(copy) != manifest.database_sha256:
        raise BackupError(f"{copy} does not match the SHA-256 in its manifest: it was altered or damaged")
    key = next((k for k in database_keys if database_key_check(k) == manifest.database_key_check), None)
    if key is None:
        raise BackupError(f"{directory} was made under a database key this instance no longer holds "
                          "(see `casefeedback keys rekey-db` in SECURITY.md: earlier keys are kept as "
                          "database.key.previous-*)")
    missing = sorted(set(manifest.kek_ids) - kek_ids)
    if missing:
        raise BackupError(f"{directory} needs key-encryption key(s) {', '.join(missing)}, which this instance no "
                          "longer holds (retired or lost): its answers could not be opened, so it is not restored")
    events = _check_copy(copy, key, manifest, chain_key, progress)
    return Verified(directory, manifest, key, events)


def _check_copy(copy: Path, key: bytes, manifest: Manifest, chain_key: bytes,
                progress: Callable[[int, int], None] | None) -> int:
    try:
        connection = open_readonly(copy, key)
    except Exception as error:  # StoreOpenError and driver errors alike: not usable
        raise BackupError(f"{copy} cannot be opened as a casefeedback database: {error}") from None
    try:
        problems = integrity_problems(connection)
        if problems:
            raise BackupError(f"{copy} is damaged: {problems[0]}")
        if not is_ours(connection):
            raise BackupError(f"{copy} is not a casefeedback database")
        heads = {int(r[0]): (int(r[1]), str(r[2])) for r in connection.execute(HEADS_SQL).fetchall()}
        # The fast walk (MACs over the inputs the database makes), as `audit verify` walks the live log.
        report = walk_dbapi(connection, "sqlite", chain_key, heads, {}, progress)
    except BackupError:
        raise
    except Exception as error:  # a damaged page surfaces as a driver error
        raise BackupError(f"{copy} cannot be read: it is damaged ({type(error).__name__})") from None
    finally:
        connection.close()
    if not report.ok:
        raise BackupError(f"the audit log inside {copy} is not intact: {report.problem}")
    if report.last_mac != manifest.audit_mac:
        raise BackupError(f"the audit log inside {copy} is not the one its manifest describes (its chains' heads "
                          "differ): the copy was altered")
    if report.last_seq != manifest.audit_seq:
        raise BackupError(f"{copy} holds {report.last_seq} audit events but its manifest says {manifest.audit_seq}")
    return report.checked


def backup_time(manifest: Manifest) -> datetime:
    return datetime.fromisoformat(manifest.created_at.replace("Z", "+00:00"))
