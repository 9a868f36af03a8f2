"""The worker's retention jobs beyond the purge itself (which worker/jobs.py runs)."""

from __future__ import annotations

from datetime import timedelta

from casefeedback.retention import ciphertext
from casefeedback.services import Services
from casefeedback.worker.job import Job, idle, register


def run_ciphertext_sweep(found: Services) -> str:
    """Ciphertext whose key a purge destroyed before it stopped (a crash, a restart): removed now."""
    removed = ciphertext.sweep(found)
    summary = f"{removed} answer(s) removed whose data key was already destroyed"
    return summary if removed else idle(summary)


register(Job("retention.ciphertext_sweep", timedelta(hours=1), run_ciphertext_sweep,
             "remove ciphertext whose data key is already destroyed (left by a purge that stopped half way)"))
