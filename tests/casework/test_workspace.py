"""The caseworker's workspace: my cases, create and close, deputy, outcomes, new-feedback counts, alerts inbox."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import cases_for, open_alerts_by_case
from casefeedback.storage.engine import read
from casefeedback.storage.tables import case_outcomes, cases, staff
from tests.casework.support import events, feedback, new_case, person
from tests.conftest import canary, csrf_token
from tests.test_invariants import assert_nowhere


def nonce(html: str) -> str:
    match = re.search(r'name="nonce"[^>]*value="([0-9a-f]+)"', html) or re.search(
        r'value="([0-9a-f]+)"[^>]*name="nonce"', html)
    assert match, "no nonce in the outcome form"
    return match.group(1)


def create(someone, reference: str):  # type: ignore[no-untyped-def]
    page = someone.get("/casework/").get_data(as_text=True)
    return someone.client.post("/casework/", data={"service": "victim-support", "reference": reference,
                                                   "csrf_token": csrf_token(page)})


def test_create_a_case_and_the_same_form_twice_keeps_one(app, found):
    casey = person(app)
    first = create(casey, "VS-100")
    assert first.status_code == 303
    again = create(casey, "VS-100")
    assert again.status_code == 409 and "already have an open case with this reference" in again.get_data(as_text=True)
    with read(found.engine) as connection:
        assert len(connection.execute(select(cases).where(cases.c.reference == "VS-100")).all()) == 1
    assert [e.outcome for e in events(found, "case.create")] == ["success"]


def test_bad_case_reference_is_a_clear_400(app):
    casey = person(app)
    response = create(casey, "<script>")
    assert response.status_code == 400 and "Use letters, numbers" in response.get_data(as_text=True)


def test_my_cases_lists_open_and_closed_with_counts(app, found):
    casey = person(app)
    open_id = new_case(found, casey, "OPEN-1")
    closed_id = new_case(found, casey, "DONE-1")
    feedback(app, found, open_id, casey.id, {"treated": "4"})
    feedback(app, found, open_id, casey.id, {"treated": "2"})
    casey.form_post(f"/casework/cases/{closed_id}", f"/casework/cases/{closed_id}/close")
    page = casey.get("/casework/").get_data(as_text=True)
    assert "OPEN-1" in page and "DONE-1" not in page and "Open (1)" in page and "Closed (1)" in page
    assert '<strong class="tag tag--blue">2 new</strong>' in page
    assert "DONE-1" in casey.get("/casework/?status=closed").get_data(as_text=True)


def test_opening_feedback_makes_it_no_longer_new(app, found):
    casey = person(app)
    case_id = new_case(found, casey)
    submission_id = feedback(app, found, case_id, casey.id, {"treated": "4"})
    assert "1 new" in casey.get("/casework/").get_data(as_text=True)
    casey.get(f"/casework/submissions/{submission_id}")
    page = casey.get("/casework/").get_data(as_text=True)
    assert "new</strong>" not in page


def test_open_alerts_are_counted_per_case_and_the_inbox_is_at_hand(app, found):
    casey = person(app)
    case_id = new_case(found, casey, "ALERTED-1")
    quiet_id = new_case(found, casey, "QUIET-1")
    feedback(app, found, case_id, casey.id, {"safe_now": "no"})  # the policy's "unsafe-now" alert rule
    with read(found.engine) as connection:
        counts = open_alerts_by_case(connection, [case_id, quiet_id])
        row = connection.execute(select(staff).where(staff.c.id == casey.id)).one()
        listed = {c.id: c.open_alerts for c in cases_for(
            connection, StaffMember(row.id, row.username, row.display_name, row.role, row.team_id))}
    assert counts.get(case_id, 0) >= 1 and counts.get(quiet_id, 0) == 0
    assert listed[case_id] == counts[case_id] and listed[quiet_id] == 0
    listing = casey.get("/casework/").get_data(as_text=True)
    assert '<th scope="col" class="numeric">Open alerts</th>' in listing
    shown = f'<strong class="tag tag--red">{counts[case_id]} open</strong>'
    assert f'<td data-label="Open alerts" class="numeric">{shown}' in listing
    assert casey.get("/casework/alerts").status_code == 200


def test_closing_records_when_and_twice_changes_nothing(app, found, clock):
    casey = person(app)
    case_id = new_case(found, casey)
    page = f"/casework/cases/{case_id}"
    assert casey.form_post(page, f"{page}/close").status_code == 303
    closed_at = clock()
    clock.advance(minutes=5)
    again = casey.form_post(page, f"{page}/close")
    assert again.status_code == 409 and "already closed" in again.get_data(as_text=True)
    with read(found.engine) as connection:
        row = connection.execute(select(cases).where(cases.c.id == case_id)).one()
    assert row.status == "closed" and row.closed_at == closed_at
    assert len(events(found, "case.close")) == 1


def test_a_deputy_can_be_chosen_from_the_team_and_then_sees_the_case(app, found):
    casey = person(app)
    deputy = person(app)
    outsider = person(app, team="South")
    case_id = new_case(found, casey)
    page = f"/casework/cases/{case_id}"
    assert deputy.get(page).status_code == 404
    refused = casey.form_post(page, f"{page}/deputy", {"deputy": outsider.id})
    assert refused.status_code == 400
    assert casey.form_post(page, f"{page}/deputy", {"deputy": deputy.id}).status_code == 303
    assert deputy.get(page).status_code == 200
    # The deputy cannot close the case or change its deputy.
    assert deputy.form_post(page, f"{page}/close").status_code == 403
    assert casey.form_post(page, f"{page}/deputy", {"deputy": ""}).status_code == 303
    assert deputy.get(page).status_code == 404  # takes effect on the very next request


def test_outcome_is_sealed_readable_per_policy_and_audited(app, found, config):
    casey = person(app)
    supervisor = person(app, "supervisor")
    colleague = person(app)
    case_id = new_case(found, casey)
    page = f"/casework/cases/{case_id}"
    secret = canary()
    html = casey.get(page).get_data(as_text=True)
    response = casey.client.post(f"{page}/outcomes", data={"text": f"Moved to a safe house {secret}",
                                                           "nonce": nonce(html), "csrf_token": csrf_token(html)})
    assert response.status_code == 303 and secret not in response.headers["Location"]
    assert secret in casey.get(page).get_data(as_text=True)
    assert secret in supervisor.get(page).get_data(as_text=True)  # team_supervisor may read outcomes
    assert colleague.get(page).status_code == 404  # a team member does not even see the case
    with read(found.engine) as connection:
        stored = connection.execute(select(case_outcomes)).one()
    assert secret.encode() not in stored.ciphertext
    assert_nowhere(config, [secret])
    opened = [e for e in events(found, "field.open") if e.object_type == "outcome"]
    assert {(e.actor_id, e.field_class, e.outcome) for e in opened} == {
        (casey.id, "case_outcome", "allowed"), (supervisor.id, "case_outcome", "allowed")}
    [recorded] = events(found, "case.outcome")
    # The outcome's id is a detail, not the event's outcome (a 32-character column PostgreSQL enforces).
    assert recorded.outcome == "success" and json.loads(recorded.detail)["outcome_id"] == stored.id


def test_outcome_form_posted_twice_records_once(app, found):
    casey = person(app)
    case_id = new_case(found, casey)
    page = f"/casework/cases/{case_id}"
    html = casey.get(page).get_data(as_text=True)
    data = {"text": "Referred to counselling", "nonce": nonce(html), "csrf_token": csrf_token(html)}
    assert casey.client.post(f"{page}/outcomes", data=data).status_code == 303
    twice = casey.client.post(f"{page}/outcomes", data=data)
    assert twice.status_code == 409 and "already recorded" in twice.get_data(as_text=True)
    with read(found.engine) as connection:
        assert len(connection.execute(select(case_outcomes)).all()) == 1


def test_empty_or_too_long_outcome_is_refused_clearly(app, found):
    casey = person(app)
    case_id = new_case(found, casey)
    page = f"/casework/cases/{case_id}"
    for text, message in (("", "Write the outcome"), ("x" * 4001, "Keep it under 4000 characters")):
        html = casey.get(page).get_data(as_text=True)
        response = casey.client.post(f"{page}/outcomes", data={"text": text, "nonce": nonce(html),
                                                               "csrf_token": csrf_token(html)})
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    with read(found.engine) as connection:
        assert connection.execute(select(case_outcomes)).first() is None


def test_supervisors_see_their_teams_cases_and_not_others(app, found):
    casey = person(app)
    south = person(app, team="South")
    boss = person(app, "supervisor")
    other_boss = person(app, "supervisor", team="South")
    mine = new_case(found, casey, "NORTH-1")
    new_case(found, south, "SOUTH-1")
    page = boss.get("/casework/").get_data(as_text=True)
    assert "NORTH-1" in page and "SOUTH-1" not in page
    assert boss.get(f"/casework/cases/{mine}").status_code == 200
    assert other_boss.get(f"/casework/cases/{mine}").status_code == 404


def test_not_yours_is_exactly_not_found(app, found):
    casey = person(app)
    stranger = person(app, team="South")
    case_id = new_case(found, casey)
    for suffix in ("", "/invitations"):
        mine = stranger.get(f"/casework/cases/{case_id}{suffix}")
        nothing = stranger.get(f"/casework/cases/00000000-0000-4000-8000-000000000000{suffix}")
        assert mine.status_code == nothing.status_code == 404
        assert mine.get_data() == nothing.get_data()
    for action in ("close", "deputy", "outcomes"):
        mine = stranger.form_post("/casework/", f"/casework/cases/{case_id}/{action}", {"text": "x", "nonce": "a" * 32})
        nothing = stranger.form_post("/casework/", f"/casework/cases/nope/{action}", {"text": "x", "nonce": "a" * 32})
        assert mine.status_code == nothing.status_code == 404, action
        assert mine.get_data() == nothing.get_data()
    with read(found.engine) as connection:
        assert connection.execute(select(cases.c.status).where(cases.c.id == case_id)).scalar() == "open"


def test_other_roles_have_no_workspace(app):
    for role in ("administrator", "auditor", "analyst"):
        someone = person(app, role, team=None)
        for path in ("/casework/", "/casework/alerts", "/casework/break-glass", "/casework/notifications"):
            assert someone.get(path).status_code == 403, (role, path)
