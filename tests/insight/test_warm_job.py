"""The worker's insight job fills the monthly cache, so a page view finds nothing stale."""

from __future__ import annotations

from casefeedback.insight import monthly
from casefeedback.insight.filters import Choices, parse
from casefeedback.insight.jobs import run_warm
from casefeedback.storage.engine import read
from casefeedback.worker.registry import jobs
from tests.helpers import ServiceUser


def test_warm_job_is_registered_and_leaves_the_default_view_fresh(app, found, clock):
    assert "insight.warm" in {job.id for job in jobs()}
    ServiceUser(app.test_client()).give_feedback({"treated": "3"}, choices=("store", "share_insight"))
    scope = parse({}, Choices({"victim-support": "Victim support"}, {}), clock.now)
    with read(found.engine) as connection:
        assert monthly.needs_refresh(connection, scope, clock.now)
    assert "month(s) of insight counts refreshed" in run_warm(found)
    with read(found.engine) as connection:
        assert not monthly.needs_refresh(connection, scope, clock.now)
