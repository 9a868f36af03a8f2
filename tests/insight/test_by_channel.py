"""Insight by channel, and failure demand and the staff voice beside what service users said: suppressed like
every other figure (a count under the service's threshold is hidden, and no total gives it back)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import insert, select

from casefeedback.insight.service import figures
from casefeedback.intake.whole import WholeConsent, WholeFeedback, take_whole
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import failure_demand, staff, staff_voice
from tests.casework.support import person
from tests.conftest import StaffFactory

SERVICE = "victim-support"  # suppress_below = 10


def _take(app: Flask, found: Services, staff_id: str, channel: str, times: int) -> None:
    with app.app_context():
        for _ in range(times):
            take_whole(found, WholeFeedback(SERVICE, "en", {"treated": "5"}, WholeConsent({"store": True}, "verbal", 1),
                                            channel, recorded_by=staff_id))


def _seed(found: Services, table, rows: list[dict[str, str]]) -> None:  # type: ignore[no-untyped-def]
    day = datetime(2026, 11, 1, tzinfo=UTC)
    with write(found.engine) as connection:
        connection.execute(insert(table), [{"id": str(uuid.uuid4()), "service_id": SERVICE, "occurred_at": day,
                                            "channel": None, **row} for row in rows])


def test_channels_and_what_staff_said_are_shown_only_above_the_threshold(
        app: Flask, found: Services, staff_factory: StaffFactory) -> None:
    staff_id, _, _ = staff_factory("caseworker")
    _take(app, found, staff_id, "phone", 12)
    _take(app, found, staff_id, "paper", 3)
    _seed(found, failure_demand, [{"category": "chasing_progress"}] * 11 + [{"category": "wrong_information"}] * 2)
    _seed(found, staff_voice, [{"category": "systems", "impact": "slowed"}] * 10
          + [{"category": "time", "impact": "blocked"}] * 4)
    shown = figures(found, {"service": SERVICE, "from": "2026-11", "to": "2026-11"}).channels
    assert shown is not None
    by_channel = {row.key: row.value for row in shown.by_channel}
    assert by_channel["phone"] == 12 and by_channel["paper"] is None and by_channel["web"] is None
    assert shown.channel_total == 12  # the sum of what is shown: the 3 on paper cannot be differenced back
    assert {r.key: r.value for r in shown.failure_demand or ()}["chasing_progress"] == 11
    assert {r.key: r.value for r in shown.failure_demand or ()}["wrong_information"] is None
    assert shown.failure_total == 11
    assert {r.key: r.value for r in shown.staff_voice or ()} == {
        "systems": 10, "rules": None, "handoffs": None, "information": None, "time": None}
    assert {r.key: r.value for r in shown.staff_voice_impact or ()} == {"slowed": 10, "partly": None, "blocked": None}

    analyst = person(app, "analyst")
    page = analyst.get(f"/insight/?service={SERVICE}&from=2026-11&to=2026-11").get_data(as_text=True)
    assert "How feedback came in" in page and "Failure demand marked by staff" in page
    assert "What got in the way of serving someone" in page


def test_one_team_shows_channels_but_not_what_is_kept_without_a_team(app: Flask, found: Services,
                                                                     staff_factory: StaffFactory) -> None:
    _seed(found, failure_demand, [{"category": "chasing_progress"}] * 12)
    worker = person(app)
    with read(found.engine) as connection:
        team_id = connection.execute(select(staff.c.team_id).where(staff.c.id == worker.id)).scalar_one()
    shown = figures(found, {"service": SERVICE, "team": team_id, "from": "2026-11", "to": "2026-11"}).channels
    assert shown is not None and shown.failure_demand is None and shown.staff_voice is None
