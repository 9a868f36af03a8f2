"""Everything specific to one engine lives here: SQLCipher/SQLite (the default) and PostgreSQL
(CASEFEEDBACK_DATABASE_URL), so the services never ask which one they are on."""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, Float, Integer, Text, event, literal, literal_column, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

# 'CFDB': written into the (encrypted) header so that a SQLCipher file made by
# something else is recognised as "not a casefeedback database".
APPLICATION_ID = 0x43464442
BUSY_TIMEOUT_MS = 5000
WAL_BACKSTOP_PAGES = 8000

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
    # SQLite folds the write-ahead log into the file inside the commit that takes it past this many
    # pages, while that writer holds the write lock and every other writer waits (a 4 MB copy and two
    # fsyncs: ~12 ms here). storage.engine.write folds it in after the lock is let go instead, well
    # before this; the threshold stays only as the backstop for a writer that never gets there.
    f"PRAGMA wal_autocheckpoint = {WAL_BACKSTOP_PAGES}",
)


class StoreOpenError(Exception):
    """The database cannot be opened. The message is one sentence a person can act on."""


class UnreadableStore(StoreOpenError):
    """Not one page reads under the key (and these settings): a wrong key, or not a SQLCipher file of ours."""


def raw_key_pragma_value(key: bytes) -> str:
    # A raw key (x'…') skips SQLCipher's per-open PBKDF2 (~100 ms each): the key
    # is already 256 random bits, so key stretching would add cost, not strength.
    return f"x'{key.hex()}'"


# Every page SQLCipher writes is AES-256-CBC encrypted and authenticated with an HMAC; every page it reads
# again (after another process's commit SQLite drops its whole page cache) is checked. SQLCipher 4 uses
# HMAC-SHA512 by default. Files we make use HMAC-SHA256: under a 256-bit key its 256-bit tag is as strong a
# page MAC (SHA-512's longer tag adds nothing a MAC needs here), and with the CPU's SHA extensions it costs
# a third as much per page. Measured with two processes sending side by side: the writer lock held 14 %
# less per send. The setting is SQLCipher's process-wide default, so every file SQLCipher makes for us (a
# new database, a backup's export, an online re-key's copy) gets it.
CIPHER_DEFAULTS = ("PRAGMA cipher_default_hmac_algorithm = HMAC_SHA256",)
# Files made before (SQLCipher 4's own settings: HMAC-SHA512) still open, tried second; a backup taken of
# one, or `casefeedback keys rekey-db`, writes the data into a file of the current kind.
EARLIER_CIPHER = "PRAGMA cipher_compatibility = 4"


@cache
def _cipher_defaults() -> None:
    import sqlcipher3

    connection = sqlcipher3.connect(":memory:")
    try:
        for pragma in CIPHER_DEFAULTS:
            connection.execute(pragma)
    finally:
        connection.close()


def open_keyed(target: str, key: bytes, where: str, **options: Any) -> Any:
    """A DB-API connection to the SQLCipher file ``target`` under ``key``, checked with ``verify_readable``
    (``where`` names the file in its message). A file made with SQLCipher 4's own settings opens too.
    A new, empty file gets the current settings."""
    import sqlcipher3

    _cipher_defaults()
    problem: UnreadableStore | None = None
    for settings in ((), (EARLIER_CIPHER,)):
        connection = sqlcipher3.connect(target, **options)
        try:
            connection.execute(f"PRAGMA key = \"{raw_key_pragma_value(key)}\"")
            for pragma in settings:
                connection.execute(pragma)
            verify_readable(connection, where)
        except UnreadableStore as error:
            connection.close()
            problem = problem or error
            continue
        except BaseException:
            connection.close()
            raise
        return connection
    assert problem is not None  # noqa: S101 - the loop above ran and failed
    raise problem


def page_mac(connection: Connection) -> str | None:
    """How the database file's pages are authenticated (``HMAC_SHA256``, or ``HMAC_SHA512`` for a file made
    before), for `keys status`; None on PostgreSQL, whose files are the operator's to encrypt."""
    if connection.dialect.name != "sqlite":
        return None
    return str(connection.exec_driver_sql("PRAGMA cipher_hmac_algorithm").scalar())


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
        raise UnreadableStore(
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
        # On the cursor (execute_plain): every transaction begins here, a write inside the writer lock.
        execute_plain(connection, "BEGIN IMMEDIATE" if connection.get_execution_options().get("write") else "BEGIN",
                      ())


# The writer lock's files beside the database: the lock itself, and where waiting writers say so.
WRITER_LOCK_SUFFIXES = ("-writer.lock", "-writer.queue")


class WriterLock:
    """One writer at a time across every process and thread using this file.

    SQLite admits one writer anyway; a second one waiting on SQLITE_BUSY is put
    to sleep by SQLite's busy handler in growing steps (1, 2, 5, 10 … 100 ms),
    which wastes most of the wait. A kernel file lock wakes the next writer the
    moment the previous one commits, so throughput and tail latency follow the
    length of the transaction, not the busy handler's schedule.

    A writer that waits says so, for ``others_waiting``: a shared lock on a
    second file while it waits (other processes), a count (other threads). A
    background job asks between its transactions and lets them in first: the
    lock is not first come, first served, and a job that asked again at once
    would win it again and again. Nobody waiting, it carries straight on.
    """

    def __init__(self, database: Path) -> None:
        self._path = database.with_name(database.name + WRITER_LOCK_SUFFIXES[0])
        self._queue_path = database.with_name(database.name + WRITER_LOCK_SUFFIXES[1])
        self._threads = threading.Lock()
        self._counting = threading.Lock()
        self._waiting = 0  # threads of this process waiting for the lock
        self._fds: dict[str, int] = {}
        self._pid = 0

    def __enter__(self) -> None:
        with self._counting:
            self._waiting += 1
        try:
            self._threads.acquire()
            try:
                queue = self._descriptor("queue")
                fcntl.flock(queue, fcntl.LOCK_SH)
                try:
                    fcntl.flock(self._descriptor("lock"), fcntl.LOCK_EX)
                finally:
                    fcntl.flock(queue, fcntl.LOCK_UN)
            except BaseException:
                self._threads.release()
                raise
        finally:
            with self._counting:
                self._waiting -= 1

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            fcntl.flock(self._descriptor("lock"), fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def others_waiting(self) -> bool:
        """Whether another writer, in any process, waits for the lock now (asked without holding it)."""
        if self._waiting:
            return True
        # A description of its own: on the waiters' one, this lock would convert theirs, not test it.
        probe = self._descriptor("probe")
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(probe, fcntl.LOCK_UN)
        return False

    def _descriptor(self, which: str) -> int:
        # A forked child must not share the parent's open file descriptions
        # (flock would then treat both as one holder), so reopen after a fork.
        if self._pid != os.getpid():
            self._fds, self._pid = {}, os.getpid()
        if which not in self._fds:
            path = self._path if which == "lock" else self._queue_path
            self._fds[which] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fds[which]

    def close(self) -> None:
        if self._pid == os.getpid():
            for descriptor in self._fds.values():
                os.close(descriptor)
        self._fds = {}


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
    """Checkpoint and empty the write-ahead log; False if readers kept it busy throughout.

    PostgreSQL: nothing to do here (True). Its write-ahead log and dead row versions are the
    server's to recycle (checkpoints, VACUUM); what an erasure leaves there is ciphertext whose
    data key is already destroyed.
    """
    import time

    if engine.dialect.name != "sqlite":
        return True

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

    SQLite would do this itself in the commit that takes the log past its
    threshold, while that writer still holds the write lock; storage.engine.write
    calls this after the lock is let go instead, so that no writer waits on a
    checkpoint. Writers carry on beside it. Nothing to do on PostgreSQL (its server checkpoints).
    """
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(_WAL_PASSIVE)
        cursor.close()
    finally:
        raw.close()


def export_database(dbapi_connection: Any, target: Path, key: bytes, snapshot_queries: Sequence[str] = (),
                    progress: Callable[[int, int], None] | None = None) -> list[list[tuple[Any, ...]]]:
    """Copy the connected database into a new file ``target`` under ``key`` (SQLCipher's sqlcipher_export).

    ``snapshot_queries`` run in the same read transaction as the export, so
    what they return describes exactly the copy (e.g. its audit head). The
    export reads one consistent snapshot while the application keeps writing.
    ``progress``: told (rows copied, rows in all) as the export goes, a table at a time.
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
                rows = _rows_per_table(cursor) if progress is not None else {}
                with _tables_copied(dbapi_connection, "casefeedback_export", rows, progress):
                    cursor.execute("SELECT sqlcipher_export('casefeedback_export')")
            finally:
                cursor.execute("COMMIT")
        finally:
            cursor.execute("DETACH DATABASE casefeedback_export")
    finally:
        cursor.close()
    return results


def _rows_per_table(cursor: Any) -> dict[str, int]:
    """Every table sqlcipher_export copies, and its rows: in the export's own snapshot, so they are the copy's."""
    names = [str(row[0]) for row in cursor.execute(
        "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name != 'sqlite_sequence' "
        "AND coalesce(rootpage, 1) > 0").fetchall()]
    quoted = {name: '"' + name.replace('"', '""') + '"' for name in names}
    return {name: int(cursor.execute(f"SELECT count(*) FROM main.{quoted[name]}").fetchone()[0])  # noqa: S608
            for name in names}  # names from the database's own schema, quoted


@contextmanager
def _tables_copied(dbapi_connection: Any, into: str, rows: Mapping[str, int],
                   progress: Callable[[int, int], None] | None) -> Iterator[None]:
    """Tell ``progress`` the rows copied while sqlcipher_export runs, a table at a time.

    The export is one statement that copies table after table, each with an
    INSERT … SELECT of its own; SQLite asks the authorizer about each as it is
    prepared — once a table, never per row — so the table it names is the one
    starting, and every table before it is copied. The authorizer allows
    everything: it only listens.
    """
    if progress is None:
        yield
        return
    import sqlcipher3

    total = sum(rows.values())
    copied = starting = 0
    started: set[str] = set()
    failed: list[BaseException] = []

    def listen(action: int, table: str | None, _column: str | None, database: str | None, _by: str | None) -> int:
        nonlocal copied, starting
        if (action == sqlcipher3.SQLITE_INSERT and database == into and table is not None and table in rows
                and table not in started):  # a statement prepared again (schema change) is not a new table
            started.add(table)
            copied, starting = copied + starting, rows[table]
            try:
                progress(copied, total)
            except BaseException as error:  # raised after the export: from here it would read as a denial
                failed.append(error)
        return int(sqlcipher3.SQLITE_OK)

    progress(0, total)
    dbapi_connection.set_authorizer(listen)
    try:
        yield
    finally:
        dbapi_connection.set_authorizer(None)
    if failed:
        raise failed[0]
    progress(total, total)


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


def insertion_order(table: Any, dialect_name: str) -> Any:
    """A column to walk a large table by so that consecutive rows sit together on its pages.

    SQLite: the rowid, the order rows were inserted in and the order of the
    table's own B-tree. A long job that changes rows a few at a time (the
    retention purge) then dirties a page or two per transaction rather than a
    page per row — and on SQLCipher every page a commit writes is encrypted and
    MACed again. PostgreSQL has no such order (and no per-page encryption):
    the primary key.
    """
    if dialect_name == "sqlite":
        return literal_column(f"{table.name}.rowid", Integer)
    return table.c.id


def open_readonly(path: Path, key: bytes) -> Any:
    """A read-only DB-API connection to a SQLCipher file (a backup under check): nothing, not even
    the journal mode in its header, is written to it."""
    from urllib.parse import quote

    return open_keyed(f"file:{quote(str(path))}?mode=ro", key, str(path), uri=True, check_same_thread=False)


def driver_sql(sql: str, paramstyle: str) -> str:
    """SQL written with ``?`` placeholders, in the style of the driver whose cursor runs it.

    The audit walk runs on DB-API cursors directly (a million rows through SQLAlchemy's
    row objects is most of the time), and so does every audit append; SQLite's driver takes ``?``,
    psycopg ``%s``.
    """
    if paramstyle in ("format", "pyformat"):  # psycopg: a literal % is written %% once parameters are given
        return sql.replace("%", "%%").replace("?", "%s")
    return sql


def execute_plain(connection: Connection, sql: str, parameters: Any) -> Any:
    """Run SQL written with ``?`` placeholders on the transaction's own DB-API cursor (a list of tuples: once
    per tuple), in the caller's transaction.

    For the statements every write runs, inside the writer lock (a send's inserts, the draft's erase, the
    audit append, the purge's key destruction and sweep): SQLAlchemy's execution context and result around
    a statement cost about 40 µs each here, against about 3 µs for the statement on the cursor (measured on
    a one-row select), and a send runs about ten. Errors are still SQLAlchemy's (IntegrityError,
    OperationalError …, parameters hidden), and a connection the driver says is lost is invalidated, as
    SQLAlchemy's own execution would. Where something observes every statement (a test counting them, a
    tracer listening for ``before_cursor_execute``), the statement goes through SQLAlchemy, which tells it.
    """
    dialect = connection.dialect
    statement = driver_sql(sql, dialect.paramstyle)
    if connection.dispatch.before_cursor_execute or connection.dispatch.after_cursor_execute:
        return connection.exec_driver_sql(statement, parameters)
    fairy = connection.connection
    cursor = fairy.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if isinstance(parameters, list):
            cursor.executemany(statement, parameters)
        else:
            cursor.execute(statement, parameters)
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, fairy.dbapi_connection, cursor)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(statement, None, error, dialect.loaded_dbapi.Error, hide_parameters=True,
                                  connection_invalidated=lost, dialect=dialect) from error
    return PlainResult(cursor)


class PlainResult:
    """What a statement run by ``execute_plain`` gave: its row count and its rows, as plain tuples."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    def first(self) -> tuple[Any, ...] | None:
        row = self._cursor.fetchone()
        self._cursor.close()  # the rest unread: the statement is done with, as SQLAlchemy's first() does
        return None if row is None else tuple(row)

    def scalars(self) -> list[Any]:
        return [row[0] for row in self._cursor.fetchall()]


def claiming(query: Any, table: Any) -> Any:
    """``query`` locking the rows of ``table`` it returns, and passing over rows another transaction holds.

    PostgreSQL: ``FOR UPDATE OF table SKIP LOCKED``, so any number of workers claim outbox rows at once
    and none claims a row twice. SQLite: the clause is not rendered; one writer at a time already makes
    a claim exclusive there.
    """
    return query.with_for_update(skip_locked=True, of=table)


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
    from urllib.parse import quote

    connection = open_keyed(f"file:{quote(str(path))}?mode=rw", old_key, str(path), uri=True)
    try:
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


class _JsonField(FunctionElement[str]):
    """One top-level key of a JSON text column, as text: json_extract on SQLite, ->> on PostgreSQL."""

    type = Text()
    inherit_cache = True


@compiles(_JsonField, "sqlite")
def _json_field_sqlite(element: _JsonField, compiler: Any, **kw: Any) -> str:
    column, key = element.clauses
    return f"json_extract({compiler.process(column, **kw)}, '$.' || {compiler.process(key, **kw)})"


@compiles(_JsonField, "postgresql")
def _json_field_postgresql(element: _JsonField, compiler: Any, **kw: Any) -> str:
    column, key = element.clauses
    return f"(CAST({compiler.process(column, **kw)} AS json) ->> {compiler.process(key, **kw)})"


def json_field(column: Any, key: str) -> Any:
    """SQL for one top-level key of a JSON text column (the audit detail), as text."""
    return _JsonField(column, literal(key, Text()))


# Times are stored as naive UTC (schema/base.py UTCDateTime) on both engines, so neither needs a
# time zone here: SQLite keeps ISO text, PostgreSQL ``timestamp without time zone``.
class _MonthOf(FunctionElement[str]):
    """The calendar month of a stored time, as "YYYY-MM" text (insight groups by it)."""

    type = Text()
    inherit_cache = True


@compiles(_MonthOf, "sqlite")
def _month_of_sqlite(element: _MonthOf, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"


@compiles(_MonthOf, "postgresql")
def _month_of_postgresql(element: _MonthOf, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM')"


def month_of(column: Any) -> Any:
    return _MonthOf(column)


class _SecondsBetween(FunctionElement[float]):
    """Seconds from one stored time to another (NULL if either is NULL)."""

    type = Float()
    inherit_cache = True


@compiles(_SecondsBetween, "sqlite")
def _seconds_between_sqlite(element: _SecondsBetween, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400)"


@compiles(_SecondsBetween, "postgresql")
def _seconds_between_postgresql(element: _SecondsBetween, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


def seconds_between(start: Any, end: Any) -> Any:
    return _SecondsBetween(start, end)


def insert_or_update(table: Any, keys: Sequence[str], updates: Callable[[Any], Mapping[str, Any]], *,
                     dialect_name: str) -> Any:
    """An INSERT that updates the existing row instead where one has the same ``keys``.

    ``updates`` receives the row that was offered (SQL's EXCLUDED; PostgreSQL
    spells it the same way) and returns the columns to set, e.g. a counter
    plus the offered amount. ``dialect_name``: the connection's, whose own
    INSERT … ON CONFLICT construct is built (each compiles only for its engine).
    """
    from sqlalchemy.dialects import postgresql, sqlite

    statement = (postgresql.insert if dialect_name == "postgresql" else sqlite.insert)(table)
    return statement.on_conflict_do_update(index_elements=list(keys), set_=dict(updates(statement.excluded)))


def insert_if_absent(table: Any, keys: Sequence[str], *, dialect_name: str) -> Any:
    """An INSERT that does nothing where a row with the same ``keys`` exists (its rowcount says which).

    For rows several processes may make at once (each starting instance records the policies it
    loaded): on PostgreSQL two transactions can both see the row missing and both insert.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    statement = (postgresql.insert if dialect_name == "postgresql" else sqlite.insert)(table)
    return statement.on_conflict_do_nothing(index_elements=list(keys))


# The audit chain a write transaction appends to (audit/log.py), with the newest
# event number. The chains are rows made by migration 0014; a writer prefers
# the one its process id picks. On SQLite the write lock already orders writers,
# so any chain would do and the newest number is read under that lock. On
# PostgreSQL a transaction takes any chain no other transaction holds (SKIP
# LOCKED), so writers never queue on one head row, and numbers come from a
# sequence (they may then have gaps from rolled-back transactions; verifying
# relies on each chain's own positions, never on the log's numbers being gapless).
# Run through the driver (``driver_sql``): ``?`` is the writer's number.
_AUDIT_LANE = ("SELECT chain, seq, mac, {last} FROM audit_chains WHERE chain > 0 ORDER BY chain = "
               "(? % (SELECT count(*) FROM audit_chains WHERE chain > 0)) + 1 DESC, chain LIMIT 1")


def audit_lane_sql(dialect_name: str) -> str:
    if dialect_name == "postgresql":
        return _AUDIT_LANE.format(last="NULL") + " FOR UPDATE SKIP LOCKED"
    return _AUDIT_LANE.format(last="(SELECT coalesce(max(seq), 0) FROM audit_events)")


def audit_lane_wait_sql(dialect_name: str) -> str | None:
    """When every chain is held (PostgreSQL only): wait for this writer's own."""
    if dialect_name == "postgresql":
        return _AUDIT_LANE.format(last="NULL") + " FOR UPDATE"
    return None


AUDIT_SEQUENCE = "audit_events_seq"  # also written out in the statements below (a constant, not input)


def audit_numbers_sql(dialect_name: str) -> str | None:
    """The next ``:n`` event numbers, or None where the lane statement's newest number is to be counted on."""
    if dialect_name == "postgresql":
        return "SELECT nextval('audit_events_seq') FROM generate_series(1, :n)"
    return None


def audit_numbers_made(dialect_name: str) -> tuple[str, ...]:
    """Run by migration 0014: on PostgreSQL the sequence ``audit_numbers_sql`` draws from, starting after the
    newest event already in the log (so no number is given twice)."""
    if dialect_name != "postgresql":
        return ()
    return (f"CREATE SEQUENCE {AUDIT_SEQUENCE}", _AUDIT_NUMBERS_PAST_LOG)


_AUDIT_NUMBERS_PAST_LOG = "SELECT setval('audit_events_seq', coalesce(max(seq), 0) + 1, false) FROM audit_events"


def audit_numbers_dropped(dialect_name: str) -> tuple[str, ...]:
    """Undoes ``audit_numbers_made`` (migration 0014's downgrade)."""
    return (f"DROP SEQUENCE {AUDIT_SEQUENCE}",) if dialect_name == "postgresql" else ()


def sequences_advanced(dialect_name: str, tables: Sequence[Any]) -> tuple[str, ...]:
    """Run after rows were copied in with the numbers they had (``export-to-postgres``): each sequence set past
    the largest number copied, so the next one it gives is new (a copied event number given again would make
    two events claim one place in the log; a copied id, a unique-key failure on the next insert).

    PostgreSQL: the audit event numbers (``audit_numbers_sql``) and every serial column of ``tables``.
    SQLite has no sequences: it counts on from max() under its write lock.
    """
    if dialect_name != "postgresql":
        return ()
    statements = [_AUDIT_NUMBERS_PAST_LOG]
    for table in tables:
        column = table.autoincrement_column
        if column is not None:
            # Names from the declared schema (constants), never input.
            statements.append(f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "  # noqa: S608
                              f"coalesce(max({column.name}), 0) + 1, false) FROM {table.name}")
    return tuple(statements)


# Verifying the audit log (audit/walk.py) on SQLite: the database writes each event's MAC input itself —
# json_array over the stored values gives the appender's JSON byte for byte for integers, NULL and ASCII text
# — so a million events cost five values each to fetch instead of fourteen, and no JSON encoding in Python.
# A BLOB would come out as null (as a NULL does), so a row holding one gets no input and is checked the exact
# way; walk.py says why a MAC that matches over this input is as good as the exact check.
_AUDIT_MAC_FIELDS = ("at", "actor_id", "actor_role", "action", "object_type", "object_id", "field_class", "purpose",
                     "outcome", "detail")
_AUDIT_MAC_INPUT = (
    "CASE WHEN " + " AND ".join(f"typeof({c}) != 'blob'" for c in ("chain", "chain_seq", *_AUDIT_MAC_FIELDS))
    + " THEN CASE chain WHEN 0 THEN json_array(seq, {fields}) ELSE json_array(chain, chain_seq, seq, {fields}) END "
    "END").format(fields=", ".join(_AUDIT_MAC_FIELDS))


def audit_mac_input_columns(dialect_name: str) -> str | None:
    """The columns ``chain, chain_seq, seq, mac, <MAC input or NULL>`` for walking the audit log, or None where
    the walk encodes every event itself (PostgreSQL's JSON is laid out differently)."""
    if dialect_name == "postgresql":
        return None
    return f"chain, chain_seq, seq, mac, {_AUDIT_MAC_INPUT}"


def undecodable_text(error: BaseException) -> bool:
    """Whether the SQLite driver failed to read stored text because its bytes are not UTF-8 (nothing
    casefeedback writes: someone put them there)."""
    return "Could not decode to UTF-8" in str(error)


@contextmanager
def forgiving_text(dbapi_connection: Any) -> Iterator[None]:
    """Read text that is not UTF-8 with its bad bytes kept as lone surrogates, instead of failing: the audit
    walk then names that event as edited (no JSON the appender wrote contains one) rather than crashing."""
    before = dbapi_connection.text_factory
    dbapi_connection.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")
    try:
        yield
    finally:
        dbapi_connection.text_factory = before


# --- PostgreSQL (CASEFEEDBACK_DATABASE_URL) ---

# The default isolation, named so it cannot drift: each statement sees what was committed before it,
# and a writer that must not race another takes the row it changes (the audit lanes' FOR UPDATE below).
POSTGRES_ISOLATION = "READ COMMITTED"


def postgres_connect_args(statement_timeout_ms: int, lock_timeout_ms: int,
                          given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Settings every new PostgreSQL connection starts with (libpq's startup options, so no extra round
    trip and no SET that a rolled-back transaction could undo).

    statement_timeout: a runaway query is cut off instead of holding a pooled connection (and its locks) for
    ever; lock_timeout: a writer queued behind a lock gives up with an error the service reports, instead of
    a request that hangs while people wait to send feedback. 0 switches either off (PostgreSQL's meaning).
    ``given``: the URL's own query parameters, which win (its ``options`` are kept, the timeouts added).
    """
    given = given or {}
    timeouts = f"-c statement_timeout={statement_timeout_ms} -c lock_timeout={lock_timeout_ms}"
    defaults = {
        "options": f"{given['options']} {timeouts}" if isinstance(given.get("options"), str) else timeouts,
        "application_name": "casefeedback",
        # A server that does not answer is reported within seconds, not after the kernel's TCP timeout.
        "connect_timeout": 10,
    }
    return {name: value for name, value in defaults.items() if name == "options" or name not in given}


def migration_statements(dialect_name: str) -> tuple[str, ...]:
    """Run at the start of a migration's transaction: a migration rewriting a large table may rightly take
    longer than a request's statement timeout (it still gives up waiting for a lock after lock_timeout)."""
    if dialect_name == "postgresql":
        return ("SET LOCAL statement_timeout = 0",)
    return ()


def postgres_open_error(error: BaseException, database: str | None, host: str | None, *,
                        url_from: str = "CASEFEEDBACK_DATABASE_URL",
                        then: str = "run `casefeedback init`") -> StoreOpenError:
    """One sentence for a PostgreSQL server that cannot be reached or has no such database.

    libpq's own words name the socket or host and the server's reason, never the password; only its
    last line is kept (the rest repeats it or guesses). ``url_from``: where the person gave the URL;
    ``then``: what they do once a missing database is created.
    """
    first_line = (str(error).strip().splitlines() or [""])[0]
    reason = " ".join(first_line.rsplit("failed: ", 1)[-1].split()).removeprefix("FATAL: ") or type(error).__name__
    where = f"the PostgreSQL database {database or '(none named)'} on {host or 'the local socket'}"
    if "does not exist" in reason and "database" in reason:
        return StoreOpenError(f"{where} does not exist: create it (e.g. `createdb {database}` as its owner), "
                              f"then {then}.")
    if "authentication" in reason or "role" in reason or "pg_hba" in reason:
        return StoreOpenError(f"{where} refused the connection ({reason}): check the user and password in "
                              f"{url_from}.")
    return StoreOpenError(f"cannot reach {where} ({reason}): is the server running, and is {url_from} right?")


# --- The worker's leader (PostgreSQL): any number of `casefeedback worker` processes, one running the jobs ---

# A fixed 64-bit key, derived from a constant so that every node agrees on it without configuration and it
# cannot collide by accident with a small hand-picked key another application on the same server might use.
LEADER_LOCK_KEY = int.from_bytes(hashlib.sha256(b"casefeedback.worker.leader").digest()[:8], "big", signed=True)
# Session-level, not transaction-level: held for as long as the leader's own connection lives, and released
# by the server the moment that connection dies (kill -9, a crash, a cut network), so a standby can take over.
_TRY_LEADER_LOCK = "SELECT pg_try_advisory_lock(%(key)s)"
_LEADER_ALIVE = "SELECT 1"


def leader_connect_args(statement_timeout_ms: int, lock_timeout_ms: int,
                        given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The leader lock's connection: the usual start-up settings plus TCP keepalives on both ends.

    The server's (tcp_keepalives_*, set for this session only): a leader whose host vanished without
    closing (power loss, a cut cable) is noticed within about 11 s and its session, and so the lock, ended,
    instead of after the kernel's two-hour default. The client's: the leader's liveness check fails on a
    dead link instead of hanging, so it stands down. Over a Unix socket neither applies (nothing to lose).
    """
    given = given or {}
    server = "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3"
    options = f"{given['options']} {server}" if isinstance(given.get("options"), str) else server
    args = postgres_connect_args(statement_timeout_ms, lock_timeout_ms, {**given, "options": options})
    leader = {"application_name": "casefeedback-worker-leader", "keepalives": 1, "keepalives_idle": 5,
              "keepalives_interval": 2, "keepalives_count": 3,
              # A write the server never acknowledges within 10 s fails the check instead of waiting on.
              "tcp_user_timeout": 10_000}
    # As for the pool: what the URL itself says wins.
    args.update({name: value for name, value in leader.items() if name not in given})
    return args


def try_leader_lock(connection: Connection) -> bool:
    """Take the leader lock on ``connection`` (autocommit) if no other session holds it; never waits."""
    return bool(connection.exec_driver_sql(_TRY_LEADER_LOCK, {"key": LEADER_LOCK_KEY}).scalar())


def leader_alive(connection: Connection) -> None:
    """Raise if the lock's connection is gone (the server then no longer counts this process as leader)."""
    connection.exec_driver_sql(_LEADER_ALIVE).scalar()


# The channel the alert outbox's writers NOTIFY and the leading worker LISTENs on (PostgreSQL only). The
# notification carries no payload at all: it says "look at the outbox", never what is in it or for whom.
OUTBOX_CHANNEL = "casefeedback_outbox"


def wake_deliverers(connection: Connection) -> None:
    """Tell the leading worker's deliverer that the outbox has something new, so it sends at once instead of at its
    next poll. PostgreSQL queues the notification until this transaction commits and drops it on a rollback, so a
    deliverer is never woken for a row it cannot yet see. SQLite has no such channel: its worker polls."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": OUTBOX_CHANNEL})


def listen_for_outbox(dbapi_connection: Any) -> None:
    """Start listening on ``dbapi_connection`` (psycopg, in autocommit) for wake_deliverers' notifications."""
    dbapi_connection.execute(f"LISTEN {OUTBOX_CHANNEL}")


def wait_for_outbox(dbapi_connection: Any, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for a notification; True if one (or more) came, all of them drained.

    A lost connection is raised as ConnectionError, so the caller need not know psycopg's exceptions."""
    import psycopg

    try:
        woken = any(True for _ in dbapi_connection.notifies(timeout=timeout, stop_after=1))
        if woken:  # several commits in a burst need one delivery round, not one each
            for _ in dbapi_connection.notifies(timeout=0.0):
                pass
        return woken
    except psycopg.Error as error:
        raise ConnectionError(type(error).__name__) from error
