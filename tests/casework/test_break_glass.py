"""Break-glass: a written reason, re-authentication, a time limit, the team's supervisor told, the audit flagged."""

from __future__ import annotations

import json

from sqlalchemy import select

from casefeedback.storage.engine import read
from casefeedback.storage.tables import break_glass, staff_notifications
from tests.casework.support import events, feedback, new_case, person
from tests.conftest import canary, csrf_token, next_code

REASON = "Urgent safety alert out of hours; the caseworker and their supervisor cannot be reached."


def glass(someone, case_key: str, reason: str = REASON, *, password: str | None = None,  # type: ignore[no-untyped-def]
          code: str | None = None):
    page = someone.get("/casework/break-glass").get_data(as_text=True)
    found = someone.client.application.extensions["casefeedback"]
    return someone.client.post("/casework/break-glass", data={
        "case": case_key, "reason": reason, "password": password or someone.password,
        "code": code or next_code(found, someone.username), "csrf_token": csrf_token(page)})


def scenario(app, found):  # type: ignore[no-untyped-def]
    casey = person(app)  # North
    north_boss = person(app, "supervisor")  # is told
    south_boss = person(app, "supervisor", team="South")  # uses break-glass
    case_id = new_case(found, casey, "VS-77")
    story, safer = canary(), canary()
    submission_id = feedback(app, found, case_id, casey.id,
                             {"treated": "2", "anything_else": story, "safer": safer})
    return casey, north_boss, south_boss, case_id, submission_id, story, safer


def test_break_glass_opens_for_a_limited_time_and_is_flagged_everywhere(app, found, clock):
    _, north_boss, south_boss, case_id, submission_id, story, safer = scenario(app, found)
    reading = f"/casework/submissions/{submission_id}"
    assert south_boss.get(f"/casework/cases/{case_id}").status_code == 404
    assert south_boss.get(reading).status_code == 404

    response = glass(south_boss, "VS-77")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/casework/cases/{case_id}")
    case_page = south_boss.get(f"/casework/cases/{case_id}").get_data(as_text=True)
    # 10:00 UTC is 10:00 in London in November (GMT); the exact instant stays in the <time> element.
    assert ('You are using break-glass on this case until <time datetime="2026-11-02T10:00:00Z" class="nowrap">'
            '10:00</time>') in case_page
    page = south_boss.get(reading).get_data(as_text=True)
    # read_as = ["case_owner"]: what the owner may read, the break-glass holder reads.
    assert story in page and safer in page

    (opened,) = events(found, "break_glass.open")
    detail = json.loads(opened.detail)
    assert opened.actor_id == south_boss.id and opened.object_id == case_id and opened.outcome == "granted"
    assert detail["break_glass"] is True and detail["reason"] == REASON and detail["supervisors_notified"] == 1
    flagged = [json.loads(e.detail) for e in events(found, "field.open") if e.actor_id == south_boss.id]
    assert flagged and all(d["break_glass"] is True and d["break_glass_id"] == detail["break_glass_id"]
                           for d in flagged)

    # The case owner's supervisor is told, in the app.
    with read(found.engine) as connection:
        (notice,) = connection.execute(select(staff_notifications)).all()
    assert notice.recipient_id == north_boss.id and notice.kind == "break_glass" and notice.case_id == case_id
    inbox = north_boss.get("/casework/notifications").get_data(as_text=True)
    assert "used break-glass to open case VS-77" in inbox and REASON in inbox
    assert "Notifications (1 new)" in north_boss.get("/casework/").get_data(as_text=True)

    # Thirty minutes later it is over, on the next request.
    for _ in range(2):
        clock.advance(minutes=14, seconds=30)
        assert south_boss.get(reading).status_code == 200  # still open (and the session stays active)
    clock.advance(minutes=1, seconds=1)
    assert south_boss.get(reading).status_code == 404
    assert south_boss.get(f"/casework/cases/{case_id}").status_code == 404


def test_wrong_password_or_code_opens_nothing(app, found):
    _, _, south_boss, case_id, submission_id, _, _ = scenario(app, found)
    for bad in ({"password": "not-the-password"}, {"code": "000000"}):
        response = glass(south_boss, case_id, **bad)
        assert response.status_code == 401 and "Nothing has been opened" in response.get_data(as_text=True)
    assert south_boss.get(f"/casework/submissions/{submission_id}").status_code == 404
    assert events(found, "break_glass.open") == []
    assert [e.outcome for e in events(found, "staff.reauthenticate")] == ["failure", "failure"]
    with read(found.engine) as connection:
        assert connection.execute(select(break_glass)).first() is None


def test_a_reason_is_required(app, found):
    _, _, south_boss, case_id, _, _, _ = scenario(app, found)
    response = glass(south_boss, case_id, reason="because")
    assert response.status_code == 400 and "Write between 20 and 1000 characters" in response.get_data(as_text=True)


def test_unknown_case_and_normal_access_are_refused_clearly(app, found):
    _, north_boss, south_boss, case_id, _, _, _ = scenario(app, found)
    missing = glass(south_boss, "NO-SUCH-CASE")
    assert missing.status_code == 404 and "No case has that reference" in missing.get_data(as_text=True)
    normal = glass(north_boss, case_id)
    assert normal.status_code == 409 and "break-glass is not needed" in normal.get_data(as_text=True)
    assert events(found, "break_glass.open") == []


def test_caseworkers_cannot_break_glass(app, found):
    _, _, _, case_id, _, _, _ = scenario(app, found)
    south_worker = person(app, team="South")
    assert south_worker.get("/casework/break-glass").status_code == 403
    refused = south_worker.form_post("/casework/", "/casework/break-glass",
                                     {"case": case_id, "reason": REASON, "password": south_worker.password,
                                      "code": "123456"})
    assert refused.status_code == 403 and events(found, "break_glass.open") == []


def test_a_duty_manager_can_and_sending_the_form_twice_opens_one(app, found):
    _, _, _, case_id, submission_id, story, safer = scenario(app, found)
    duty = person(app, "duty_manager", team="Duty")
    before = duty.get(f"/casework/submissions/{submission_id}").get_data(as_text=True)
    assert safer in before and story not in before  # the duty_manager relation reads safety only
    assert glass(duty, case_id).status_code == 303
    again = glass(duty, case_id)
    assert again.status_code == 303
    assert "already have break-glass on this case" in duty.get("/casework/").get_data(as_text=True)
    assert len(events(found, "break_glass.open")) == 1
    assert story in duty.get(f"/casework/submissions/{submission_id}").get_data(as_text=True)


def test_ending_break_glass_early(app, found):
    _, _, south_boss, case_id, submission_id, _, _ = scenario(app, found)
    glass(south_boss, case_id)
    response = south_boss.form_post(f"/casework/cases/{case_id}", f"/casework/cases/{case_id}/break-glass/end")
    assert response.status_code == 303
    assert south_boss.get(f"/casework/submissions/{submission_id}").status_code == 404
    assert [e.outcome for e in events(found, "break_glass.end")] == ["ended"]


def test_break_glass_reads_but_does_not_manage(app, found):
    _, _, south_boss, case_id, _, _, _ = scenario(app, found)
    glass(south_boss, case_id)
    page = f"/casework/cases/{case_id}"
    assert south_boss.form_post(page, f"{page}/close").status_code == 404
    assert south_boss.get(f"{page}/invitations").status_code == 404
