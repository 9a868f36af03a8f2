"""An idle worker writes nothing at INFO: delivery and escalation tick every second, and a line per
tick would bury everything else in the log. A run that did something is still logged at INFO, and
APScheduler's own per-run lines are off."""

from __future__ import annotations

import logging

from casefeedback.logs import configure_logging
from casefeedback.worker.job import Idle, idle
from casefeedback.worker.registry import jobs
from casefeedback.worker.scheduler import run_all_once
from tests.retention.conftest import seed_submission


def info_and_above(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.INFO]


def test_a_minute_of_idle_ticks_writes_nothing_at_info(found, clock, caplog):
    run_all_once(found, jobs())  # the first run at start does real work (a first checkpoint, say)
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="casefeedback")
    ran: dict[str, int] = {}
    for _tick in range(130):  # a simulated minute and a little more, in half-second ticks
        clock.advance(seconds=0.5)
        for job_id in run_all_once(found, jobs(), only_due=True):
            ran[job_id] = ran.get(job_id, 0) + 1
    assert ran["alerts.deliver"] >= 120 and ran["alerts.escalate"] >= 60 and ran["storage.wal_truncate"] >= 1
    assert info_and_above(caplog) == []
    quiet = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert "job alerts.deliver: 0 sent, 0 to retry, 0 undeliverable" in quiet
    assert "job alerts.escalate: 0 escalated" in quiet


def test_every_job_run_again_with_nothing_new_is_quiet(found, clock, caplog):
    run_all_once(found, jobs())
    caplog.clear()
    caplog.set_level(logging.INFO, logger="casefeedback")
    summaries = run_all_once(found, jobs())
    # Signing a checkpoint is routine (every minute), so it is DEBUG like the rest.
    assert info_and_above(caplog) == []
    assert all(isinstance(summary, Idle) for summary in summaries.values()), summaries
    checkpoint = [job for job in jobs() if job.id == "audit.checkpoint"]
    run_all_once(found, checkpoint)
    assert isinstance(run_all_once(found, checkpoint)["audit.checkpoint"], Idle)  # nothing new to sign


def test_a_run_that_did_something_is_still_at_info(found, clock, caplog):
    run_all_once(found, jobs())
    seed_submission(found, {"treated": "3"})
    clock.advance(days=800)
    caplog.clear()
    caplog.set_level(logging.INFO, logger="casefeedback")
    summaries = run_all_once(found, jobs())
    assert not isinstance(summaries["retention.purge"], Idle)
    assert any(message.startswith("job retention.purge: erased 1 answer(s)") for message in info_and_above(caplog))


def test_an_idle_summary_reads_like_any_other():
    summary = idle("0 escalated")
    assert summary == "0 escalated" and f"{summary}" == "0 escalated" and isinstance(summary, Idle)


def test_apscheduler_says_only_what_goes_wrong(found):
    configure_logging(found.config)
    for name in ("apscheduler.scheduler", "apscheduler.executors.default"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO)
        assert logging.getLogger(name).isEnabledFor(logging.WARNING)
