"""The worker: background jobs (APScheduler) in ONE process beside the web workers.

Never in the web workers: with several gunicorn workers every job would run
several times over, and a long purge would hold a request thread. One
``casefeedback worker`` process per instance (it refuses to start a second)
runs every registered job on its interval.

Adding a job (issue 5: outbox delivery, escalation): in a module listed in
``JOB_MODULES`` (or any module imported before the worker starts), call
``register(Job(id=..., every=timedelta(...), run=fn, description=...))`` where
``fn(services) -> str`` returns a one-line summary of counts (never content).
"""

from casefeedback.worker.registry import JOB_MODULES, Job, jobs, register

__all__ = ["JOB_MODULES", "Job", "jobs", "register"]
