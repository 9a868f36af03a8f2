"""Alert volumes and time to acknowledge, suppressed like every other figure."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from casefeedback.insight.counts import Scope
from casefeedback.insight.report import build
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import alerts
from tests.insight.support import SERVICE
from tests.retention.conftest import seed_case


def raise_alerts(found, case_id, count, month_day, minutes):
    raised = month_day
    rows = [{"id": str(uuid.uuid4()), "reference": secrets.token_hex(6), "service_id": SERVICE,
             "rule_id": "unsafe", "severity": "high", "submission_id": str(uuid.uuid4()), "case_id": case_id,
             "raised_at": raised, "chain": "[]", "acknowledge_seconds": 3600, "max_attempts": 3, "step": 0,
             "acknowledged_at": raised + timedelta(minutes=minutes)} for _ in range(count)]
    with write(found.engine) as connection:
        connection.execute(alerts.insert(), rows)


def test_alerts_per_month_with_time_to_acknowledge_and_small_numbers_hidden(found):
    north, south = seed_case(found, team="North"), seed_case(found, team="South")
    raise_alerts(found, north, 12, datetime(2026, 1, 5, tzinfo=UTC), 30)
    raise_alerts(found, south, 3, datetime(2026, 1, 6, tzinfo=UTC), 600)  # too few: in no figure
    policy = found.policies.services[SERVICE]
    with read(found.engine) as connection:
        everyone = build(connection, policy, Scope(SERVICE, None, "2026-01", "2026-02"))
    assert everyone.alerts is not None
    january, february = everyone.alerts
    assert (january.raised, january.acknowledged, round(january.mean_minutes)) == (12, 12, 30)
    assert (february.raised, february.mean_minutes) == (None, None)
