"""Finishing or rolling back a re-key that was interrupted, and the lock that keeps re-keys one at a time.

Where a re-key stopped is read from the files themselves, so no state file can
disagree with them: a ``database.key.new`` that opens what ``casefeedback.db``
points to means the swap was made (finish: install the key, dispose of the
old); one that does not means it stopped before (roll back: destroy it). A
``database.key.retiring`` is an old key still to dispose of; generation files no
link points to are a partial copy or an old generation; a change log left in
the live file is dropped. Run by ``keys rekey-db`` first, and by every process
as it starts (``services.build_services``) unless a re-key holds the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from casefeedback.backup.lock import InstanceBusy, hold_running, release
from casefeedback.backup.old_keys import dispose_of_old_key, install_new_key, pending_opens, retiring_key_file
from casefeedback.clock import Clock
from casefeedback.config import Config
from casefeedback.crypto.rotation import destroy_file
from casefeedback.storage import generations, live_copy
from casefeedback.storage.dialect import StoreOpenError
from casefeedback.storage.engine import open_engine, read, write

REKEY_LOCK = "casefeedback.rekey.lock"
log = logging.getLogger("casefeedback.backup.rekey")


class RekeyRefused(Exception):
    """The database cannot be re-keyed now; the message says why and that nothing was changed."""


@contextlib.contextmanager
def rekeying(config: Config) -> Iterator[None]:
    """One re-key at a time; the instance's shared running lock held, so a restore cannot start under it."""
    fd = os.open(config.instance_dir / REKEY_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RekeyRefused("another re-key of this database is running: let it finish. Nothing was changed.") \
                from None
        try:
            running = hold_running(config.instance_dir)
        except InstanceBusy as busy:
            raise RekeyRefused(str(busy)) from None
        try:
            yield
        finally:
            release(running)
    finally:
        os.close(fd)


def remove_leftovers(database: Path) -> list[Path]:
    """Generation files no link points to (an old one, a partial copy) and their -wal/-shm."""
    live = generations.live_file(database)
    removed = []
    stale = [g for g in generations.generations(database) if g != live]
    if database.is_symlink():
        stale.append(database)  # generation 0: its -wal/-shm only (the name is now the link)
    for generation in stale:
        for path in ([] if generation == database else [generation]) + generations.sidecars(generation):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


def cursor_of(connection: Connection) -> Any:
    """The driver's cursor inside this write transaction: the change log's DDL is the dialect's own SQL."""
    raw = connection.connection.dbapi_connection
    if raw is None:
        raise RekeyRefused("the database connection closed under the re-key. Nothing was changed.")
    return raw.cursor()


def recover_locked(config: Config, clock: Clock) -> str | None:
    """Finish or roll back an interrupted re-key (the caller holds the re-key lock); say what was done."""
    key_file, database = config.secrets.database.path, config.database_path
    if key_file is None or not database.exists():
        return None
    pending = generations.pending_key_file(key_file)
    said: list[str] = []
    if pending.exists():
        if pending_opens(database, key_file):
            install_new_key(key_file)  # the swap was made: the new key is the live one
            said.append("finished an interrupted re-key: the database opens with the new key, now in "
                        f"{key_file.name}")
        else:
            destroy_file(pending)
            said.append("rolled back an interrupted re-key (it stopped before its swap)")
    old = dispose_of_old_key(config, key_file, None, clock)
    if old != "none":
        said.append(f"its old key {old}" if said else f"finished an interrupted re-key: its old key {old}")
    if remove_leftovers(database):
        said.append("removed the files it left")
    key = generations.read_key_file(key_file)
    if key is None:
        raise RekeyRefused(f"{key_file} holds no key")
    try:
        engine = open_engine(database, key, key_file=key_file)
    except StoreOpenError as error:
        raise RekeyRefused(f"{error} (after an interrupted re-key: see SECURITY.md)") from None
    try:
        with write(engine) as connection:
            if live_copy.stop_tracking(cursor_of(connection)):
                said.append("dropped its change log")
        with read(engine):
            pass
    finally:
        engine.dispose()
    return "; ".join(said).capitalize() + "." if said else None


def recover(config: Config, clock: Clock) -> str | None:
    """At a process's start: finish or roll back an interrupted re-key, unless one is running now."""
    if config.secrets.database.path is None:
        return None
    key_file = config.secrets.database.path
    if not generations.pending_key_file(key_file).exists() and not retiring_key_file(key_file).exists() and \
            not leftovers_exist(config.database_path):
        return None  # the common case: two stats and a directory listing, nothing to do
    try:
        with rekeying(config):
            done = recover_locked(config, clock)
    except RekeyRefused:
        return None  # a re-key is running (it finishes itself), or a restore is
    if done:
        log.warning("%s", done)
    return done


def leftovers_exist(database: Path) -> bool:
    live = generations.live_file(database)
    return any(g != live for g in generations.generations(database))
