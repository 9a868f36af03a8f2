"""The relation rules, generated: every role × every way of standing to a case × every break-glass state.

``policy/relations.py`` states each rule twice — in Python for the case in hand
and in SQL for a list of cases — from one table. Here both forms meet real rows
in a real (plain, in-memory) SQLite database, for every staff role, a person who
is the case's owner, its deputy or neither; in its team, another team or none;
with no break-glass of their own on it, an open one, an expired one (long ago,
or exactly now) or one they ended. A list that showed one case more than the
page would open is the bug this catches.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, StaticPool, create_engine, insert, select

from casefeedback.policy import model
from casefeedback.policy.decisions import Actor, CaseFacts
from casefeedback.policy.relations import (
    RELATION_NAMES,
    holders_clause,
    may_manage,
    may_record_outcome,
    may_see_case,
    relation_clause,
    relations,
    visible_clause,
    visible_or_glass_clause,
)
from casefeedback.policy.roles import BREAK_GLASS_ROLES, CONTENT_ROLES, ROLES
from casefeedback.storage.tables import break_glass, cases, metadata, staff, teams

NOW = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
CASE_TEAM, OTHER_TEAM = "team-north", "team-south"
PLACEMENTS = ("owner", "deputy", "neither")
TEAMS = ("same", "other", "none")
GLASS = ("none", "open", "expired", "expires_now", "ended")


@dataclass(frozen=True)
class Situation:
    role: str
    placement: str
    team: str
    glass: str
    person: Actor
    case: CaseFacts

    @property
    def label(self) -> str:
        return f"{self.role}/{self.placement}/{self.team} team/break-glass {self.glass}"


def _situations() -> list[Situation]:
    found = []
    for n, (role, placement, team, glass) in enumerate(itertools.product(ROLES, PLACEMENTS, TEAMS, GLASS)):
        team_id = {"same": CASE_TEAM, "other": OTHER_TEAM, "none": None}[team]
        person = Actor(f"person-{n}", role, team_id)
        case = CaseFacts(f"case-{n}", owner_id=person.id if placement == "owner" else "the-owner",
                         deputy_id={"owner": None, "deputy": person.id, "neither": "the-deputy"}[placement],
                         team_id=CASE_TEAM)
        found.append(Situation(role, placement, team, glass, person, case))
    return found


SITUATIONS = _situations()
# The break-glass rows as inserted: (staff id, case id, expires at, ended at).
GLASS_ROWS = [
    (s.person.id, s.case.id, expires, ended)
    for s in SITUATIONS if s.glass != "none"
    for expires, ended in [{"open": (NOW + timedelta(minutes=30), None),
                            "expired": (NOW - timedelta(hours=1), None),
                            "expires_now": (NOW, None),
                            "ended": (NOW + timedelta(minutes=30), NOW - timedelta(minutes=5))}[s.glass]]
]


def _glass_open(person: Actor, case: CaseFacts) -> bool:
    """Worked out from the rows, independently of the code under test: not ended, expiring after now."""
    return any(staff_id == person.id and case_id == case.id and ended is None and expires > NOW
               for staff_id, case_id, expires, ended in GLASS_ROWS)


@pytest.fixture(scope="module")
def connection() -> Iterator[Connection]:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    metadata.create_all(engine, tables=[teams, staff, cases, break_glass])
    with engine.begin() as setup:
        setup.execute(insert(teams), [{"id": CASE_TEAM, "name": "North"}, {"id": OTHER_TEAM, "name": "South"}])
        people = [("the-owner", "caseworker", CASE_TEAM), ("the-deputy", "caseworker", CASE_TEAM)] + [
            (s.person.id, s.role, s.person.team_id) for s in SITUATIONS]
        setup.execute(insert(staff), [
            {"id": i, "username": i, "display_name": i, "role": role, "team_id": team, "password_hash": "x",
             "enabled": True, "created_at": NOW, "password_changed_at": NOW} for i, role, team in people])
        setup.execute(insert(cases), [
            {"id": s.case.id, "service_id": "victim-support", "reference": s.case.id, "team_id": s.case.team_id,
             "owner_id": s.case.owner_id, "deputy_id": s.case.deputy_id, "status": "open", "created_at": NOW}
            for s in SITUATIONS])
        setup.execute(insert(break_glass), [
            {"id": f"glass-{n}", "staff_id": staff_id, "case_id": case_id, "reason": "a reason",
             "opened_at": NOW - timedelta(hours=2), "expires_at": expires, "ended_at": ended}
            for n, (staff_id, case_id, expires, ended) in enumerate(GLASS_ROWS)])
    with engine.connect() as open_connection:
        yield open_connection
    engine.dispose()


def _selected(connection: Connection, where: object) -> set[str]:
    return set(connection.execute(select(cases.c.id).where(where)).scalars())  # type: ignore[arg-type]


def test_the_situations_cover_every_role_and_state() -> None:
    assert {s.role for s in SITUATIONS} == set(ROLES)
    assert len(SITUATIONS) == len(ROLES) * len(PLACEMENTS) * len(TEAMS) * len(GLASS)
    assert any(_glass_open(s.person, s.case) for s in SITUATIONS)


def test_the_relation_names_are_the_policy_vocabulary() -> None:
    assert set(RELATION_NAMES) == set(model.RELATIONS)
    assert len(RELATION_NAMES) == len(model.RELATIONS)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", RELATION_NAMES)
def test_each_relation_selects_in_sql_exactly_the_cases_it_holds_in_python(connection: Connection, role: str,
                                                                           name: str) -> None:
    """Every person of the role, against every case (their own and everybody else's)."""
    for situation in (s for s in SITUATIONS if s.role == role):
        person = situation.person
        expected = {s.case.id for s in SITUATIONS if name in relations(person, s.case)}
        assert _selected(connection, relation_clause(name, person, cases)) == expected, (situation.label, name)


@pytest.mark.parametrize("role", ROLES)
def test_the_case_list_shows_exactly_the_cases_a_page_would_open(connection: Connection, role: str) -> None:
    for situation in (s for s in SITUATIONS if s.role == role):
        person = situation.person
        normal = {s.case.id for s in SITUATIONS if may_see_case(person, s.case)}
        glass = {s.case.id for s in SITUATIONS if role in BREAK_GLASS_ROLES and _glass_open(person, s.case)}
        assert _selected(connection, visible_or_glass_clause(person, cases, break_glass, NOW)) == normal | glass, \
            situation.label
        # Without a time, break-glass never counts: the same as the normal rule.
        assert _selected(connection, visible_or_glass_clause(person, cases, break_glass, None)) == normal, \
            situation.label
        assert _selected(connection, visible_clause(person, cases)) == normal, situation.label


@pytest.mark.parametrize("situation", [s for s in SITUATIONS if s.glass == "none"], ids=lambda s: s.label)
def test_the_rules_for_a_case_in_hand_match_the_rule_table(situation: Situation) -> None:
    """Worked out here from the policy language, independently of the relation table."""
    person, case = situation.person, situation.case
    content = situation.role in CONTENT_ROLES
    owner = content and situation.placement == "owner"
    deputy = content and situation.placement == "deputy"
    team_supervisor = situation.role == "supervisor" and situation.team == "same"
    assert may_see_case(person, case) == (owner or deputy or team_supervisor), situation.label
    assert may_manage(person, case, through_break_glass=False) == (owner or team_supervisor), situation.label
    assert may_record_outcome(person, case, through_break_glass=False) == (owner or deputy or team_supervisor), \
        situation.label
    # Break-glass is for reading: it never lets anyone close, choose a deputy or record an outcome.
    assert not may_manage(person, case, through_break_glass=True), situation.label
    assert not may_record_outcome(person, case, through_break_glass=True), situation.label


@pytest.mark.parametrize("name", RELATION_NAMES)
def test_the_people_named_for_a_case_are_exactly_those_holding_the_relation(connection: Connection,
                                                                          name: str) -> None:
    """The table read the other way round (who is told of an alert on this case) agrees with ``relations()``."""
    everyone = [Actor(r.id, r.role, r.team_id) for r in connection.execute(select(staff.c.id, staff.c.role,
                                                                                  staff.c.team_id))]
    for situation in SITUATIONS[:: len(GLASS)]:
        case = situation.case
        expected = {p.id for p in everyone if name in relations(p, case)}
        found = set(connection.execute(select(staff.c.id).where(holders_clause(name, case, staff))).scalars())
        assert found == expected, (situation.label, name)
    # Without a case, only the relations that need none name anybody.
    no_case = set(connection.execute(select(staff.c.id).where(holders_clause(name, None, staff))).scalars())
    assert no_case == {p.id for p in everyone if name in relations(p, None)}, name
