"""Running the registered jobs on APScheduler, with their timing kept in the encrypted store.

Job state: our own small table (``worker_jobs``: last start, last finish,
outcome), not APScheduler's SQLAlchemyJobStore. That store pickles callables
into the database — a tampered row would run code — and creates its table
outside our migrations. Our jobs are defined in code; only *when they last
ran* needs keeping, and that is what lets the worker catch up after
downtime: at start, a job whose last run is more than one interval ago runs
at once (once, however many runs were missed: coalesce).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import insert, select, update

from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import worker_jobs
from casefeedback.worker.job import Idle, Job

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobState:
    id: str
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_outcome: str | None
    last_error: str | None
    runs: int


def job_states(found: Services) -> dict[str, JobState]:
    with read(found.engine) as connection:
        rows = connection.execute(select(worker_jobs)).all()
    return {r.id: JobState(r.id, r.last_started_at, r.last_finished_at, r.last_outcome, r.last_error, r.runs)
            for r in rows}


def next_run(job: Job, state: JobState | None, now: datetime) -> datetime:
    """At once if the job never ran or is overdue (downtime), else one interval after its last run."""
    last = state.last_started_at if state else None
    if last is None or last + job.every <= now:
        return now
    return last + job.every


def run_job(found: Services, job: Job) -> str:
    """Run one job now, recording start, finish and outcome. Never raises: a failing job must not stop the others."""
    started = found.clock()
    _record(found, job.id, last_started_at=started)
    try:
        summary = job.run(found)
        outcome, error = "ok", None
    except Exception as failure:  # the worker must outlive any one job's failure
        # The type, not the message: a message may quote data.
        log.error("job %s failed: %s", job.id, type(failure).__name__, exc_info=failure)
        summary, outcome, error = f"failed ({type(failure).__name__})", "failed", type(failure).__name__
    _record(found, job.id, last_finished_at=found.clock(), last_outcome=outcome, last_error=error, ran=True)
    log.log(logging.DEBUG if isinstance(summary, Idle) else logging.INFO, "job %s: %s", job.id, summary)
    return summary


def _record(found: Services, job_id: str, *, ran: bool = False, **values: object) -> None:
    with write(found.engine) as connection:
        exists = connection.execute(select(worker_jobs.c.runs).where(worker_jobs.c.id == job_id)).first()
        if exists is None:
            connection.execute(insert(worker_jobs).values(id=job_id, runs=0))
        if ran:
            values["runs"] = worker_jobs.c.runs + 1
        connection.execute(update(worker_jobs).where(worker_jobs.c.id == job_id).values(**values))


def run_all_once(found: Services, all_jobs: Sequence[Job], *, only_due: bool = False) -> dict[str, str]:
    states = job_states(found)
    now = found.clock()
    return {job.id: run_job(found, job) for job in all_jobs
            if not only_due or next_run(job, states.get(job.id), now) <= now}


def schedule(scheduler: BaseScheduler, found: Services, all_jobs: Sequence[Job]) -> None:
    """Add every job to ``scheduler``: first run from the stored state (catch-up), then on its interval."""
    states = job_states(found)
    # APScheduler runs on real time; our clock is only for what the jobs record.
    now = datetime.now(UTC)
    for job in all_jobs:
        first = next_run(job, states.get(job.id), now)
        scheduler.add_job(run_job, IntervalTrigger(seconds=job.every.total_seconds(), start_date=first),
                          args=(found, job), id=job.id, name=job.description, next_run_time=first,
                          misfire_grace_time=int(job.misfire_grace.total_seconds()), coalesce=True,
                          max_instances=1, replace_existing=True)


def scheduler_options() -> dict[str, object]:
    return {
        "jobstores": {"default": MemoryJobStore()},
        # A few threads: an alert delivery must not wait behind a long purge.
        "executors": {"default": ThreadPoolExecutor(max_workers=4)},
        "timezone": UTC,
    }


def wait_forever(stop: Callable[[], bool]) -> None:
    while not stop():
        time.sleep(0.5)
