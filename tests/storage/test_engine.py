"""The encrypted store: a real SQLCipher file, opened with a raw key, failing closed."""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from casefeedback.storage import engine as engine_module
from casefeedback.storage import migrate
from casefeedback.storage.dialect import WAL_BACKSTOP_PAGES, StoreOpenError, WriterLock, checkpoint_wal
from casefeedback.storage.engine import open_engine, read, write
from tests.helpers import waited


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _siblings(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir() if p.name.startswith(path.name)}


def test_file_is_encrypted_from_its_first_byte(config):
    header = config.database_path.read_bytes()[:16]
    assert not header.startswith(b"SQLite format 3")
    # A plain SQLite library cannot read it.
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(config.database_path).execute("SELECT count(*) FROM sqlite_master").fetchall()


def test_connection_settings(config):
    engine = open_engine(config.database_path, config.secrets.database.value)
    with read(engine) as connection:
        def pragma(name: str) -> object:
            return connection.execute(text(f"PRAGMA {name}")).scalar()

        assert pragma("journal_mode") == "wal"
        assert pragma("secure_delete") == 1
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == 5000
        assert pragma("auto_vacuum") == 1  # FULL
        assert pragma("cipher_version").startswith("4.")
        assert pragma("wal_autocheckpoint") == WAL_BACKSTOP_PAGES  # write() folds the log in, outside the lock
    engine.dispose()


def test_the_write_ahead_log_is_folded_in_after_the_lock_is_let_go(config, monkeypatch):
    """No writer waits on a checkpoint: write() runs it once the lock is free, and only every so often."""
    engine = open_engine(config.database_path, config.secrets.database.value)
    lock_file = config.database_path.with_name(config.database_path.name + "-writer.lock")
    folded: list[bool] = []

    def checkpoint(engine_given):
        descriptor = os.open(lock_file, os.O_RDWR)
        try:  # another holder could take the writer lock now: it is free
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            folded.append(True)
        finally:
            os.close(descriptor)
        checkpoint_wal(engine_given)

    monkeypatch.setattr(engine_module, "checkpoint_wal", checkpoint)
    monkeypatch.setattr(engine_module, "CHECKPOINT_AFTER_NS", 3_600 * 10**9)  # an hour of lock time
    for _ in range(3):
        with write(engine) as connection:
            connection.execute(text("CREATE TABLE IF NOT EXISTS scratch (x)"))
            connection.execute(text("INSERT INTO scratch VALUES (randomblob(3000))"))
    assert folded == []  # far from the threshold: no checkpoint at all
    monkeypatch.setattr(engine_module, "CHECKPOINT_AFTER_NS", 0)
    with write(engine) as connection:
        connection.execute(text("INSERT INTO scratch VALUES (randomblob(3000))"))
    assert folded == [True]
    engine.dispose()


def test_wrong_key_is_one_clear_sentence_and_leaves_the_file_untouched(config):
    before, files = _digest(config.database_path), _siblings(config.database_path)
    with pytest.raises(StoreOpenError) as raised:
        open_engine(config.database_path, os.urandom(32))
    assert str(raised.value) == (
        f"{config.database_path} cannot be opened with the configured database key: "
        "either the key is wrong or the file is not a casefeedback database.")
    assert _digest(config.database_path) == before
    assert _siblings(config.database_path) == files


def test_plain_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "plain.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    before = _digest(path)
    with pytest.raises(StoreOpenError, match="is an unencrypted SQLite file, not a casefeedback database"):
        open_engine(path, os.urandom(32))
    assert _digest(path) == before


def test_random_bytes_file_is_refused(tmp_path):
    path = tmp_path / "noise.db"
    path.write_bytes(os.urandom(8192))
    before = _digest(path)
    with pytest.raises(StoreOpenError, match="either the key is wrong or the file is not a casefeedback database"):
        open_engine(path, os.urandom(32))
    assert _digest(path) == before


def test_other_sqlcipher_database_with_our_key_is_refused(tmp_path):
    key = os.urandom(32)
    path = tmp_path / "other.db"
    engine = open_engine(path, key, create=True)
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE somebody_elses (x)")
        connection.commit()
    engine.dispose()
    with pytest.raises(StoreOpenError, match="opens with the database key but is not a casefeedback database"):
        open_engine(path, key)


def test_missing_database_says_how_to_create_it(tmp_path):
    with pytest.raises(StoreOpenError, match="run `casefeedback init` first"):
        open_engine(tmp_path / "absent.db", os.urandom(32))
    assert not (tmp_path / "absent.db").exists()


def test_hide_parameters_keeps_values_out_of_errors(config):
    engine = open_engine(config.database_path, config.secrets.database.value)
    with pytest.raises(Exception) as raised, engine.connect() as connection:
        connection.execute(text("INSERT INTO teams (id, name) VALUES (:a, :b)"), {"a": None, "b": "CANARYPARAM"})
    assert "CANARYPARAM" not in str(raised.value)
    engine.dispose()


def test_schema_is_at_head_after_init(config):
    engine = open_engine(config.database_path, config.secrets.database.value)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()


def test_a_failed_fold_never_fails_the_write_that_committed(config, monkeypatch, caplog):
    engine = open_engine(config.database_path, config.secrets.database.value)

    def broken(_engine):
        raise OSError("CANARY-fold-5e2: disk trouble")

    monkeypatch.setattr(engine_module, "checkpoint_wal", broken)
    monkeypatch.setattr(engine_module, "CHECKPOINT_AFTER_NS", 0)
    with write(engine) as connection:
        connection.execute(text("CREATE TABLE scratch (x)"))
        connection.execute(text("INSERT INTO scratch VALUES ('kept')"))
    with read(engine) as connection:
        assert connection.execute(text("SELECT x FROM scratch")).scalars().all() == ["kept"]
    assert "folding the write-ahead log in failed (OSError)" in caplog.text
    assert "CANARY" not in caplog.text
    engine.dispose()


_WAIT_FOR_THE_LOCK = """
import sys
from pathlib import Path
from casefeedback.storage.dialect import WriterLock
sys.stdin.readline()  # the test holds the lock now
print("waiting", flush=True)
with WriterLock(Path(sys.argv[1])):
    print("in", flush=True)
"""


def test_a_writer_waiting_in_another_process_or_thread_is_seen(tmp_path):
    """What lets a long job step aside for senders exactly when one waits (retention/pacing.py)."""
    database = tmp_path / "store.db"
    lock = WriterLock(database)
    assert not lock.others_waiting()
    with subprocess.Popen([sys.executable, "-c", _WAIT_FOR_THE_LOCK, str(database)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdin is not None and child.stdout is not None
        with lock:
            child.stdin.write("go\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "waiting"
            assert waited(lock.others_waiting, timeout=30, every=0.01)
        assert child.stdout.readline().strip() == "in"  # it had the lock as soon as it was let go
        assert child.wait(timeout=30) == 0
    assert not lock.others_waiting()

    # Another thread of this process, waiting for the same lock.
    entered = threading.Event()

    def other_thread() -> None:
        with lock:
            entered.set()

    with lock:
        thread = threading.Thread(target=other_thread)
        thread.start()
        assert waited(lock.others_waiting, timeout=30, every=0.01)
    thread.join(timeout=30)
    assert entered.is_set() and not lock.others_waiting()
    lock.close()
