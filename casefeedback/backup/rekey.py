"""Re-keying the database online: a new file under a new key, while people keep sending feedback.

The live file is never re-encrypted in place. The re-key

1. writes a fresh random key to ``secrets/database.key.new`` (0600, synced)
   before anything is encrypted under it;
2. starts a change log in the live file (``storage/live_copy.py``: a trigger per
   table appends the table and row key of every change, never content), in one
   short write transaction;
3. copies every table into ``casefeedback.db.gen-<random>`` under the new key,
   in one read snapshot: writers carry on beside it (WAL), then checks the copy
   (``cipher_integrity_check``, ``integrity_check``);
4. catches up, outside any lock, the rows the log names since the snapshot, pass
   after pass, while a pass still finds many (up to ``MAX_PASSES``);
5. pauses writes — it takes the writer lock every write in every process takes
   (``storage.engine.write``: the file lock, then SQLite's ``BEGIN IMMEDIATE``) —
   for the last pass only, which copies a few seconds' changes and compares
   every table's row count; then makes ``casefeedback.db`` a link to the new
   file (one rename: the commit point) and renames the new key over
   ``database.key``; then lets writers go. The pause is measured and printed;
6. disposes of the old key and file: the old key is overwritten and removed,
   unless a kept backup was made under it (then it is kept as
   ``database.key.previous-<time>``, which opens only those backups); the old
   generation and its -wal/-shm are removed (their pages are under the old key).

Every running process (web workers, the worker) follows without a restart and
without a failed request: a connection is checked against the live file's inode
when it leaves the pool, and a new one finds the new key (``storage/generations.py``).
A reader mid-transaction on the old file finishes on the old file, harmlessly.

Killed at any point (``kill -9``), the instance still opens — the live link and
the two key files always include a key that opens what ``casefeedback.db``
points to — and the next ``keys rekey-db`` (or the start of any process,
``recover``) finishes what was begun: before the swap it rolls back (drops the
log, removes the partial copy, destroys the unused new key); after it, it
finishes installing the new key and disposing of the old. No state file is
needed: the link, the key files and the generation files say where it stopped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.actions import Action
from casefeedback.backup.old_keys import dispose_of_old_key, install_new_key
from casefeedback.backup.rekey_recovery import (
    RekeyRefused,
    cursor_of,
    recover,
    recover_locked,
    rekeying,
    remove_leftovers,
)
from casefeedback.clock import Clock
from casefeedback.config import Config
from casefeedback.crypto.rotation import destroy_file
from casefeedback.instance import write_secret_file
from casefeedback.storage import generations, live_copy
from casefeedback.storage.dialect import integrity_problems
from casefeedback.storage.engine import open_engine, write

MAX_PASSES = 8
# A catch-up pass that re-copied fewer rows than this leaves so little for the paused pass that it goes next.
SETTLED_ROWS = 200
POSTGRES_MESSAGE = ("on PostgreSQL, encryption of the database at rest is the operator's (disk or tablespace "
                    "encryption, SECURITY.md): casefeedback has no database key to re-key. Nothing was changed.")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rekeyed:
    rows: int
    tables: int
    passes: int
    caught_up: int
    paused_s: float
    old_key: str  # "destroyed", or the file it is kept in for older backups
    integrity: str


Progress = Callable[[str], None]


def refuse_on_postgres(environ: dict[str, str] | os._Environ[str]) -> None:
    url = environ.get("CASEFEEDBACK_DATABASE_URL", "")
    if url.startswith(("postgres", "postgresql")):
        raise RekeyRefused(POSTGRES_MESSAGE)


def rekey_database(config: Config, clock: Clock, progress: Progress = lambda _: None) -> Rekeyed | str:
    """Re-key online; or, if a re-key was interrupted, finish or roll it back and say which (a str)."""
    secret = config.secrets.database
    if secret.path is None:
        raise RekeyRefused("the database key comes from CASEFEEDBACK_DATABASE_KEY, which a running process cannot "
                           "be given anew: re-key by hand as SECURITY.md describes. Nothing was changed.")
    key_file, database = secret.path, config.database_path
    with rekeying(config):
        recovered = recover_locked(config, clock)
        if recovered and "finished" in recovered:
            return recovered
        if recovered:
            progress(recovered)
        old_key = generations.read_key_file(key_file)
        if old_key is None:
            raise RekeyRefused(f"{key_file} holds no key. Nothing was changed.")
        engine = open_engine(database, old_key, key_file=key_file)  # fails clearly, before anything is made
        try:
            new_key = os.urandom(32)
            pending = generations.pending_key_file(key_file)
            write_secret_file(pending, "database", new_key, secret.origin if secret.origin != "environment"
                              else "provisioned")
            _sync(pending)  # on disk before anything is encrypted under it
            done = _copy_and_swap(config, engine, old_key, new_key, progress)
            old = dispose_of_old_key(config, key_file, old_key, clock)
            remove_leftovers(database)
            integrity = _check_live(engine)
            _audit(config, engine, clock, done, old)
        finally:
            engine.dispose()
    result = Rekeyed(done.rows, done.tables, done.passes, done.caught_up, done.paused_s, old, integrity)
    log.info("database re-keyed online: %d rows in %d tables copied, %d catch-up pass(es), writes paused for "
             "%.2f s; old key %s; integrity %s", result.rows, result.tables, result.passes, result.paused_s,
             "destroyed" if old == "destroyed" else "kept for older backups", integrity)
    return result


@dataclass(frozen=True)
class _Done:
    rows: int
    tables: int
    passes: int
    caught_up: int
    paused_s: float


def _copy_and_swap(config: Config, engine: Engine, old_key: bytes, new_key: bytes, progress: Progress) -> _Done:
    database = config.database_path
    old_file = generations.live_file(database)
    target = generations.new_generation(database)
    with write(engine) as connection:
        live_copy.start_tracking(cursor_of(connection))
    copy: live_copy.LiveCopy | None = None
    swapped = False
    try:
        copy = live_copy.LiveCopy(old_file, old_key, target, new_key)
        progress(f"Copying the database into {target.name} under the new key (people can keep sending feedback)")
        bulk = copy.bulk(lambda table, rows, n, of: progress(f"  table {n} of {of}: {table} ({rows} rows)"))
        problems = copy.check_target()
        if problems:
            raise RekeyRefused(f"the new copy does not check out ({problems[0]}): nothing was swapped")
        watermark, passes, caught_up = bulk.watermark, 0, 0
        for passes in range(1, MAX_PASSES + 1):
            step = copy.catch_up(watermark)
            watermark, caught_up = step.watermark, caught_up + step.rows
            progress(f"  catch-up pass {passes}: {step.rows} changed row(s) re-copied")
            if step.rows < SETTLED_ROWS:
                break
        # Every table, row for row in number, in one snapshot: reads the whole copy, so not in the pause.
        checked = copy.catch_up(watermark, compare=True)
        watermark, caught_up = checked.watermark, caught_up + checked.rows
        copy.fold_log()
        started = time.perf_counter()
        with write(engine):
            # Writes everywhere wait here: the writer lock and SQLite's own are held.
            last = copy.catch_up(watermark, final=True)
            copy.detach()
            copy.close()
            copy = None
            generations.point_to(database, target)  # the commit point
            swapped = True
            install_new_key(config.secrets.database.path)  # type: ignore[arg-type]  # checked by the caller
        paused = time.perf_counter() - started
        progress(f"Swapped to the new file: writes paused for {paused:.2f} s ({last.rows} row(s) in the last pass)")
        return _Done(bulk.rows, bulk.tables, passes, caught_up + last.rows, paused)
    except BaseException as error:
        if copy is not None:
            copy.close()
        if swapped:
            raise  # the next run (or process start) finishes installing the key: see recover()
        _roll_back(config, engine, target)
        if isinstance(error, KeyboardInterrupt):
            raise RekeyRefused("interrupted before the swap: rolled back, the database and its key are as they "
                               "were") from None
        raise


def _roll_back(config: Config, engine: Engine, target: Path) -> None:
    """Before the swap: the live file and key are as they were; remove what this attempt made."""
    for path in (target, *generations.sidecars(target)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    with write(engine) as connection:
        live_copy.stop_tracking(cursor_of(connection))
    if config.secrets.database.path is not None:
        destroy_file(generations.pending_key_file(config.secrets.database.path))


def _check_live(engine: Engine) -> str:
    raw = engine.raw_connection()
    try:
        problems = integrity_problems(raw.dbapi_connection)
    finally:
        raw.close()
    return "ok" if not problems else problems[0]


def _audit(config: Config, engine: Engine, clock: Clock, done: _Done, old: str) -> None:
    with write(engine) as connection:
        AuditLog(config.secrets.audit_chain.value, clock).append(connection, AuditEvent(
            action=Action.KEYS_REKEY_DB, outcome="success", actor_role="cli", object_type="database",
            detail={"online": True, "rows": done.rows, "paused_ms": round(done.paused_s * 1000),
                    "old_key": "destroyed" if old == "destroyed" else "kept for older backups"}))


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    generations.fsync_directory(path.parent)


__all__ = ["RekeyRefused", "Rekeyed", "recover", "refuse_on_postgres", "rekey_database"]
