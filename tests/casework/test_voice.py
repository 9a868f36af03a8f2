"""Failure demand marked on a case, and what got in the way: stored de-identified, audited, bad input refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events, failure_demand, staff_voice
from tests.casework.support import new_case, person
from tests.conftest import csrf_token


def _rows(found: Services, table) -> list:  # type: ignore[no-untyped-def, type-arg]
    with read(found.engine) as connection:
        return list(connection.execute(select(table)).all())


def _mark(someone, case_id: str, **data: str):  # type: ignore[no-untyped-def]
    page = someone.get(f"/casework/cases/{case_id}/failure-demand").get_data(as_text=True)
    return someone.client.post(f"/casework/cases/{case_id}/failure-demand",
                               data={"csrf_token": csrf_token(page), **data})


def test_failure_demand_is_kept_without_the_case_and_audited_with_it(app: Flask, found: Services) -> None:
    worker = person(app)
    case_id = new_case(found, worker, "FD-1")
    page = worker.get(f"/casework/cases/{case_id}/failure-demand").get_data(as_text=True)
    assert "Chasing progress" in page and "Wrong information given" in page  # the policy's categories
    marked = _mark(worker, case_id, category="chasing_progress", channel="phone")
    assert marked.status_code == 303
    (row,) = _rows(found, failure_demand)
    assert (row.service_id, row.category, row.channel) == ("victim-support", "chasing_progress", "phone")
    assert row.occurred_at == found.clock().replace(hour=0, minute=0, second=0, microsecond=0)  # a day only
    assert case_id not in str(tuple(row)) and worker.id not in str(tuple(row))
    with read(found.engine) as connection:
        event = connection.execute(select(audit_events).where(
            audit_events.c.action == "failure_demand.mark")).one()
    assert (event.object_id, event.actor_id) == (case_id, worker.id) and "chasing_progress" in event.detail


@pytest.mark.parametrize(("data", "message"), [
    ({}, "Choose what kind of failure demand it was"),
    ({"category": "made_up"}, "Choose what kind of failure demand it was."),
    ({"category": "chasing_progress", "channel": "owl"}, "Choose one of the channels listed"),
    ({"category": "chasing_progress", "day": "not a date"}, "Not a valid date value."),
    ({"category": "chasing_progress", "day": "2099-01-01"}, "The day cannot be in the future."),
    ({"category": "chasing_progress", "day": "2020-01-01"}, "within the last 90 days"),
])
def test_bad_failure_demand_is_refused_with_a_message_and_nothing_kept(
        app: Flask, found: Services, data: dict[str, str], message: str) -> None:
    worker = person(app)
    case_id = new_case(found, worker)
    refused = _mark(worker, case_id, **data)
    assert refused.status_code == 400 and message in refused.get_data(as_text=True)
    assert _rows(found, failure_demand) == []


def test_failure_demand_on_a_case_not_yours_is_not_found(app: Flask, found: Services) -> None:
    owner, stranger = person(app), person(app, team="South")
    case_id = new_case(found, owner)
    page = stranger.get("/casework/what-got-in-the-way").get_data(as_text=True)
    refused = stranger.client.post(f"/casework/cases/{case_id}/failure-demand",
                                   data={"csrf_token": csrf_token(page), "category": "chasing_progress"})
    assert refused.status_code == 404 and _rows(found, failure_demand) == []


def test_what_got_in_the_way_is_kept_without_the_person_who_said_it(app: Flask, found: Services) -> None:
    worker = person(app, "duty_manager")
    page = worker.get("/casework/what-got-in-the-way").get_data(as_text=True)
    yesterday = (found.clock() - timedelta(days=1)).date().isoformat()
    done = worker.client.post("/casework/what-got-in-the-way", data={
        "csrf_token": csrf_token(page), "service": "victim-support", "category": "handoffs", "impact": "blocked",
        "channel": "web", "day": yesterday})
    assert done.status_code == 200 and "Thank you" in done.get_data(as_text=True)
    (row,) = _rows(found, staff_voice)
    assert (row.category, row.impact, row.channel) == ("handoffs", "blocked", "web")
    assert worker.id not in str(tuple(row))
    with read(found.engine) as connection:
        assert connection.execute(select(func.count()).select_from(audit_events).where(
            audit_events.c.action == "staff.voice", audit_events.c.actor_id == worker.id)).scalar_one() == 1


@pytest.mark.parametrize(("data", "message"), [
    ({"service": "victim-support", "category": "handoffs"}, "Choose how much it got in the way"),
    ({"service": "victim-support", "category": "nope", "impact": "blocked"}, "Choose what got in the way."),
    ({"service": "elsewhere", "category": "handoffs", "impact": "blocked"}, "Choose a service."),
    ({"service": "victim-support", "category": "handoffs", "impact": "a lot"}, "Choose how much it got in the way."),
])
def test_bad_staff_voice_is_refused_with_a_message_and_nothing_kept(
        app: Flask, found: Services, data: dict[str, str], message: str) -> None:
    worker = person(app)
    page = worker.get("/casework/what-got-in-the-way").get_data(as_text=True)
    refused = worker.client.post("/casework/what-got-in-the-way", data={"csrf_token": csrf_token(page), **data})
    assert refused.status_code == 400 and message in refused.get_data(as_text=True)
    assert _rows(found, staff_voice) == []
