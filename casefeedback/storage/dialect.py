"""Everything specific to SQLCipher/SQLite lives here, so PostgreSQL can be added
beside it without touching the services."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection

# 'CFDB': written into the (encrypted) header so that a SQLCipher file made by
# something else is recognised as "not a casefeedback database".
APPLICATION_ID = 0x43464442
BUSY_TIMEOUT_MS = 5000

CONNECTION_PRAGMAS = (
    # Overwrite deleted content with zeros: erased fields must not linger in
    # free pages of the file (crypto-shredding is the first line, this the second).
    "PRAGMA secure_delete = ON",
    "PRAGMA foreign_keys = ON",
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    # WAL lets readers proceed while one writer commits; NORMAL is durable
    # against application crashes, and against power loss up to the last checkpoint.
    "PRAGMA synchronous = NORMAL",
    # Temporary tables and sort spills stay in memory, never in a plaintext temp file.
    "PRAGMA temp_store = MEMORY",
)


class StoreOpenError(Exception):
    """The database cannot be opened. The message is one sentence a person can act on."""


def raw_key_pragma_value(key: bytes) -> str:
    # A raw key (x'…') skips SQLCipher's per-open PBKDF2 (~100 ms each): the key
    # is already 256 random bits, so key stretching would add cost, not strength.
    return f"x'{key.hex()}'"


def verify_readable(dbapi_connection: Any, path: str) -> None:
    """Fail before anything is written if the key is wrong or the file is not ours."""
    cursor = dbapi_connection.cursor()
    # SQLCipher would otherwise print its own multi-line diagnostics to stderr;
    # the one sentence below is what a person needs.
    cursor.execute("PRAGMA cipher_log_level = NONE")
    try:
        cursor.execute("SELECT count(*) FROM sqlite_master")
        cursor.fetchone()
        cursor.execute("PRAGMA application_id")
        application_id = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM sqlite_master")
        table_count = cursor.fetchone()[0]
    except Exception as error:  # the driver raises DatabaseError("file is not a database")
        raise StoreOpenError(
            f"{path} cannot be opened with the configured database key: "
            "either the key is wrong or the file is not a casefeedback database."
        ) from error
    finally:
        cursor.close()
    if application_id not in (0, APPLICATION_ID) or (application_id == 0 and table_count):
        raise StoreOpenError(f"{path} opens with the database key but is not a casefeedback database.")


def install_connection_hooks(engine: Engine, path: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        verify_readable(dbapi_connection, path)
        # Take transaction control from the driver, so that BEGIN is ours (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in CONNECTION_PRAGMAS:
            cursor.execute(pragma)
        # Only takes effect on a new file (before the first table); see migration 0001.
        cursor.execute("PRAGMA auto_vacuum = FULL")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A writer takes the write lock at BEGIN, not at its first INSERT: a
        # deferred reader that later writes can fail with SQLITE_BUSY that no
        # busy timeout can cure (its snapshot is stale).
        if connection.get_execution_options().get("write"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


class WriterLock:
    """One writer at a time across every process and thread using this file.

    SQLite admits one writer anyway; a second one waiting on SQLITE_BUSY is put
    to sleep by SQLite's busy handler in growing steps (1, 2, 5, 10 … 100 ms),
    which wastes most of the wait. A kernel file lock wakes the next writer the
    moment the previous one commits, so throughput and tail latency follow the
    length of the transaction, not the busy handler's schedule.
    """

    def __init__(self, database: Path) -> None:
        self._path = database.with_name(database.name + "-writer.lock")
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _descriptor(self) -> int:
        # A forked child must not share the parent's open file description
        # (flock would then treat both as one holder), so reopen after a fork.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None


def new_database_statements(dialect_name: str) -> tuple[str, ...]:
    """Run by the first migration, before any table exists."""
    if dialect_name != "sqlite":
        return ()
    return (
        # Recognise our own file later (see verify_readable).
        f"PRAGMA application_id = {APPLICATION_ID}",
        # Free pages go back to the OS instead of lingering, so erased ciphertext
        # does not survive in the file's free list (secure_delete zeroes them too).
        "PRAGMA auto_vacuum = FULL",
    )


def rekey_statement(new_key: bytes) -> str:
    return f"PRAGMA rekey = \"{raw_key_pragma_value(new_key)}\""
