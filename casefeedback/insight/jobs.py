"""The worker keeps insight's monthly counts fresh, so no page view has to count live.

Without it the first view after the cache goes stale recounts every month of the
default period (seconds at 200 000 submissions); with it a view only reads.
"""

from __future__ import annotations

from datetime import timedelta

from casefeedback.insight import monthly
from casefeedback.insight.filters import DEFAULT_MONTHS, month_index, month_text, months_between
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.worker.job import Job, idle, register


def run_warm(found: Services) -> str:
    now = found.clock()
    last = now.strftime("%Y-%m")
    months = months_between(month_text(month_index(last) - DEFAULT_MONTHS + 1), last)
    recounted = 0
    for service_id in found.policies.services:
        with write(found.engine) as connection:
            recounted += monthly.refresh(connection, service_id, months, now)
    summary = f"{recounted} month(s) of insight counts refreshed"
    return summary if recounted else idle(summary)


# Shorter than the current month's staleness (five minutes), so views find it fresh.
register(Job("insight.warm", timedelta(minutes=4), run_warm, "refresh insight's monthly counts ahead of page views"))
