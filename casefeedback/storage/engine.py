"""Opening the encrypted store."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import URL, Connection, Engine, create_engine
from sqlalchemy.pool import QueuePool

from casefeedback.storage.dialect import (
    StoreOpenError,
    WriterLock,
    install_connection_hooks,
    raw_key_pragma_value,
)

__all__ = ["StoreOpenError", "open_engine", "read", "write"]

SQLITE_PLAINTEXT_MAGIC = b"SQLite format 3\x00"
_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, WriterLock] = weakref.WeakKeyDictionary()


def open_engine(path: Path, key: bytes, *, create: bool = False, pool_size: int = 4) -> Engine:
    """An engine for the SQLCipher file at ``path``; fails clearly, touching nothing, if it is not ours."""
    if not create and not path.exists():
        raise StoreOpenError(f"there is no database at {path}: run `casefeedback init` first.")
    if path.exists() and path.stat().st_size and _looks_plaintext(path):
        raise StoreOpenError(f"{path} is an unencrypted SQLite file, not a casefeedback database.")
    url = URL.create("sqlite+pysqlcipher", password=raw_key_pragma_value(key), database=str(path))
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        # Statement parameters include ciphertext and hashes of bearer secrets;
        # keep them out of exception messages and therefore out of logs.
        hide_parameters=True,
        connect_args={"check_same_thread": False},
    )
    install_connection_hooks(engine, str(path))
    _WRITER_LOCKS[engine] = lock = WriterLock(path)
    weakref.finalize(engine, lock.close)
    # Open one connection now, so a wrong key fails at start-up, not on the first request.
    with engine.connect():
        pass
    return engine


def _looks_plaintext(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(SQLITE_PLAINTEXT_MAGIC)) == SQLITE_PLAINTEXT_MAGIC


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """One write transaction: everything inside commits together or not at all."""
    with _WRITER_LOCKS.get(engine) or nullcontext(), engine.connect().execution_options(write=True) as connection, \
            connection.begin():
        yield connection


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection, connection.begin():
        yield connection
