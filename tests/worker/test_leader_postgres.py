"""Issue 13: on PostgreSQL any number of `casefeedback worker` processes, exactly one leading.

Real processes on a real PostgreSQL: two workers on one database, one says it leads and the other stands
by; the leader is killed with SIGKILL (no chance to let go of anything) and the other leads within 10 s,
because the server ends the dead session and with it the advisory lock. And below the processes: a
standby never runs a job, and starts running them only once the lock is free.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from casefeedback.config import Config
from casefeedback.policy import load_policies
from casefeedback.services import Services, build_services
from casefeedback.storage.dialect import try_leader_lock
from casefeedback.storage.engine import open_leader_engine
from casefeedback.worker.job import Job
from casefeedback.worker.leader import LeaderLock, lead_or_stand_by
from tests.conftest import ROOT, Clock
from tests.helpers import waited
from tests.stores import instance_config

LEADS = "this worker leads"
STANDS_BY = "standing by"
START_UP = 180.0  # seconds: generous, the machine running the tests may be busy


@pytest.fixture
def pg_config(tmp_path: Path) -> Iterator[Config]:
    with instance_config("postgresql", tmp_path) as config:
        yield config


class Worker:
    """One `casefeedback worker` process, its stderr in a file (a pipe nobody reads could fill and block it)."""

    def __init__(self, config: Config, name: str) -> None:
        assert config.database_url is not None
        self.errors = config.instance_dir.parent / f"{name}.stderr"
        env = {**os.environ, "CASEFEEDBACK_INSTANCE": str(config.instance_dir),
               "CASEFEEDBACK_POLICIES": str(config.policies_dir), "CASEFEEDBACK_DATABASE_URL": config.database_url}
        with self.errors.open("wb") as sink:
            self.process = subprocess.Popen([sys.executable, "-m", "casefeedback", "worker"], cwd=ROOT, env=env,
                                            stdout=subprocess.DEVNULL, stderr=sink)

    def said(self, words: str) -> bool:
        return words in self.errors.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def test_two_workers_one_leads_and_the_other_takes_over_within_10_s_of_a_kill(pg_config: Config) -> None:
    first, second = Worker(pg_config, "first"), Worker(pg_config, "second")
    try:
        assert waited(lambda: (first.said(LEADS) or second.said(LEADS))
                        and (first.said(STANDS_BY) or second.said(STANDS_BY)), START_UP), \
            (first.errors.read_text(), second.errors.read_text())
        leader, standby = (first, second) if first.said(LEADS) else (second, first)
        assert not standby.said(LEADS) and not leader.said(STANDS_BY)  # exactly one leads
        assert standby.process.poll() is None  # standing by is not refusing: the second keeps running
        time.sleep(3)  # more than one retry later, still exactly one
        assert not standby.said(LEADS)

        leader.process.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        assert waited(lambda: standby.said(LEADS), 30, every=0.05), standby.errors.read_text()
        took = time.monotonic() - killed_at
        print(f"takeover after kill -9: {took:.2f} s")
        assert took < 10, f"the standby took {took:.1f} s to lead"
        assert leader.process.wait(timeout=30) == -signal.SIGKILL
        output = standby.errors.read_text()
        assert pg_config.database_url is not None and pg_config.database_url not in output
    finally:
        first.stop()
        second.stop()
    assert standby.process.returncode == 0, standby.errors.read_text()


@pytest.fixture
def pg_found(pg_config: Config) -> Iterator[Services]:
    services = build_services(pg_config, load_policies(pg_config.policies_dir), Clock())
    yield services
    services.engine.dispose()


def test_a_standby_never_runs_a_job_and_leads_once_the_lock_is_free(pg_found: Services) -> None:
    url = pg_found.config.database_url
    assert url is not None
    ran = threading.Event()

    def mark(_found: Services) -> str:
        ran.set()
        return "ran"

    # Overdue from the start (never ran): a leader would run it at once.
    job = Job("test.leader_mark", timedelta(hours=1), mark, "marks that it ran")
    holder_engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    holder = holder_engine.connect()  # another worker, leading
    assert try_leader_lock(holder)
    lock = LeaderLock(open_leader_engine(pg_found.config.store))
    stopping = threading.Event()
    lines: list[str] = []
    loop = threading.Thread(target=lead_or_stand_by, args=(pg_found, [job], lock, stopping.is_set),
                            kwargs={"say": lines.append, "check_every": 0.2, "retry_every": 0.2}, daemon=True)
    loop.start()
    try:
        assert not ran.wait(timeout=5)  # twenty-odd attempts to lead, and the job never ran
        assert lines == ["another worker leads: standing by, trying again every 0.2 s"]  # one line, not one a try
        holder.close()  # the other worker's session ends: the server releases its lock
        assert ran.wait(timeout=60)
        assert lines[-1] == "this worker leads: running 1 job(s)"
        # And now this one holds it: another session cannot take it.
        with holder_engine.connect() as other:
            assert not try_leader_lock(other)
            # The leader's own connection is cut (as a failover or a network cut would): it stands down.
            other.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE application_name = 'casefeedback-worker-leader' "
                               "AND datname = current_database()"))
        assert waited(lambda: "lost the leader lock's connection: stopped running jobs, standing by" in lines, 30)
        # Nobody else leads, so it takes the lock again on a new connection.
        assert waited(lambda: lines.count("this worker leads: running 1 job(s)") == 2, 30), lines
    finally:
        stopping.set()
        loop.join(timeout=60)
        lock.close()
        holder_engine.dispose()
    assert not loop.is_alive()



def test_once_runs_only_when_no_worker_leads(pg_config: Config) -> None:
    url = pg_config.database_url
    assert url is not None
    env = {**os.environ, "CASEFEEDBACK_INSTANCE": str(pg_config.instance_dir),
           "CASEFEEDBACK_POLICIES": str(pg_config.policies_dir), "CASEFEEDBACK_DATABASE_URL": url}

    def once() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "casefeedback", "worker", "--once"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=START_UP, check=False)

    holder_engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with holder_engine.connect() as holder:  # a worker leading elsewhere
            assert try_leader_lock(holder)
            refused = once()
        assert refused.returncode == 1 and "another worker leads on this database" in refused.stderr
        assert "Traceback" not in refused.stderr and "audit.checkpoint:" not in refused.stdout
    finally:
        holder_engine.dispose()
    ran = once()
    assert ran.returncode == 0, ran.stderr
    assert "audit.checkpoint:" in ran.stdout
