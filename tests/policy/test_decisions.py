"""The access decision: deny by default, relations from data, classes from policy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from casefeedback.policy import load_policies
from casefeedback.policy.decisions import (
    AccessGrant,
    Actor,
    AggregateOnly,
    BreakGlass,
    CaseFacts,
    Denial,
    break_glass_relations,
    decide,
    relations,
)
from casefeedback.policy.model import OUTCOME_CLASS, OrganisationPolicy
from tests.conftest import POLICIES

POLICY = load_policies(POLICIES).services["victim-support"]
CASE = CaseFacts("case-1", owner_id="owner", deputy_id="deputy", team_id="north")


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        (Actor("owner", "caseworker", "north"), {"case_owner", "team_member"}),
        (Actor("deputy", "caseworker", "north"), {"case_deputy", "team_member"}),
        (Actor("colleague", "caseworker", "north"), {"team_member"}),
        (Actor("boss", "supervisor", "north"), {"team_member", "team_supervisor"}),
        (Actor("other-boss", "supervisor", "south"), set()),
        (Actor("duty", "duty_manager", "south"), {"duty_manager"}),
        (Actor("owner", "administrator", "north"), set()),
        (Actor("owner", "auditor", "north"), set()),
        (Actor("owner", "analyst", "north"), set()),
    ],
)
def test_relations(actor, expected):
    assert relations(actor, CASE) == expected


@pytest.mark.parametrize("field_class", sorted(POLICY.classes))
@pytest.mark.parametrize(
    "actor",
    [
        Actor("owner", "caseworker", "north"),
        Actor("deputy", "caseworker", "north"),
        Actor("boss", "supervisor", "north"),
        Actor("duty", "duty_manager", "x"),
        Actor("owner", "administrator", "north"),
        Actor("stranger", "caseworker", "south"),
    ],
)
def test_decision_follows_the_policy_exactly(actor, field_class):
    decision = decide(POLICY, actor, CASE, "sub", field_class, "casework")
    allowed = bool(relations(actor, CASE) & set(POLICY.classes[field_class].read))
    assert isinstance(decision, AccessGrant) == allowed
    if not allowed:
        assert isinstance(decision, Denial) and decision.reason


def test_undeclared_class_and_unknown_purpose_are_denied():
    owner = Actor("owner", "caseworker", "north")
    assert isinstance(decide(POLICY, owner, CASE, "sub", "no-such-class", "casework"), Denial)
    assert isinstance(decide(POLICY, owner, CASE, "sub", "narrative", "curiosity"), Denial)


def test_own_record_needs_the_matching_receipt():
    holder = Actor("receipt", "receipt_holder")
    assert isinstance(
        decide(POLICY, holder, None, "sub", "narrative", "own_record", receipt_submission_id="sub"),
        AccessGrant,
    )
    assert isinstance(
        decide(POLICY, holder, None, "sub", "narrative", "own_record", receipt_submission_id="other"), Denial
    )
    staff = Actor("owner", "caseworker", "north")
    assert isinstance(
        decide(POLICY, staff, CASE, "sub", "narrative", "own_record", receipt_submission_id="sub"), Denial
    )


# --- break-glass, aggregate-only, and the organisation policy -------------------------------

LATER = datetime(2030, 1, 1, tzinfo=UTC)


def glass_case(staff_id: str, read_as: tuple[str, ...] = ("case_owner",)) -> CaseFacts:
    return CaseFacts("case-1", owner_id="owner", deputy_id=None, team_id="north",
                     break_glass=BreakGlass("glass-1", staff_id, read_as, LATER))


@pytest.mark.parametrize("field_class", sorted(POLICY.classes))
def test_break_glass_lends_exactly_the_declared_relations(field_class):
    south_boss = Actor("south-boss", "supervisor", "south")
    assert isinstance(decide(POLICY, south_boss, CASE, "sub", field_class, "casework"), Denial)
    decision = decide(POLICY, south_boss, glass_case("south-boss"), "sub", field_class, "casework")
    allowed = "case_owner" in POLICY.classes[field_class].read
    assert isinstance(decision, AccessGrant) == allowed
    if allowed:
        assert decision.break_glass_id == "glass-1" and decision.reason == "break-glass as case_owner"


def test_break_glass_is_only_for_its_holder_and_only_for_supervisors_and_duty_managers():
    case = glass_case("someone")
    assert break_glass_relations(Actor("other", "supervisor", "south"), case) == frozenset()
    for role in ("caseworker", "administrator", "auditor", "analyst"):
        assert break_glass_relations(Actor("someone", role, "south"), case) == frozenset(), role
        assert isinstance(decide(POLICY, Actor("someone", role, "south"), case, "s", "narrative", "casework"), Denial)
    assert break_glass_relations(Actor("someone", "duty_manager"), case) == {"case_owner"}


def test_a_normal_relation_wins_over_break_glass():
    boss = Actor("boss", "supervisor", "north")
    decision = decide(POLICY, boss, glass_case("boss"), "sub", "rating", "casework")
    assert isinstance(decision, AccessGrant) and decision.break_glass_id is None


@pytest.mark.parametrize("field_class", sorted(POLICY.classes))
@pytest.mark.parametrize("role", ["analyst", "supervisor", "duty_manager", "caseworker", "administrator", "auditor"])
def test_insight_is_aggregate_only_never_a_grant(field_class, role):
    decision = decide(POLICY, Actor("x", role, "north"), CASE, "sub", field_class, "insight")
    countable = POLICY.classes[field_class].insight == "aggregate" and role in ("analyst", "supervisor",
                                                                                 "duty_manager")
    assert isinstance(decision, AggregateOnly) == countable
    assert not isinstance(decision, AccessGrant)


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (Actor("owner", "caseworker", "north"), True),
        (Actor("deputy", "caseworker", "north"), True),
        (Actor("colleague", "caseworker", "north"), False),
        (Actor("boss", "supervisor", "north"), True),
        (Actor("duty", "duty_manager", "south"), False),
        (Actor("owner", "administrator", "north"), False),
    ],
)
def test_outcomes_are_decided_from_the_organisation_policy(actor, allowed):
    organisation = OrganisationPolicy()
    decision = decide(organisation, actor, CASE, "outcome-1", OUTCOME_CLASS, "casework")
    assert isinstance(decision, AccessGrant) == allowed
    # A class the organisation policy does not declare is denied.
    assert isinstance(decide(organisation, actor, CASE, "outcome-1", "narrative", "casework"), Denial)


def test_a_grant_cannot_be_forged():
    with pytest.raises(TypeError):
        AccessGrant(object(), Actor("x", "caseworker"), "sub", "narrative", "casework", "forged")
