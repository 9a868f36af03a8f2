"""Every job the worker runs: the modules that define them, imported plainly.

A plain import, so a job module that is missing or broken stops the worker at
start with Python's own error naming it, rather than the worker running
without (say) alert delivery and nobody noticing until an alert goes unsent.
"""

from __future__ import annotations

from casefeedback.alerts import jobs as alert_jobs
from casefeedback.backup import jobs as backup_jobs
from casefeedback.insight import jobs as insight_jobs
from casefeedback.retention import jobs as retention_jobs
from casefeedback.worker import jobs as own_jobs
from casefeedback.worker.job import Job, register, registered

# Each registers its jobs when imported: retention purge, audit checkpoints and the
# erasure-ledger mirror; alert delivery and escalation; insight's monthly counts kept fresh;
# the sweep of ciphertext a purge left behind; backups, pruning and key rotation (the erasure horizon).
JOB_MODULES = (own_jobs, alert_jobs, insight_jobs, retention_jobs, backup_jobs)

__all__ = ["JOB_MODULES", "Job", "jobs", "register"]


def jobs() -> list[Job]:
    """Every registered job, by id."""
    return registered()
