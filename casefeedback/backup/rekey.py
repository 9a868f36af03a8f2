"""Re-keying the database (SQLCipher ``PRAGMA rekey``), only after a backup that verifies.

The new key is written to ``database.key.new`` *before* the database is
re-encrypted, and swapped in after: if the process dies in between, running
``casefeedback keys rekey-db`` again finds which key the file now opens with
and finishes (or starts over), so the database is never left under a key
nobody holds. The old key is kept as ``database.key.previous-<time>`` because
the backups made under it need it; destroying it later shreds those backups.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.actions import Action
from casefeedback.audit.checkpoints import Signer
from casefeedback.backup.archive import BackupError, create_backup
from casefeedback.backup.lock import exclusive
from casefeedback.backup.restore import verify
from casefeedback.clock import Clock
from casefeedback.config import Config
from casefeedback.instance import secrets_dir, write_secret_file
from casefeedback.storage.dialect import StoreOpenError, rekey, truncate_wal
from casefeedback.storage.engine import open_engine, write

NEW_KEY_FILE = "database.key.new"


class RekeyRefused(Exception):
    """The database cannot be re-keyed now; nothing was changed."""


def _read_key(path: Path) -> bytes:
    for line in path.read_text(encoding="ascii", errors="replace").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return bytes.fromhex(line)
    raise RekeyRefused(f"{path} holds no key")


def _opens_with(database: Path, key: bytes) -> bool:
    try:
        engine = open_engine(database, key)
    except StoreOpenError:
        return False
    engine.dispose()
    return True


def rekey_database(config: Config, clock: Clock, progress: Callable[[str], None] = lambda _: None) -> str:
    current = config.secrets.database
    if current.path is None:
        raise RekeyRefused("the database key comes from CASEFEEDBACK_DATABASE_KEY: re-key by hand as SECURITY.md "
                           "describes (this command manages key files). Nothing was changed.")
    database, directory = config.database_path, secrets_dir(config.instance_dir)
    new_path = directory / NEW_KEY_FILE
    with exclusive(config.instance_dir, "re-keying the database"):
        if new_path.exists():
            pending = _read_key(new_path)
            if _opens_with(database, pending):
                _swap_keys(current.path, new_path, clock)
                _audit(config, pending, clock, "resumed")
                return "Finished an interrupted re-key: the database opens with the new key, now in database.key."
            _destroy(new_path)
        old_key = current.value
        backup_dir = _verified_backup(config, old_key, clock)
        progress(f"Verified backup written: {backup_dir}")
        new_key = os.urandom(32)
        write_secret_file(new_path, "database", new_key,
                          "development" if current.origin == "development" else "provisioned")
        engine = open_engine(database, old_key)
        try:
            truncate_wal(engine)
            raw = engine.raw_connection()
            try:
                rekey(raw.dbapi_connection, new_key)
            finally:
                raw.close()
        finally:
            engine.dispose()
        if not _opens_with(database, new_key):
            raise RekeyRefused("the database does not open with the new key after PRAGMA rekey; the new key is "
                               f"kept in {new_path} and the old one in {current.path}: see SECURITY.md")
        _swap_keys(current.path, new_path, clock)
        _audit(config, new_key, clock, "success", backup=backup_dir.name)
    return ("The database is re-encrypted under a new key (instance/secrets/database.key); the old key is kept "
            "as database.key.previous-* for the backups made under it.")


def _verified_backup(config: Config, key: bytes, clock: Clock) -> Path:
    engine = open_engine(config.database_path, key)
    try:
        directory, _ = create_backup(engine, config.database_path, key, AuditLog(config.secrets.audit_chain.value,
                                                                                  clock),
                                     Signer(config.secrets.audit_signing.value), config.instance_dir / "backups")
    finally:
        engine.dispose()
    try:
        verify(config, directory)
    except BackupError as error:
        raise RekeyRefused(f"the backup taken before re-keying does not verify, so nothing was re-keyed: {error}") \
            from None
    return directory


def _swap_keys(current: Path, new: Path, clock: Clock) -> None:
    previous = current.with_name(f"database.key.previous-{clock().strftime('%Y%m%dT%H%M%SZ')}")
    os.replace(current, previous)
    os.replace(new, current)
    fd = os.open(current.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _audit(config: Config, key: bytes, clock: Clock, outcome: str, **detail: str) -> None:
    engine = open_engine(config.database_path, key)
    try:
        with write(engine) as connection:
            AuditLog(config.secrets.audit_chain.value, clock).append(connection, AuditEvent(
                action=Action.KEYS_REKEY_DB, outcome=outcome, actor_role="cli", object_type="database", detail=detail))
    finally:
        engine.dispose()


def _destroy(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        size = path.stat().st_size
        with path.open("r+b") as handle:
            handle.write(b"\0" * size)
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
