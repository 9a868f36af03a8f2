"""The worker's backup round, hourly: back up when due, prune, rotate the KEK when due, retire old KEKs."""

from __future__ import annotations

from datetime import timedelta

from casefeedback.backup.schedule import keep_horizon
from casefeedback.services import Services
from casefeedback.worker.job import Job, idle, register


def run_backup_round(found: Services) -> str:
    """One line for the log: what was done, what failed (the administrators are alerted), whether the horizon holds."""
    done = keep_horizon(found)
    report = done.report
    standing = "" if report is None else (f"; erasure horizon {report.days} days " +
                                          ("met" if report.met else f"held back ({len(report.held_back)})"))
    summary = done.summary() + standing
    return summary if done.done or done.failed or (report is not None and not report.met) else idle(summary)


register(Job("backup.round", timedelta(hours=1), run_backup_round,
             "back up on the policy's cadence, prune backups past their keep, rotate and retire "
             "key-encryption keys: the erasure horizon"))
