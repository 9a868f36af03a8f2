"""Every file an instance keeps is for the service account alone, and its log rotates.

The database is encrypted, but its mode was 0644 (and so were the WAL and
shared-memory files SQLite makes beside it): readable by every local account
that could reach the directory. Each test starts from the umask an ordinary
shell gives (022), as gunicorn and the ``casefeedback`` command are started.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from casefeedback import create_app
from casefeedback.cli import main
from casefeedback.logs import InstanceLogHandler
from casefeedback.retention import ledger
from casefeedback.storage.engine import open_engine, write
from casefeedback.worker.registry import jobs
from casefeedback.worker.scheduler import run_all_once
from tests.conftest import POLICIES, make_config
from tests.helpers import ServiceUser
from tests.receipts.receipt_holder import ReceiptHolder

KEY = bytes(range(32))


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    before = os.umask(0o022)
    yield
    os.umask(before)


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def readable_by_others(directory: Path) -> list[str]:
    """Every file or directory under ``directory`` (itself included) with a group or other permission bit."""
    return [f"{path.relative_to(directory.parent)} {mode(path):04o}"
            for path in [directory, *sorted(directory.rglob("*"))] if mode(path) & 0o077]


def test_after_init_and_a_real_submission_every_instance_file_is_private(tmp_path, clock):
    instance = tmp_path / "instance"
    config = make_config(instance)  # secrets and database, as `casefeedback init` makes them
    app = create_app(config, clock=clock)
    try:
        client = app.test_client()
        code = ServiceUser(client).give_feedback({"treated": "3", "anything_else": "words of their own"})
        holder = ReceiptHolder(client)
        holder.check(code)
        assert holder.withdraw().status_code == 200  # an erasure: the ledger file beside the database
        run_all_once(app.extensions["casefeedback"], jobs())  # the worker's jobs: ledger, checkpoint, WAL
        client.get("/feedback/victim-support")  # and the database open again after the truncation
        for name in ("casefeedback.db", "casefeedback.db-wal", "casefeedback.db-shm", "logs/casefeedback.log",
                     f"{ledger.ledger_path(config.database_path).name}", "secrets/active-kek"):
            assert (instance / name).exists(), name
        assert readable_by_others(instance) == []
    finally:
        app.extensions["casefeedback"].engine.dispose()


def test_a_new_database_and_the_files_sqlite_makes_beside_it_are_private_whatever_the_umask(tmp_path):
    path = tmp_path / "store.db"
    engine = open_engine(path, KEY, create=True)
    try:
        with write(engine) as connection:
            connection.exec_driver_sql("CREATE TABLE t (x)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        made = sorted(p.name for p in tmp_path.iterdir())
        assert {"store.db", "store.db-wal", "store.db-shm"} <= set(made)
        assert readable_by_others(tmp_path) == []
    finally:
        engine.dispose()


def test_a_database_left_readable_is_made_private_when_opened_and_it_is_logged(tmp_path, caplog):
    path = tmp_path / "store.db"
    open_engine(path, KEY, create=True).dispose()
    wal = path.with_name("store.db-wal")
    wal.touch()
    for loose in (path, wal):
        os.chmod(loose, 0o644)  # a copy restored by hand, or an instance made before this was fixed
    with caplog.at_level(logging.WARNING, logger="casefeedback"):
        engine = open_engine(path, KEY)
    try:
        assert mode(path) == 0o600 and mode(wal) == 0o600
    finally:
        engine.dispose()
    assert sum("was readable by others (mode 0644): made it 0600" in m for m in caplog.messages) == 2


def test_secrets_are_private_whatever_the_umask(tmp_path):
    make_config(tmp_path / "instance")
    assert readable_by_others(tmp_path / "instance" / "secrets") == []


def test_the_app_and_the_command_start_with_a_private_umask(tmp_path, clock, monkeypatch):
    app = create_app(make_config(tmp_path / "instance"), clock=clock)
    app.extensions["casefeedback"].engine.dispose()
    assert current_umask() == 0o077
    os.umask(0o022)
    result = CliRunner().invoke(main, ["policy", "check", str(POLICIES)])
    assert result.exit_code == 0, result.output
    assert current_umask() == 0o077


def test_init_a_backup_and_the_worker_from_the_command_leave_only_private_files(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    monkeypatch.setenv("CASEFEEDBACK_INSTANCE", str(instance))
    monkeypatch.setenv("CASEFEEDBACK_POLICIES", str(POLICIES))
    cli = CliRunner()
    for command in (["init"], ["worker", "--once"], ["backup"]):
        result = cli.invoke(main, command)
        assert result.exit_code == 0, (command, result.output)
    assert any((instance / "backups").iterdir())
    assert readable_by_others(instance) == []


# --- the log: rotated at a declared size, 0600, shared by several processes --------------------------


def write_lines(handler: logging.Handler, numbers: range) -> None:
    for number in numbers:
        handler.handle(logging.LogRecord("casefeedback.test", logging.INFO, __file__, 1,
                                         "line %05d %s", (number, "x" * 40), None))


def lines_in(path: Path) -> list[str]:
    """Every line of the log, oldest file first (``.N`` … ``.1``, then the file itself)."""
    backups = sorted((p for p in path.parent.glob(path.name + ".*") if p.suffix[1:].isdigit()),
                     key=lambda p: -int(p.suffix[1:]))
    return [line for p in [*backups, path] for line in p.read_text().splitlines()]


def test_the_log_rotates_at_its_size_and_keeps_its_backups_private(tmp_path):
    path = tmp_path / "logs" / "casefeedback.log"
    path.parent.mkdir(mode=0o700)
    handler = InstanceLogHandler(path, max_bytes=500, backup_count=3)
    try:
        write_lines(handler, range(60))  # about 3 KB
    finally:
        handler.close()
    rotated = sorted(p.name for p in path.parent.iterdir())
    assert rotated == ["casefeedback.log", "casefeedback.log.1", "casefeedback.log.2", "casefeedback.log.3",
                       "casefeedback.log.lock"]  # no .4: the oldest went
    assert all(p.stat().st_size <= 500 for p in path.parent.iterdir())
    assert readable_by_others(path.parent) == []
    kept = lines_in(path)
    assert kept == [f"line {n:05d} " + "x" * 40 for n in range(60 - len(kept), 60)]  # the newest, in order


def test_two_processes_sharing_the_log_rotate_it_once_and_lose_no_line(tmp_path):
    """Two handlers on one file stand for a gunicorn worker and the background worker."""
    path = tmp_path / "casefeedback.log"
    web, worker = (InstanceLogHandler(path, max_bytes=400, backup_count=50) for _ in range(2))
    try:
        for start in range(0, 100, 5):  # interleaved, five lines at a time
            write_lines(web if start % 10 else worker, range(start, start + 5))
    finally:
        web.close()
        worker.close()
    # Every line, once, and in order: no process wrote on into a file another had rotated away.
    assert lines_in(path) == [f"line {n:05d} " + "x" * 40 for n in range(100)]
    assert all(p.stat().st_size <= 400 for p in tmp_path.iterdir())


def test_a_log_made_readable_is_made_private_again(tmp_path):
    path = tmp_path / "casefeedback.log"
    path.write_text("")
    os.chmod(path, 0o644)
    handler = InstanceLogHandler(path)
    try:
        write_lines(handler, range(1))
    finally:
        handler.close()
    assert mode(path) == 0o600
