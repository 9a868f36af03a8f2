"""The demo (`scripts/serve --demo`): people to sign in as, and two years of de-identified history that
fills every part of /insight, looks like a real service to the auditor, and keeps small numbers hidden."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest
from flask import Flask
from sqlalchemy import func, select

from casefeedback.audit.paging import search_page
from casefeedback.audit.review import Filters
from casefeedback.demo import DEMO_SERVICE, credentials_file, seed
from casefeedback.demo_history import SERVICE_CHANGE_MONTHS_AGO
from casefeedback.insight.filters import month_index, month_text
from casefeedback.insight.service import Figures, figures
from casefeedback.policy.model import WorkingHours
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import answers, data_keys, insight_counts, submissions
from tests.conftest import AuthActions

BASE = "http://127.0.0.1:5000"


@pytest.fixture
def seeded(app: Flask, found: Services) -> str:
    started = time.monotonic()
    text = seed(found, BASE)
    # Fast enough for `scripts/serve --demo` on a slow machine (the passwords' hashing included).
    assert time.monotonic() - started < 10
    return text


def test_the_credentials_list_an_analyst_who_can_open_insight(app, found, seeded):
    assert re.search(r"analyst\s+username ana\s+password \S+\s+authenticator key [A-Z2-7]+", seeded)
    assert f"{BASE}/insight" in seeded and "service change" in seeded
    assert credentials_file(found).read_text(encoding="utf-8") == seeded
    password = re.search(r"username ana\s+password (\S+)", seeded).group(1)  # type: ignore[union-attr]
    auth = AuthActions(app.test_client())
    auth.sign_in("ana", password)
    response = auth.client.get("/insight/")
    assert response.status_code == 200
    assert "Feedback received" in response.get_data(as_text=True)


def test_fewer_than_one_in_ten_events_is_flagged_by_the_auditors_review(found, seeded):
    everything = search_page(found, Filters())
    flagged = search_page(found, Filters(flagged_only=True))
    assert everything.total > 1000  # staff really did things: reads, acknowledgements, resolutions
    assert 0 < flagged.total < everything.total / 10
    reads = search_page(found, Filters(action="field.open"))
    assert reads.total > 100
    # Mostly weekday working hours, as a real service's reads are; only the few out of hours are flagged.
    assert flagged.total < reads.total / 3
    # And the same review, under a policy that expects nobody at work, flags every read: it is the hours.
    nobody = replace(found, policies=replace(found.policies, organisation=replace(
        found.policies.organisation, working_hours=WorkingHours(days=("Sun",)))))
    assert search_page(nobody, Filters(flagged_only=True)).total >= reads.total


def figures_for(found: Services, **args: str) -> Figures:
    return figures(found, {"service": DEMO_SERVICE, **args})


def test_every_section_of_insight_shows_figures_over_the_default_period(found, seeded):
    report = figures_for(found).report
    assert sum(r.value or 0 for r in report.volumes) > 2000
    assert report.volume_total is not None
    assert any(c.rate is not None for c in report.consent)
    assert report.alerts is not None and any(a.raised is not None and a.mean_minutes for a in report.alerts)
    assert all(0 < a.mean_minutes < 30 for a in report.alerts if a.mean_minutes is not None)
    assert report.failure_demand and all(q.share("yes") is not None for q in report.failure_demand)
    assert report.questions
    for question in report.questions:
        assert question.total is not None and any(r.value for r in question.months), question.id
    treated = next(q for q in report.questions if q.kind == "rating")
    assert sum(m is not None for m in treated.monthly_means) > 12


def test_more_feedback_in_winter_than_in_summer(found, seeded):
    volumes = {r.key: r.value for r in figures_for(found).report.volumes}
    assert volumes["2026-01"] and volumes["2026-07"] and volumes["2026-01"] > 1.4 * volumes["2026-07"]
    assert volumes["2025-12"] and volumes["2025-06"] and volumes["2025-12"] > 1.4 * volumes["2025-06"]


def test_satisfaction_dips_after_the_service_change(found, seeded):
    change = month_index(found.clock().strftime("%Y-%m")) - SERVICE_CHANGE_MONTHS_AGO
    before = figures_for(found, **{"from": month_text(change - 6), "to": month_text(change - 1)}).report
    after = figures_for(found, **{"from": month_text(change), "to": month_text(change + 2)}).report

    def rating(report):  # type: ignore[no-untyped-def]
        return next(q for q in report.questions if q.kind == "rating").mean

    assert rating(after) < rating(before) - 0.3
    chased_before = next(q for q in before.questions if q.failure_demand).share("yes")
    chased_after = next(q for q in after.questions if q.failure_demand).share("yes")
    assert chased_after > chased_before + 0.1


def test_small_cells_are_still_hidden(found, seeded):
    report = figures_for(found).report
    treated = next(q for q in report.questions if q.kind == "rating")
    assert {r.key: r.value for r in treated.answers}["prefer_not_to_say"] is None
    assert report.alerts is not None and any(a.raised is None for a in report.alerts)  # quiet summer months
    with read(found.engine) as connection:
        small = connection.execute(select(func.count()).select_from(insight_counts)
                                   .where(insight_counts.c.n < found.policies.services[DEMO_SERVICE].suppress_below)
                                   ).scalar_one()
    assert small > 0  # small base counts exist, and every figure above was built without them
    for question in report.questions:
        assert all(r.value is None or r.value >= report.threshold for r in (*question.answers, *question.months))
    team = next(iter(figures_for(found).choices.teams))
    by_team = figures_for(found, team=team).report  # the history has no cases, so a team has nothing to show
    assert all(r.value is None for r in by_team.volumes)


def test_the_history_holds_no_answers_and_is_the_same_every_time(found, seeded, tmp_path):
    with read(found.engine) as connection:
        assert connection.execute(select(func.count()).select_from(answers)).scalar_one() == 0
        assert connection.execute(select(func.count()).select_from(data_keys)).scalar_one() == 0
        held = connection.execute(select(func.count()).select_from(submissions)).scalar_one()
        counts = sorted(connection.execute(select(insight_counts)).all())
    from casefeedback import create_app
    from tests.conftest import Clock, make_config

    other = create_app(make_config(tmp_path / "again"), clock=Clock())
    again: Services = other.extensions["casefeedback"]
    try:
        seed(again, BASE)
        with read(again.engine) as connection:
            assert connection.execute(select(func.count()).select_from(submissions)).scalar_one() == held
            assert sorted(connection.execute(select(insight_counts)).all()) == counts
    finally:
        again.engine.dispose()
