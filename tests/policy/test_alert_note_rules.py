"""The note of what was done about an alert: read by case-outcome readers and by those who may act on the alert."""

from __future__ import annotations

from casefeedback.policy.alert_access import alert_note_rules
from casefeedback.policy.decisions import AccessGrant, Actor, CaseFacts, decide
from casefeedback.policy.model import OUTCOME_CLASS, OutcomeRules

OUTCOMES = OutcomeRules()  # read: case_owner, case_deputy, team_supervisor
ACT = ("case_owner", "case_deputy", "team_supervisor", "duty_manager")


def test_the_duty_manager_reads_the_note_on_an_anonymous_alert_they_resolved():
    notes = alert_note_rules(OUTCOMES, ACT)
    duty = Actor(id="d1", role="duty_manager")
    assert isinstance(decide(notes, duty, None, "alert-1", OUTCOME_CLASS, "casework"), AccessGrant)
    # With the case-outcome rule alone, nobody could ever read it.
    assert not isinstance(decide(alert_note_rules(OUTCOMES, ()), duty, None, "alert-1", OUTCOME_CLASS,
                                 "casework"), AccessGrant)


def test_a_same_team_caseworker_still_may_not():
    notes = alert_note_rules(OUTCOMES, ACT)
    case = CaseFacts("c1", owner_id="owner", deputy_id=None, team_id="north")
    colleague = Actor(id="someone-else", role="caseworker", team_id="north")
    assert not isinstance(decide(notes, colleague, case, "alert-1", OUTCOME_CLASS, "casework"), AccessGrant)
    owner = Actor(id="owner", role="caseworker", team_id="north")
    assert isinstance(decide(notes, owner, case, "alert-1", OUTCOME_CLASS, "casework"), AccessGrant)
