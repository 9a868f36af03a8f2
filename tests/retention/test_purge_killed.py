"""A purge killed at any moment (kill -9) leaves a sound database: integrity check and audit chain
intact, every acknowledged send whole, and nothing half-erased that the next purge or the sweep
does not finish."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from casefeedback.retention import ciphertext
from casefeedback.storage.engine import read
from casefeedback.storage.tables import erased_keys
from casefeedback.worker.registry import jobs
from casefeedback.worker.scheduler import run_job
from tests.conftest import ROOT
from tests.retention.conftest import seed_submission
from tests.retention.sending import GIVEN, GIVEN_KEYS, Sender, stored

ALL = {"treated": "2", "listened": "yes", "safe_now": "no", "anything_else": "words", "safer": "more words"}
PURGE = """
import sys
from datetime import datetime
from casefeedback.cli.common import open_services
from casefeedback.retention.purge import purge
found = open_services()
print("purging", flush=True)
purge(found, datetime.fromisoformat(sys.argv[1]), trigger="command")
print("done", flush=True)
"""
KILLS = 5


def start_purge(found, as_of):
    environment = {**os.environ, "CASEFEEDBACK_INSTANCE": str(found.config.instance_dir),
                   "CASEFEEDBACK_POLICIES": str(found.config.policies_dir)}
    process = subprocess.Popen([sys.executable, "-c", PURGE, as_of.isoformat()], cwd=ROOT, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    if process.stdout.readline().strip() != "purging":
        _out, errors = process.communicate()
        raise AssertionError(f"the purge did not start: {errors}")
    return process


def audit_verify(found) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CASEFEEDBACK_INSTANCE": str(found.config.instance_dir),
                   "CASEFEEDBACK_POLICIES": str(found.config.policies_dir)}
    return subprocess.run([sys.executable, "-c", "from casefeedback.cli import main; main()",
                           "audit", "verify", "--no-witness"], cwd=ROOT, env=environment, capture_output=True,
                          text=True, check=False)


def integrity(found) -> str:
    if found.engine.dialect.name != "sqlite":  # PostgreSQL's crash safety is its own WAL: no file of ours to check
        return "ok"
    with read(found.engine) as connection:
        return str(connection.execute(text("PRAGMA integrity_check")).scalar())


def test_a_purge_killed_at_random_moments_never_breaks_anything(found, clock):
    clock.now = datetime.now(UTC).replace(microsecond=0)
    due = [seed_submission(found, ALL, at=clock.now - timedelta(days=3 * 366)) for _ in range(400)]
    rng = random.Random(os.urandom(8))
    acknowledged: list[str] = []
    killed_mid_way = 0
    for _round in range(KILLS):
        sender = Sender(found, clock.now)
        sender.start()
        process = start_purge(found, clock.now)
        time.sleep(rng.uniform(0.0, 0.8))
        killed_mid_way += process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.communicate()
        sender.stop.set()
        sender.join()
        assert sender.error is None
        acknowledged += [sid for sid, _at in sender.acknowledged]
        assert integrity(found) == "ok"
        verified = audit_verify(found)
        assert verified.returncode == 0 and "audit log intact" in verified.stdout, verified.stdout + verified.stderr
        assert set(stored(found, acknowledged).values()) <= {(GIVEN_KEYS, len(GIVEN), len(GIVEN))}
        # Whatever is half done is keys first: a submission is untouched, or all its keys are gone (and
        # on the ledger) with its ciphertext unreadable, maybe not yet removed. Never a key half way.
        left = stored(found, due)
        assert all(now == (4, 5, 5) or (now[0], now[2]) == (0, 0) for now in left.values()), left
        with read(found.engine) as connection:
            ledgered = set(connection.execute(select(erased_keys.c.submission_id)).scalars())
        assert ledgered == {sid for sid, now in left.items() if now[0] == 0}
    assert killed_mid_way, "every purge finished before it was killed: the test proves nothing"
    assert acknowledged, "nothing was sent meanwhile: the test proves nothing"
    # The next purge finishes the job, and the sweep finds nothing it left.
    finished = start_purge(found, clock.now)
    _out, errors = finished.communicate(timeout=300)
    assert finished.returncode == 0, errors
    run_job(found, next(job for job in jobs() if job.id == "retention.ciphertext_sweep"))
    assert set(stored(found, due).values()) == {(0, 0, 0)}
    assert set(stored(found, acknowledged).values()) == {(GIVEN_KEYS, len(GIVEN), len(GIVEN))}
    with read(found.engine) as connection:
        assert ciphertext.orphaned_keys(connection) == []
        assert connection.execute(select(func.count()).select_from(erased_keys)).scalar_one() == 4 * len(due)
    assert integrity(found) == "ok" and audit_verify(found).returncode == 0
