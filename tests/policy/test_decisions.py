"""The access decision: deny by default, relations from data, classes from policy."""

from __future__ import annotations

import pytest

from casefeedback.policy import load_policies
from casefeedback.policy.decisions import AccessGrant, Actor, CaseFacts, Denial, decide, relations
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
