"""Everything specific to SQLCipher/SQLite lives here, so PostgreSQL can be added
beside it without touching the services."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Mapping, Sequence
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


# --- retention, backups and keys ---

# TRUNCATE: copy every frame into the database and cut the WAL file to zero
# bytes, so page images from before an erasure do not linger beside it.
_WAL_TRUNCATE = "PRAGMA wal_checkpoint(TRUNCATE)"


def truncate_wal(engine: Engine, attempts: int = 20) -> bool:
    """Checkpoint and empty the write-ahead log; False if readers kept it busy throughout."""
    import time

    for attempt in range(attempts):
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(_WAL_TRUNCATE)
            row = cursor.fetchone()
            busy = row is None or row[0]
            cursor.close()
        finally:
            raw.close()
        if not busy:
            return True
        time.sleep(0.05 * (attempt + 1))
    return False


_WAL_PASSIVE = "PRAGMA wal_checkpoint(PASSIVE)"


def checkpoint_wal(engine: Engine) -> None:
    """Copy what the write-ahead log holds into the database, waiting for nobody (a PASSIVE checkpoint).

    SQLite does this itself in the commit that takes the log past 1000 pages,
    while that writer still holds the write lock. A job that writes a lot (the
    retention purge) calls this between its transactions, outside the lock, so
    that neither its commits nor a sender's have to.
    """
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(_WAL_PASSIVE)
        cursor.close()
    finally:
        raw.close()


def export_database(dbapi_connection: Any, target: Path, key: bytes,
                    snapshot_queries: Sequence[str] = ()) -> list[list[tuple[Any, ...]]]:
    """Copy the connected database into a new file ``target`` under ``key`` (SQLCipher's sqlcipher_export).

    ``snapshot_queries`` run in the same read transaction as the export, so
    what they return describes exactly the copy (e.g. its audit head). The
    export reads one consistent snapshot while the application keeps writing.
    """
    cursor = dbapi_connection.cursor()
    try:
        # ATTACH and the new file's settings must come before the transaction.
        cursor.execute("ATTACH DATABASE ? AS casefeedback_export KEY ?", (str(target), raw_key_pragma_value(key)))
        try:
            # As on a new database: free pages go back to the OS (see new_database_statements).
            cursor.execute("PRAGMA casefeedback_export.auto_vacuum = FULL")
            cursor.execute(f"PRAGMA casefeedback_export.application_id = {APPLICATION_ID}")
            cursor.execute("BEGIN")
            try:
                results = [cursor.execute(query).fetchall() for query in snapshot_queries]
                cursor.execute("SELECT sqlcipher_export('casefeedback_export')")
            finally:
                cursor.execute("COMMIT")
        finally:
            cursor.execute("DETACH DATABASE casefeedback_export")
    finally:
        cursor.close()
    return results


INTEGRITY_CHECKS = ("PRAGMA cipher_integrity_check", "PRAGMA integrity_check")


def integrity_problems(dbapi_connection: Any) -> list[str]:
    """What SQLCipher's page MACs and SQLite's structure check find wrong; empty when sound."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(INTEGRITY_CHECKS[0])
        problems = [str(row[0]) for row in cursor.fetchall()]
        cursor.execute(INTEGRITY_CHECKS[1])
        problems += [str(row[0]) for row in cursor.fetchall() if row[0] != "ok"]
    finally:
        cursor.close()
    return problems


def open_readonly(path: Path, key: bytes) -> Any:
    """A read-only DB-API connection to a SQLCipher file (a backup under check): nothing, not even
    the journal mode in its header, is written to it."""
    from urllib.parse import quote

    import sqlcipher3

    connection = sqlcipher3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, check_same_thread=False)
    try:
        connection.execute(f"PRAGMA key = \"{raw_key_pragma_value(key)}\"")
        verify_readable(connection, str(path))
    except BaseException:
        connection.close()
        raise
    return connection


def has_table(dbapi_connection: Any, name: str) -> bool:
    """Whether a copy opened with ``open_readonly`` has this table (a backup from before a migration)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return cursor.fetchone() is not None
    finally:
        cursor.close()


def is_ours(dbapi_connection: Any) -> bool:
    """Whether the connected file carries casefeedback's application id (not merely opens)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA application_id")
        return bool(cursor.fetchone()[0] == APPLICATION_ID)
    finally:
        cursor.close()


def rekey_file(path: Path, old_key: bytes, new_key: bytes) -> None:
    """Re-encrypt the file at ``path`` (not in use by anything) from ``old_key`` to ``new_key``."""
    import sqlcipher3

    connection = sqlcipher3.connect(str(path))
    try:
        connection.execute(f"PRAGMA key = \"{raw_key_pragma_value(old_key)}\"")
        rekey(connection, new_key)
    finally:
        connection.close()


def rekey(dbapi_connection: Any, new_key: bytes) -> None:
    """Re-encrypt every page of the connected database under ``new_key``, in place."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(rekey_statement(new_key))
    finally:
        cursor.close()


def json_field(column: Any, key: str) -> Any:
    """SQL for one top-level key of a JSON text column (the audit detail), as text."""
    from sqlalchemy import func

    return func.json_extract(column, f"$.{key}")


def insert_or_update(table: Any, keys: Sequence[str], updates: Callable[[Any], Mapping[str, Any]]) -> Any:
    """An INSERT that updates the existing row instead where one has the same ``keys``.

    ``updates`` receives the row that was offered (SQL's EXCLUDED; PostgreSQL
    spells it the same way) and returns the columns to set, e.g. a counter
    plus the offered amount.
    """
    from sqlalchemy.dialects.sqlite import insert

    statement = insert(table)
    return statement.on_conflict_do_update(index_elements=list(keys), set_=dict(updates(statement.excluded)))


# The audit chain a write transaction appends to (audit/log.py), with the newest
# event number. The chains are rows made by migration 0014; a writer prefers
# the one its process id picks. On SQLite the write lock already orders writers,
# so any chain would do and the newest number is read under that lock. On
# PostgreSQL a transaction takes any chain no other transaction holds (SKIP
# LOCKED), so writers never queue on one head row, and numbers come from a
# sequence (they may then have gaps from rolled-back transactions; verifying
# relies on each chain's own positions, never on the log's numbers being gapless).
_AUDIT_LANE = ("SELECT chain, seq, mac, {last} FROM audit_chains WHERE chain > 0 ORDER BY chain = "
               "(:writer % (SELECT count(*) FROM audit_chains WHERE chain > 0)) + 1 DESC, chain LIMIT 1")


def audit_lane_sql(dialect_name: str) -> str:
    if dialect_name == "postgresql":
        return _AUDIT_LANE.format(last="NULL") + " FOR UPDATE SKIP LOCKED"
    return _AUDIT_LANE.format(last="(SELECT coalesce(max(seq), 0) FROM audit_events)")


def audit_lane_wait_sql(dialect_name: str) -> str | None:
    """When every chain is held (PostgreSQL only): wait for this writer's own."""
    if dialect_name == "postgresql":
        return _AUDIT_LANE.format(last="NULL") + " FOR UPDATE"
    return None


def audit_numbers_sql(dialect_name: str) -> str | None:
    """The next ``:n`` event numbers, or None where the lane statement's newest number is to be counted on."""
    if dialect_name == "postgresql":
        return "SELECT nextval('audit_events_seq') FROM generate_series(1, :n)"
    return None
