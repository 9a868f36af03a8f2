"""Staff pages in words: roles, services, relations, severities and states by name, and times in local time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from flask import Flask, render_template_string

from casefeedback.labels import (
    STATE_COLOURS,
    STATE_NAMES,
    relation_label,
    role_label,
    service_label,
    severity_label,
    severity_tag,
    state_label,
    state_tag,
    when,
)
from casefeedback.policy.relations import RELATION_NAMES
from casefeedback.policy.roles import ROLES

WINTER = datetime(2026, 12, 3, 14, 5, tzinfo=UTC)  # GMT: London shows the same clock time
SUMMER = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)  # BST: London is an hour ahead, already the next day


def test_every_role_and_relation_has_a_name_in_words() -> None:
    assert role_label("duty_manager") == "Duty manager"
    assert relation_label("team_supervisor") == "Team supervisor"
    assert relation_label("case_owner") == "Case owner"
    for name in (*ROLES, *RELATION_NAMES):
        shown = role_label(name) if name in ROLES else relation_label(name)
        assert "_" not in shown and shown[0].isupper(), name


def test_severities_and_states_in_words() -> None:
    assert severity_label("urgent") == "Urgent" and severity_label("routine") == "Routine"
    assert state_label("stranded") == "Nobody left to tell"
    assert state_label("dead") == "Could not be delivered"
    assert state_label("closed") == "Closed"
    assert set(STATE_COLOURS) == set(STATE_NAMES)  # every state that has words has a colour, and no other


def test_an_unknown_value_shows_as_itself_never_an_error() -> None:
    assert role_label("night_porter") == "Night porter"
    assert state_label("on_hold") == "On hold"
    assert severity_label("") == "" and role_label(None) == "" and service_label(None) == ""


def test_a_tag_always_carries_its_words_as_well_as_its_colour() -> None:
    assert str(state_tag("stranded")) == '<strong class="tag tag--red">Nobody left to tell</strong>'
    assert str(severity_tag("urgent")) == '<strong class="tag tag--red">Urgent</strong>'
    assert str(state_tag("<b>odd</b>")) == '<strong class="tag">&lt;b&gt;odd&lt;/b&gt;</strong>'


def test_a_service_is_named_as_its_policy_names_it(app: Flask) -> None:
    with app.app_context():
        assert service_label("victim-support") == "Victim support"
        assert service_label("retired-service") == "retired-service"


def test_when_is_compact_local_and_keeps_the_exact_instant_in_utc(app: Flask) -> None:
    with app.app_context():
        assert str(when(WINTER)) == '<time datetime="2026-12-03T14:05:00Z" class="nowrap">3 Dec 2026, 14:05</time>'
        assert str(when(SUMMER)) == '<time datetime="2026-07-01T23:30:00Z" class="nowrap">2 Jul 2026, 00:30</time>'
        assert str(when(SUMMER, "date")) == '<time datetime="2026-07-02" class="nowrap">2 Jul 2026</time>'
        assert str(when(WINTER, "time")) == '<time datetime="2026-12-03T14:05:00Z" class="nowrap">14:05</time>'
        assert str(when(datetime(2026, 9, 9, 8, 0))).endswith(">9 Sept 2026, 09:00</time>")  # naive: UTC
        assert str(when(None)) == ""
        assert str(when(date(2026, 3, 1))) == '<time datetime="2026-03-01" class="nowrap">1 Mar 2026</time>'


def test_when_takes_the_organisations_time_zone_from_its_working_hours(app: Flask) -> None:
    found = app.extensions["casefeedback"]
    organisation = found.policies.organisation
    hours = replace(organisation.working_hours, time_zone="America/New_York")
    app.extensions["casefeedback"] = replace(found, policies=replace(
        found.policies, organisation=replace(organisation, working_hours=hours)))
    try:
        with app.app_context():
            assert ">3 Dec 2026, 09:05</time>" in str(when(WINTER))
            assert 'datetime="2026-12-03T14:05:00Z"' in str(when(WINTER))
    finally:
        app.extensions["casefeedback"] = found


@pytest.mark.parametrize("offset", [timedelta(hours=5), timedelta(hours=-8)])
def test_an_aware_time_in_another_zone_is_the_same_instant(app: Flask, offset: timedelta) -> None:
    with app.app_context():
        assert when(WINTER.astimezone(timezone(offset))) == when(WINTER)


def test_the_filters_are_registered_on_the_app(app: Flask) -> None:
    with app.test_request_context():
        shown = render_template_string(
            "{{ 'duty_manager'|role_label }}|{{ 'victim-support'|service_label }}|{{ 'case_deputy'|relation_label }}|"
            "{{ 'urgent'|severity_label }}|{{ 'acknowledged'|state_label }}|{{ moment|when }}", moment=WINTER)
    assert shown == ('Duty manager|Victim support|Case deputy|Urgent|Acknowledged|'
                     '<time datetime="2026-12-03T14:05:00Z" class="nowrap">3 Dec 2026, 14:05</time>')
