"""The worker: background jobs (APScheduler) in ONE process beside the web workers.

Never in the web workers: with several gunicorn workers every job would run
several times over, and a long purge would hold a request thread. On SQLite,
one ``casefeedback worker`` process per instance (it refuses to start a second)
runs every registered job on its interval; on PostgreSQL any number may run and
the one holding the leader lock runs them (``leader``).

Adding a job: in a module imported by ``registry``, call
``register(Job(id=..., every=timedelta(...), run=fn, description=...))`` (both
from ``job``) where ``fn(services) -> str`` returns a one-line summary of
counts (never content), wrapped in ``idle(...)`` (also from ``job``) when the run
found nothing to do: that summary is logged at DEBUG, every other at INFO.
"""
