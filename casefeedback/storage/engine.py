"""Opening the store: the encrypted SQLCipher file (the default), or PostgreSQL when a URL is given."""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.pool import NullPool, QueuePool

from casefeedback.storage import generations, lock_stats
from casefeedback.storage.dialect import (
    POSTGRES_ISOLATION,
    StoreOpenError,
    WriterLock,
    checkpoint_wal,
    install_connection_hooks,
    leader_connect_args,
    postgres_connect_args,
    postgres_open_error,
)

__all__ = ["Store", "StoreOpenError", "current_key", "database_file", "keep_private", "last_hold", "open_engine",
           "open_leader_engine", "open_postgres", "open_store", "read", "write", "writers_waiting"]

SQLITE_PLAINTEXT_MAGIC = b"SQLite format 3\x00"
# SQLite makes these beside the database, lazily, with the database file's own mode.
COMPANION_SUFFIXES = ("-wal", "-shm")
log = logging.getLogger(__name__)
_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, WriterLock] = weakref.WeakKeyDictionary()
_LOCK_STATS: weakref.WeakKeyDictionary[Engine, lock_stats.WriteStats] = weakref.WeakKeyDictionary()
_KEYS: weakref.WeakKeyDictionary[Engine, generations.DatabaseKey] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Store:
    """Which store an instance uses, and how to open it (Config.store builds it from the settings)."""

    path: Path  # the SQLCipher file; unused on PostgreSQL
    key: bytes = field(repr=False)  # the SQLCipher key; unused on PostgreSQL
    key_file: Path | None = None
    # A PostgreSQL URL (``postgresql+psycopg://…``), or None for the SQLCipher file. It may carry a password.
    url: str | None = field(default=None, repr=False)
    statement_timeout_ms: int = 30_000
    lock_timeout_ms: int = 5_000

    @property
    def is_postgres(self) -> bool:
        return self.url is not None

    @property
    def described(self) -> str:
        """The store in words for a person: the file, or the database's name and host (never the password)."""
        if self.url is None:
            return f"encrypted database {self.path}"
        url = make_url(self.url)
        return f"PostgreSQL database {url.database} on {_host_of(url) or 'the local socket'}"


def open_store(store: Store, *, create: bool = False, follow_rekey: bool = False, pool_size: int = 4) -> Engine:
    """The one way the application opens its database, whichever store the settings choose.

    ``create``: on SQLCipher, make the file if there is none (``casefeedback init``); a PostgreSQL
    database is made by its operator, with the role and grants they choose, never by the application.
    ``follow_rekey``: long-running processes follow an online re-key of the SQLCipher file.
    """
    if store.url is not None:
        return open_postgres(store.url, statement_timeout_ms=store.statement_timeout_ms,
                             lock_timeout_ms=store.lock_timeout_ms, pool_size=pool_size)
    return open_engine(store.path, store.key, create=create, pool_size=pool_size,
                       key_file=store.key_file if follow_rekey else None)


def open_postgres(url: str, *, statement_timeout_ms: int, lock_timeout_ms: int, pool_size: int = 4,
                  url_from: str = "CASEFEEDBACK_DATABASE_URL", then: str = "run `casefeedback init`") -> Engine:
    """A pooled engine on a PostgreSQL database (psycopg 3); fails clearly if it cannot be reached.

    No writer lock and no key: PostgreSQL's own transactions order the writers, and encryption at
    rest is the operator's (SECURITY.md) while every sensitive field stays sealed by crypto/.
    ``url_from``, ``then``: for the failure's sentence (dialect.postgres_open_error).
    """
    target = make_url(url).set(drivername="postgresql+psycopg")
    engine = create_engine(
        target,
        poolclass=QueuePool,
        pool_size=pool_size,
        max_overflow=pool_size,
        # A server restart or a failover leaves dead connections in the pool; each is tested on checkout.
        pool_pre_ping=True,
        # Statement parameters include ciphertext and hashes of bearer secrets;
        # keep them out of exception messages and therefore out of logs.
        hide_parameters=True,
        isolation_level=POSTGRES_ISOLATION,
        connect_args=postgres_connect_args(statement_timeout_ms, lock_timeout_ms, target.query),
    )
    # Open one connection now, so an unreachable server or a missing database fails at start-up.
    try:
        with engine.connect():
            pass
    except OperationalError as error:
        engine.dispose()
        raise postgres_open_error(error.orig or error, target.database, _host_of(target), url_from=url_from,
                                  then=then) from None
    return engine


def open_leader_engine(store: Store) -> Engine:
    """An engine for the worker's leader lock alone: no pool (the lock lives and dies with one connection
    of its own, never lent to a job or pre-pinged away), autocommit (no transaction held open for hours)."""
    if store.url is None:
        raise StoreOpenError("the worker's leader lock needs PostgreSQL (CASEFEEDBACK_DATABASE_URL)")
    target = make_url(store.url).set(drivername="postgresql+psycopg")
    return create_engine(target, poolclass=NullPool, hide_parameters=True, isolation_level="AUTOCOMMIT",
                         connect_args=leader_connect_args(store.statement_timeout_ms, store.lock_timeout_ms,
                                                          target.query))


def _host_of(url: URL) -> str | None:
    """The server's host, or the socket directory of ``?host=/run/postgresql``."""
    host = url.host or url.query.get("host")
    return host if isinstance(host, str) else None


def database_file(engine: Engine) -> Path | None:
    """The SQLCipher file ``engine`` opens; None on PostgreSQL (or an in-memory database)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    return Path(str(engine.url.database))


def open_engine(path: Path, key: bytes, *, create: bool = False, pool_size: int = 4,
                key_file: Path | None = None) -> Engine:
    """An engine for the SQLCipher file at ``path``; fails clearly, touching nothing, if it is not ours.

    ``key_file``: where ``key`` came from. Given by long-running processes (the
    web app, the worker), so that they follow an online re-key (``keys
    rekey-db``) to the new file and key without a restart; see generations.py.
    """
    if not create and not path.exists():
        raise StoreOpenError(f"there is no database at {path}: run `casefeedback init` first.")
    if path.exists() and path.stat().st_size and _looks_plaintext(path):
        raise StoreOpenError(f"{path} is an unencrypted SQLite file, not a casefeedback database.")
    if create:
        _create_private(path)
    keep_private(generations.live_file(path))  # after an online re-key, the generation the link points to
    # The key is not in the URL: every connection is opened by _follow_generations below, with the key
    # that opens the live generation now (SQLCipher's own dialect would set the URL's key, for ever).
    import sqlcipher3

    url = URL.create("sqlite+pysqlite", database=str(path))
    engine = create_engine(
        url,
        module=sqlcipher3.dbapi2,
        poolclass=QueuePool,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        # The connection used last first: SQLite drops a connection's page cache when another connection
        # has committed since, and each page read again is decrypted and its HMAC checked again.
        pool_use_lifo=True,
        # Statement parameters include ciphertext and hashes of bearer secrets;
        # keep them out of exception messages and therefore out of logs.
        hide_parameters=True,
        connect_args={"check_same_thread": False},
    )
    _KEYS[engine] = _follow_generations(engine, path, generations.DatabaseKey(key, key_file), create=create)
    install_connection_hooks(engine, str(path))
    _WRITER_LOCKS[engine] = lock = WriterLock(path)
    weakref.finalize(engine, lock.close)
    if (stats := lock_stats.from_environment()) is not None:
        _LOCK_STATS[engine] = stats
    # Open one connection now, so a wrong key fails at start-up, not on the first request.
    with engine.connect():
        pass
    return engine


def _follow_generations(engine: Engine, path: Path, key: generations.DatabaseKey, *,
                        create: bool) -> generations.DatabaseKey:
    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, record: Any, _args: Any, options: dict[str, Any]) -> Any:
        options = {name: value for name, value in options.items() if name != "uri"}
        connection, record.info["inode"] = generations.connect(path, key, create=create, options=options)
        return connection

    @event.listens_for(engine, "checkout")
    def _checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
        # One stat() per checkout: after a re-key's swap, no pooled connection to the old file is used
        # again (writes there would be lost with it); the pool drops them all and opens the new file.
        if record.info.get("inode") != generations.inode_of(path):
            stale = DisconnectionError("the database was re-keyed: reopening it")
            stale.invalidate_pool = True
            raise stale

    return key


def current_key(engine: Engine) -> bytes:
    """The key ``engine`` opens the live database with now (an online re-key changes it; the config does not)."""
    return _KEYS[engine].current


def _create_private(path: Path) -> None:
    """Make the (empty) database file 0600 before SQLite does, whatever the umask.

    SQLite creates its write-ahead log and shared-memory file with the database
    file's mode, so this one file decides all three. An empty file is a new
    database to SQLite.
    """
    # Already there, or no directory for it (SQLite then says so in its own words): nothing to do.
    with suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def keep_private(path: Path) -> None:
    """Tighten a database, WAL or shared-memory file that others could read, and say so.

    Repair rather than refuse: the file is encrypted, and a copy restored by hand or made under a
    looser umask should not stop the service — but its mode is put right before anything opens it.
    """
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in COMPANION_SUFFIXES)):
        try:
            mode = stat.S_IMODE(candidate.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            try:
                os.chmod(candidate, 0o600)
            except PermissionError:
                log.error("%s is readable by others (mode %04o) and cannot be changed by this user; "
                          "run chmod 600 on it", candidate, mode)
                continue
            log.warning("%s was readable by others (mode %04o): made it 0600", candidate, mode)


def _looks_plaintext(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(SQLITE_PLAINTEXT_MAGIC)) == SQLITE_PLAINTEXT_MAGIC


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """One write transaction: everything inside commits together or not at all.

    On SQLCipher, after the lock is let go, the write-ahead log is folded into
    the file once this process's writes since the last time held the lock for
    CHECKPOINT_AFTER_NS (about 1000 pages): here, not inside a commit, so no other
    writer waits on it (see dialect.checkpoint_wal).
    """
    lock, stats = _WRITER_LOCKS.get(engine), _LOCK_STATS.get(engine)
    if lock is None and stats is None:  # PostgreSQL: the server takes row locks, and checkpoints
        with _begin_write(engine) as connection:
            yield connection
        return
    with lock or nullcontext():
        # From holding the lock to letting it go, the commit included (the wait for it is not).
        started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
        try:
            with _begin_write(engine) as connection:
                yield connection
        finally:
            held = time.perf_counter_ns() - started
            _LAST_HOLD.held_ns = held
            if stats is not None:
                stats.add(held, time.thread_time_ns() - started_cpu)
    if lock is not None:
        _fold_wal_after(engine, held)


# Lock time written since the last checkpoint, per engine. Time stands for pages: a transaction's lock
# time is mostly encrypting the pages it commits (measured: ~1000 pages in 50 ms here).
CHECKPOINT_AFTER_NS = 50_000_000
_SINCE_CHECKPOINT: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()
_LAST_HOLD = threading.local()


def _fold_wal_after(engine: Engine, held_ns: int) -> None:
    since = _SINCE_CHECKPOINT.get(engine, 0) + held_ns
    if since < CHECKPOINT_AFTER_NS:
        _SINCE_CHECKPOINT[engine] = since
        return
    _SINCE_CHECKPOINT[engine] = 0
    try:
        checkpoint_wal(engine)
    except Exception as error:
        # The caller's transaction has committed: a failed fold must not turn an acknowledged write into an
        # error page (a person would send again). The next fold, a threshold later, or SQLite's backstop does it;
        # not the very next write, so a fold that keeps failing logs once a threshold, not once a write.
        log.warning("folding the write-ahead log in failed (%s); trying again after more writes",
                    type(error).__name__)


def last_hold() -> float:
    """Seconds the calling thread's last write() held the writer lock (its commit included, the checkpoint
    after it not). Meaningful only where there is such a lock (``writers_waiting`` is not None)."""
    return float(getattr(_LAST_HOLD, "held_ns", 0)) / 1e9


def writers_waiting(engine: Engine) -> bool | None:
    """Whether a writer waits for the writer lock now; None on PostgreSQL, which has no such lock."""
    lock = _WRITER_LOCKS.get(engine)
    return None if lock is None else lock.others_waiting()


@contextmanager
def _begin_write(engine: Engine) -> Iterator[Connection]:
    """BEGIN IMMEDIATE on the live file. Checked once more under SQLite's write lock: a re-key swaps
    files while holding it, so a writer that won it on the old file after the swap (one that
    bypassed the writer lock) is sent to the new file, never left to commit into the old one."""
    key = _KEYS.get(engine)
    for _attempt in range(3):
        connection = engine.connect().execution_options(write=True)
        transaction = connection.begin()
        if key is None or connection.info.get("inode") == generations.inode_of(Path(str(engine.url.database))):
            break
        transaction.rollback()
        connection.invalidate()
        connection.close()
    else:
        raise StoreOpenError("the database file kept changing under a write (a re-key that did not finish?): "
                             "run `casefeedback keys rekey-db` to finish it")
    with connection, transaction:
        yield connection


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection, connection.begin():
        yield connection


def unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot answer just now (unreachable, restarting, failing over, too
    busy: a pool, lock or statement timeout, a lost connection) rather than a fault in the request or in us.
    A request that meets one is answered 503 with a calm page and Retry-After: the transaction rolled back
    whole, so nothing was half-written, and trying again shortly is the right thing to do."""
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(error, OperationalError) and "no such " in str(error.orig):
        return False  # SQLite's words for a schema fault (a missing table or column): a fault of ours, not an outage
    return isinstance(error, OperationalError | InterfaceError | DisconnectionError | PoolTimeout | StoreOpenError)
