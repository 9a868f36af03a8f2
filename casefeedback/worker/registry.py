"""The jobs the worker runs: defined in code, registered by id."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from casefeedback.services import Services

# Modules that register jobs when imported. A module that does not exist (yet)
# is skipped, so a domain can add its jobs without touching the worker's code.
JOB_MODULES: tuple[str, ...] = (
    "casefeedback.worker.jobs",  # issue 6: retention purge, audit checkpoints, erasure-ledger mirror
    "casefeedback.alerts.jobs",  # issue 5: outbox delivery, escalation
    "casefeedback.insight.jobs",  # issue 7: insight's monthly counts kept fresh
)


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


def register(job: Job) -> Job:
    if job.id in _JOBS and _JOBS[job.id] != job:
        raise ValueError(f"a different job is already registered as {job.id!r}")
    if job.every <= timedelta(0):
        raise ValueError(f"job {job.id!r} must run at a positive interval")
    _JOBS[job.id] = job
    return job


def jobs() -> list[Job]:
    """Every registered job, after importing the modules that register them."""
    for module in JOB_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name is None or not module.startswith(error.name):
                raise  # the module exists but something it imports does not: a real bug
    return sorted(_JOBS.values(), key=lambda job: job.id)
