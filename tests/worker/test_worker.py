"""The worker: one process, registered jobs, their state in the encrypted store, catching up after downtime."""

from __future__ import annotations

import fcntl
import os
import threading
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner
from sqlalchemy import select

from casefeedback.cli import main
from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_checkpoints, worker_jobs
from casefeedback.worker.job import _JOBS, Job, register
from casefeedback.worker.registry import jobs
from casefeedback.worker.scheduler import (
    JobState,
    job_states,
    next_run,
    run_all_once,
    run_job,
    schedule,
    scheduler_options,
)
from tests.retention.conftest import seed_submission

EVERY = timedelta(hours=1)


def test_the_built_in_jobs_are_registered():
    ids = {job.id for job in jobs()}
    assert {"retention.purge", "audit.checkpoint", "retention.ledger_sync", "storage.wal_truncate"} <= ids
    purge = next(job for job in jobs() if job.id == "retention.purge")
    # Deliberately not APScheduler's 1 s default: a run late by less than an interval still runs.
    assert purge.misfire_grace == purge.every == EVERY


def test_running_every_job_once_records_its_state(found, clock):
    seed_submission(found, {"treated": "3"})
    clock.advance(days=800)
    summaries = run_all_once(found, jobs())
    assert "erased 1 answer(s)" in summaries["retention.purge"]
    assert summaries["audit.checkpoint"].startswith("checkpoint at event")
    states = job_states(found)
    assert states["retention.purge"].last_outcome == "ok" and states["retention.purge"].runs == 1
    assert states["retention.purge"].last_finished_at == clock.now
    with read(found.engine) as connection:
        assert connection.execute(select(audit_checkpoints)).first() is not None


def test_the_purge_job_calls_the_expired_draft_hook(found, clock, monkeypatch):
    import casefeedback.intake.drafts as drafts

    calls = []

    def hook(connection, audit, now):
        calls.append((audit, now))
        return 4

    monkeypatch.setattr(drafts, "purge_expired_drafts", hook, raising=False)
    summary = run_job(found, next(job for job in jobs() if job.id == "retention.purge"))
    assert calls == [(found.audit, clock.now)] and "4 expired draft(s)" in summary


def test_a_failing_job_is_recorded_and_does_not_stop_the_others(found, clock):
    def broken(_found):
        raise RuntimeError("something with CANARY content")

    job = Job("test.broken", EVERY, broken, "always fails")
    try:
        register(job)
        results = run_all_once(found, [job, *jobs()])
    finally:
        _JOBS.pop("test.broken", None)
    assert results["test.broken"] == "failed (RuntimeError)"
    assert results["audit.checkpoint"].startswith("checkpoint")
    with read(found.engine) as connection:
        row = connection.execute(select(worker_jobs).where(worker_jobs.c.id == "test.broken")).one()
    assert row.last_outcome == "failed" and row.last_error == "RuntimeError"
    log = (found.config.instance_dir / "logs" / "casefeedback.log")
    assert not log.exists() or "CANARY" not in log.read_text()


def test_after_downtime_an_overdue_job_runs_at_once_and_a_recent_one_waits(clock):
    job = Job("x", EVERY, lambda found: "", "x")
    now = clock.now
    assert next_run(job, None, now) == now
    overdue = JobState("x", now - timedelta(hours=5), now - timedelta(hours=5), "ok", None, 3)
    assert next_run(job, overdue, now) == now  # once, not five times (coalesce)
    recent = JobState("x", now - timedelta(minutes=10), now - timedelta(minutes=9), "ok", None, 3)
    assert next_run(job, recent, now) == now + timedelta(minutes=50)


def test_the_scheduler_gets_every_job_with_deliberate_misfire_handling(found):
    scheduler = BackgroundScheduler(**scheduler_options())
    schedule(scheduler, found, jobs())
    added = {job.id: job for job in scheduler.get_jobs()}
    assert set(added) == {job.id for job in jobs()}
    purge = added["retention.purge"]
    assert purge.misfire_grace_time == 3600 and purge.coalesce is True and purge.max_instances == 1


def test_the_scheduler_runs_an_overdue_job_after_starting(found):
    ran = threading.Event()

    def mark(_found):
        ran.set()
        return "ran"

    job = Job("test.mark", EVERY, mark, "marks")
    scheduler = BackgroundScheduler(**scheduler_options())
    schedule(scheduler, found, [job])
    scheduler.start()
    try:
        assert ran.wait(timeout=60)
    finally:
        scheduler.shutdown(wait=True)
    assert job_states(found)["test.mark"].runs == 1


@pytest.fixture
def cli(found, monkeypatch):
    monkeypatch.setenv("CASEFEEDBACK_INSTANCE", str(found.config.instance_dir))
    monkeypatch.setenv("CASEFEEDBACK_POLICIES", str(found.config.policies_dir))
    return CliRunner()


def test_worker_once_from_the_command_line(cli):
    result = cli.invoke(main, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "retention.purge: erased 0 answer(s)" in result.output and "audit.checkpoint:" in result.output


def test_a_second_worker_is_refused(found, cli):
    fd = os.open(found.config.instance_dir / "worker.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # the first worker
    try:
        result = cli.invoke(main, ["worker", "--once"])
    finally:
        os.close(fd)
    assert result.exit_code == 1 and "a worker is already running" in result.output


def test_after_a_withdrawal_the_worker_empties_the_log_within_its_minute(found):
    from casefeedback.retention.erasure import erase
    from casefeedback.storage.engine import write
    from casefeedback.storage.tables import answers
    from tests.conftest import canary
    from tests.retention.conftest import decrypted_image

    submission_id = seed_submission(found, {"anything_else": canary()})
    with read(found.engine) as connection:
        ciphertext = connection.execute(select(answers.c.ciphertext)).scalar_one()
    with write(found.engine) as connection:  # as the receipt's "withdraw" does, inside a web request
        erase(connection, found.audit, submission_id=submission_id, reason="consent_withdrawn")
    database = found.config.database_path
    assert ciphertext in decrypted_image(database, found.config.secrets.database.value)  # still in old pages
    job = next(job for job in jobs() if job.id == "storage.wal_truncate")
    assert job.every == timedelta(minutes=1)
    assert job.run(found) == "write-ahead log folded in and emptied"
    assert database.with_name(database.name + "-wal").stat().st_size == 0
    assert ciphertext not in decrypted_image(database, found.config.secrets.database.value)
    assert run_job(found, job) == "no erasure since the last truncation"
