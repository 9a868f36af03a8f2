"""What a background job is, and registering one by id.

A module that defines jobs imports this (never ``registry``, which imports
every such module) and calls ``register`` for each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from casefeedback.services import Services


class Idle(str):
    """A job's summary when it found nothing to do.

    Logged at DEBUG, not INFO: delivery and escalation run every second, and a line
    for each idle run would be tens of megabytes a day, burying the lines that
    matter. It reads like any summary otherwise.
    """


def idle(summary: str) -> str:
    """Mark ``summary`` as a run that did nothing."""
    return Idle(summary)


@dataclass(frozen=True)
class Job:
    id: str
    every: timedelta
    run: Callable[[Services], str]
    description: str
    # How late a run may start and still run. Deliberately the job's own
    # interval by default (APScheduler's default is 1 s, which would silently
    # drop a run after any pause): a run missed by less than that runs late;
    # runs missed by more are folded into one (coalesce).
    grace: timedelta | None = None

    @property
    def misfire_grace(self) -> timedelta:
        return self.grace if self.grace is not None else self.every


_JOBS: dict[str, Job] = {}
# The leader's heartbeat job (worker/jobs.py), whose last run the readiness check reads.
HEARTBEAT_JOB = "worker.heartbeat"


def register(job: Job) -> Job:
    if job.id in _JOBS and _JOBS[job.id] != job:
        raise ValueError(f"a different job is already registered as {job.id!r}")
    if job.every <= timedelta(0):
        raise ValueError(f"job {job.id!r} must run at a positive interval")
    _JOBS[job.id] = job
    return job


def registered() -> list[Job]:
    """Every job registered so far, by id."""
    return sorted(_JOBS.values(), key=lambda job: job.id)
