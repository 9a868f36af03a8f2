"""The monthly cache of submission counts gives the same figures as counting live, and catches up within a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from casefeedback.insight import monthly
from casefeedback.insight.counts import Scope
from casefeedback.insight.filters import months_between
from casefeedback.insight.report import build
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import consent_receipts
from tests.insight.support import SERVICE
from tests.retention.conftest import seed_case, seed_submission

SCOPE = Scope(SERVICE, None, "2026-09", "2026-11")


def test_cached_months_match_live_counts_and_refresh_after_a_day(found, clock):
    case_id = seed_case(found, team="North")
    ids = [seed_submission(found, {"treated": "3"}, case_id=case_id, share_insight=i % 2 == 0,
                           at=datetime(2026, 10, 3, tzinfo=UTC) + timedelta(hours=i)) for i in range(24)]
    policy = found.policies.services[SERVICE]
    with read(found.engine) as connection:
        live = build(connection, policy, SCOPE)
        assert monthly.needs_refresh(connection, SCOPE, clock.now)
    with write(found.engine) as connection:
        assert monthly.refresh(connection, SERVICE, months_between("2026-09", "2026-11"), clock.now) == 3
    with read(found.engine) as connection:
        assert not monthly.needs_refresh(connection, SCOPE, clock.now)
        cached = build(connection, policy, SCOPE, clock.now)
    assert cached == live
    october = next(c for c in cached.consent if c.month == "2026-10")
    assert (october.shared, october.asked) == (12, 24)

    with write(found.engine) as connection:  # two people stop sharing
        connection.execute(update(consent_receipts).where(consent_receipts.c.submission_id.in_(ids[:4:2]))
                           .values(choices='{"store": true, "share_insight": false}'))
    with read(found.engine) as connection:
        still = next(c for c in build(connection, policy, SCOPE, clock.now).consent if c.month == "2026-10")
    assert (still.shared, still.asked) == (12, 24)  # the cache is at most a day old...
    clock.advance(days=1, seconds=1)
    with read(found.engine) as connection:
        assert monthly.needs_refresh(connection, SCOPE, clock.now)
    with write(found.engine) as connection:
        monthly.refresh(connection, SERVICE, months_between("2026-09", "2026-11"), clock.now)
    with read(found.engine) as connection:
        now_shown = next(c for c in build(connection, policy, SCOPE, clock.now).consent if c.month == "2026-10")
    assert (now_shown.shared, now_shown.asked) == (10, 24)  # ...and catches up after that
