"""The administrator's screen: accounts, teams and assignments — after re-authentication, never content."""

from __future__ import annotations

import re

from sqlalchemy import select

from casefeedback.storage.engine import read
from casefeedback.storage.tables import cases, staff, staff_mfa, teams
from tests.casework.support import events, feedback, new_case, person
from tests.conftest import AuthActions, canary, csrf_token

TEMPORARY = re.compile(r'<p class="invitation-link">([A-Za-z0-9_-]{16,})</p>')


def admin_of(app):  # type: ignore[no-untyped-def]
    return person(app, "administrator", team=None)


def test_only_administrators_reach_the_admin_screen(app):
    for role in ("caseworker", "supervisor", "duty_manager", "auditor", "analyst"):
        someone = person(app, role)
        assert someone.get("/admin/").status_code == 403, role
        assert someone.form_post("/staff/account", "/admin/teams", {"name": "Sneaky"}).status_code == 403, role


def test_the_admin_screen_asks_to_confirm_after_a_while(app, clock):
    admin = admin_of(app)
    assert admin.get("/admin/").status_code == 200  # signing in just now counts as confirming
    clock.advance(minutes=6)
    response = admin.get("/admin/")
    assert response.status_code == 303 and "/staff/confirm?next=/admin/" in response.headers["Location"]
    confirmed = admin.auth.confirm(admin.username, admin.password)
    assert confirmed.status_code == 303
    assert admin.get("/admin/").status_code == 200


def test_a_post_without_recent_confirmation_changes_nothing(app, found, clock):
    admin = admin_of(app)
    page = admin.get("/admin/").get_data(as_text=True)
    clock.advance(minutes=6)
    response = admin.client.post("/admin/teams", data={"name": "Late team", "csrf_token": csrf_token(page)})
    assert response.status_code == 303 and "/staff/confirm" in response.headers["Location"]
    with read(found.engine) as connection:
        assert connection.execute(select(teams).where(teams.c.name == "Late team")).first() is None


def test_add_an_account_that_then_signs_in_and_sets_up_its_app(app, found):
    admin = admin_of(app)
    page = admin.get("/admin/staff/new").get_data(as_text=True)
    with read(found.engine) as connection:
        north = connection.execute(select(teams.c.id).where(teams.c.name == "North")).scalar()
    response = admin.client.post("/admin/staff/new", data={
        "username": "robin", "display_name": "Robin Newstarter", "role": "caseworker", "team": north or "",
        "csrf_token": csrf_token(page)})
    assert response.status_code == 200
    temporary = TEMPORARY.search(response.get_data(as_text=True)).group(1)
    assert "shown only now" in response.get_data(as_text=True)
    assert [e.outcome for e in events(found, "staff.add")] == ["success"]
    newcomer = app.test_client()
    first = AuthActions(newcomer).sign_in("robin", temporary)
    assert first.status_code == 303 and first.headers["Location"].endswith("/staff/sign-in/enrol")
    again = admin.form_post("/admin/staff/new", "/admin/staff/new", {
        "username": "robin", "display_name": "Robin Again", "role": "caseworker", "team": ""})
    assert again.status_code == 409 and "already a staff account called" in again.get_data(as_text=True)


def test_disabling_signs_the_person_out_everywhere_at_once(app, found):
    admin = admin_of(app)
    casey = person(app)
    assert casey.get("/casework/").status_code == 200
    response = admin.form_post(f"/admin/staff/{casey.id}", f"/admin/staff/{casey.id}/disable")
    assert response.status_code == 303
    assert casey.get("/casework/").status_code == 302
    assert casey.auth.sign_in(casey.username, casey.password).status_code == 401
    admin.form_post(f"/admin/staff/{casey.id}", f"/admin/staff/{casey.id}/enable")
    assert casey.auth.sign_in(casey.username, casey.password).status_code == 302


def test_reset_gives_a_temporary_password_and_forgets_the_app(app, found):
    admin = admin_of(app)
    casey = person(app)
    response = admin.form_post(f"/admin/staff/{casey.id}", f"/admin/staff/{casey.id}/reset",
                               {"password": "y", "second_factor": "y"})
    temporary = TEMPORARY.search(response.get_data(as_text=True)).group(1)
    assert casey.get("/casework/").status_code == 302
    with read(found.engine) as connection:
        assert connection.execute(select(staff_mfa).where(staff_mfa.c.staff_id == casey.id)).first() is None
    fresh = AuthActions(app.test_client()).sign_in(casey.username, temporary)
    assert fresh.headers["Location"].endswith("/staff/sign-in/enrol")
    nothing = admin.form_post(f"/admin/staff/{casey.id}", f"/admin/staff/{casey.id}/reset", {})
    assert nothing.status_code == 400 and "Choose what to reset" in nothing.get_data(as_text=True)


def test_a_role_change_takes_effect_on_the_next_request(app, found):
    admin = admin_of(app)
    casey = person(app)
    assert casey.get("/casework/").status_code == 200
    admin.form_post(f"/admin/staff/{casey.id}", f"/admin/staff/{casey.id}/update", {"role": "analyst", "team": ""})
    assert casey.get("/casework/").status_code == 403
    with read(found.engine) as connection:
        assert connection.execute(select(staff.c.role).where(staff.c.id == casey.id)).scalar() == "analyst"
    assert [e.outcome for e in events(found, "staff.update")] == ["success"]


def test_an_administrator_cannot_lock_themselves_out_or_raise_their_own_powers(app):
    admin = admin_of(app)
    for action, data in (("disable", {}), ("update", {"role": "supervisor", "team": ""}), ("reset", {"password": "y"})):
        response = admin.form_post(f"/admin/staff/{admin.id}", f"/admin/staff/{admin.id}/{action}", data)
        assert response.status_code == 403, action


def test_moving_cases_to_a_colleague_in_the_same_team(app, found):
    admin = admin_of(app)
    leaver = person(app)
    stayer = person(app)
    south = person(app, team="South")
    for n in range(3):
        new_case(found, leaver, f"L-{n}")
    refused = admin.form_post(f"/admin/staff/{leaver.id}", f"/admin/staff/{leaver.id}/move-cases", {"to": south.id})
    assert refused.status_code == 303
    with read(found.engine) as connection:
        assert connection.execute(select(cases).where(cases.c.owner_id == south.id)).first() is None
    moved = admin.form_post(f"/admin/staff/{leaver.id}", f"/admin/staff/{leaver.id}/move-cases", {"to": stayer.id})
    assert moved.status_code == 303
    with read(found.engine) as connection:
        owners = set(connection.execute(select(cases.c.owner_id)).scalars())
    assert owners == {stayer.id}
    assert "L-0" in stayer.get("/casework/").get_data(as_text=True)


def test_the_administrator_never_sees_content_or_case_references(app, found):
    admin = admin_of(app)
    casey = person(app)
    case_id = new_case(found, casey, "SECRET-REF-1")
    secret = canary()
    submission_id = feedback(app, found, case_id, casey.id, {"anything_else": secret, "safer": secret})
    pages = ["/admin/", f"/admin/staff/{casey.id}", "/admin/staff/new"]
    for path in pages:
        body = admin.get(path).get_data(as_text=True)
        assert secret not in body and "SECRET-REF-1" not in body, path
    for path in (f"/casework/cases/{case_id}", f"/casework/submissions/{submission_id}"):
        response = admin.get(path)
        assert response.status_code == 403 and secret not in response.get_data(as_text=True)
    assert events(found, "field.open") == []


def test_unknown_account_is_not_found(app):
    admin = admin_of(app)
    assert admin.get("/admin/staff/no-such-person").status_code == 404
    response = admin.form_post("/admin/", "/admin/staff/no-such-person/disable")
    assert response.status_code == 404
