"""Who may open, acknowledge and resolve an alert: exactly the rule's declared ``act`` relations, or having been told.

A safety alert names a case and a person in danger, so it is answered like the
case itself: the owner, the deputy, the team's supervisor and the duty manager
(the shipped rule's chain, the default ``act``) may act; a caseworker who only
shares the team, one from another team, and the roles that hold no cases may
not — they get exactly the answer a reference that does not exist gets, and a
refused attempt to act is audited.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from casefeedback.alerts.escalation import escalate_due
from casefeedback.services import Services
from tests.alerts.conftest import Team
from tests.alerts.support import all_alerts
from tests.casework.support import Person, events, feedback, person
from tests.conftest import Clock, canary, csrf_token

# The shipped rule "unsafe-now": escalate = case_owner, case_deputy, team_supervisor, duty_manager; no act.
MAY_ACT = ("owner", "deputy", "supervisor", "duty")
# Roles the alerts blueprint is not for at all: its role gate answers before any alert is looked up.
GATED = ("administrator", "auditor", "analyst")
MAY_NOT = ("same_team", "other_team", *GATED)


def cast(app: Flask, team: Team) -> dict[str, Person]:
    return {"owner": team.owner, "deputy": team.deputy, "supervisor": team.supervisor, "duty": team.duty,
            "same_team": person(app), "other_team": person(app, team="South"),
            "administrator": person(app, "administrator", team=None), "auditor": person(app, "auditor", team=None),
            "analyst": person(app, "analyst", team=None)}


def raise_and_escalate(app: Flask, found: Services, team: Team, clock: Clock, people: dict[str, Person]) -> Any:
    """A safety alert on the case, escalated through its whole chain, so everyone in it has been told.

    The clock moves past every session's idle limit on the way, so everyone signs in again after."""
    before = {a.id for a in all_alerts(found)}
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = [a for a in all_alerts(found) if a.id not in before]
    for _step in range(4):
        clock.advance(minutes=15, seconds=1)
        escalate_due(found)
    for someone in people.values():
        assert someone.auth.sign_in(someone.username, someone.password).status_code == 302
    return alert


def post(someone: Person, path: str, data: dict[str, str] | None = None) -> int:
    token = csrf_token(someone.get("/staff/account").get_data(as_text=True))
    return int(someone.client.post(path, data={**(data or {}), "csrf_token": token}).status_code)


def refused(name: str) -> int:
    return 403 if name in GATED else 404


def test_only_the_declared_relations_may_see_and_act_on_an_alert(app, found, team, clock):
    people = cast(app, team)
    alert = raise_and_escalate(app, found, team, clock, people)
    page = f"/alerts/a/{alert.reference}"
    # The same-team caseworker cannot see the case either: the alert must not reveal it.
    assert people["same_team"].get(f"/casework/cases/{team.case_id}").status_code == 404

    for name in MAY_NOT:
        someone = people[name]
        shown = someone.get(page)
        assert shown.status_code == refused(name), name
        assert someone.get("/alerts/a/A-NOSUCH00").status_code == refused(name), name
        assert alert.reference not in shown.get_data(as_text=True)
        inbox = someone.get("/alerts/")
        assert alert.reference not in inbox.get_data(as_text=True), name
        assert post(someone, f"{page}/acknowledge") == refused(name), name
        assert post(someone, f"{page}/resolve", {"outcome": "Done."}) == refused(name), name
    (row,) = all_alerts(found)
    assert row.acknowledged_at is None and row.resolved_at is None
    # Refusals that reached the alert (not the role gate) are audited, naming who tried.
    for action in ("alert.acknowledge", "alert.resolve"):
        denied = [e for e in events(found, action) if e.outcome == "denied"]
        assert {e.actor_id for e in denied} == {people["same_team"].id, people["other_team"].id}, action
        assert all(e.object_id == alert.id for e in denied)

    for name in MAY_ACT:
        someone = people[name]
        shown = someone.get(page)
        assert shown.status_code == 200, name
        assert "C-1" in shown.get_data(as_text=True), name  # the case reference, for those who may act
        assert alert.reference in someone.get("/alerts/").get_data(as_text=True), name
    assert post(people["deputy"], f"{page}/acknowledge") == 303
    assert all_alerts(found)[0].acknowledged_by == team.deputy.id
    for name in MAY_ACT:
        assert post(people[name], f"{page}/acknowledge") == 303, name  # already acknowledged: nothing changes
    for name in MAY_ACT:
        fresh = raise_and_escalate(app, found, team, clock, people)
        assert post(people[name], f"/alerts/a/{fresh.reference}/resolve", {"outcome": "Called her."}) == 303, name
        assert next(a for a in all_alerts(found) if a.id == fresh.id).resolved_by == people[name].id


def test_the_first_person_told_may_act_before_anyone_else_is(app, found, team):
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    # Not yet told, the deputy may still act: the rule declares case_deputy.
    assert team.deputy.get(f"/alerts/a/{alert.reference}").status_code == 200
    assert alert.reference in team.owner.get("/alerts/").get_data(as_text=True)
    assert alert.reference not in team.deputy.get("/alerts/").get_data(as_text=True)  # the inbox: what you were told


def test_refused_people_never_see_the_answer_and_no_read_is_audited_for_them(app, found, team, clock):
    """The answer on the alert's page goes through the same decision as on the case page: for those who may
    act and whom the class allows, one audited read each; for everyone refused, no answer and no read at all."""
    people = cast(app, team)
    secret = canary()
    before = {a.id for a in all_alerts(found)}
    feedback(app, found, team.case_id, team.owner.id, {"safer": f"I do not feel safe {secret}"})
    (alert,) = [a for a in all_alerts(found) if a.id not in before]  # harm-words-safety: safety class
    for _step in range(4):
        clock.advance(hours=1, seconds=1)
        escalate_due(found)
    for someone in people.values():
        assert someone.auth.sign_in(someone.username, someone.password).status_code == 302
    page = f"/alerts/a/{alert.reference}"

    def reads(someone: Person) -> list[Any]:
        return [e for e in events(found, "field.open") + events(found, "field.withhold")
                if e.object_type == "answer" and e.actor_id == someone.id]

    for name in MAY_NOT:
        someone = people[name]
        for response in (someone.get(page), someone.client.get("/alerts/")):
            assert secret not in response.get_data(as_text=True), name
        assert post(someone, f"{page}/resolve", {"outcome": ""}) == refused(name), name
        assert reads(someone) == [], name
    # The class "safety" is read by the owner, the deputy, the supervisor and the duty manager.
    for name in MAY_ACT:
        shown = people[name].get(page).get_data(as_text=True)
        assert secret in shown, name
        assert [(e.action, e.outcome) for e in reads(people[name])] == [("field.open", "allowed")], name
