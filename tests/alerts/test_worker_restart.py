"""The real scheduler: delivers at once, and a worker stopped mid-escalation catches up when it starts again."""

from __future__ import annotations

import time

from apscheduler.schedulers.background import BackgroundScheduler

from casefeedback.worker.registry import jobs
from casefeedback.worker.scheduler import schedule, scheduler_options
from tests.alerts.conftest import email_of
from tests.alerts.support import all_alerts, told
from tests.casework.support import feedback


def start_worker(found):  # type: ignore[no-untyped-def]
    scheduler = BackgroundScheduler(**scheduler_options())
    schedule(scheduler, found, [job for job in jobs() if job.id.startswith("alerts.")])
    scheduler.start()
    return scheduler


def wait_for(condition, limit: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    # A generous limit against a slow machine; not a timing assertion (the benchmark measures time).
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_worker_killed_and_restarted_mid_escalation(app, found, team, clock, smtp):
    assert {"alerts.deliver", "alerts.escalate"} <= {job.id for job in jobs()}
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    worker = start_worker(found)
    try:
        assert wait_for(lambda: len(smtp.mailbox.to(email_of(team.owner))) == 1)
    finally:
        worker.shutdown(wait=True)  # the worker goes away ...
    clock.advance(minutes=16)  # ... and the deadline passes while it is down
    time.sleep(0.2)
    assert smtp.mailbox.to(email_of(team.deputy)) == []
    worker = start_worker(found)  # on start it catches up from the state in the database
    try:
        assert wait_for(lambda: len(smtp.mailbox.to(email_of(team.deputy))) == 1)
    finally:
        worker.shutdown(wait=True)
    assert [r for _i, _s, r in told(found, alert.id)] == ["case_owner", "case_deputy"]
    assert len(smtp.mailbox.to(email_of(team.owner))) == 1  # nobody told twice
