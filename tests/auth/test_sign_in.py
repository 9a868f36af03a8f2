"""Sign-in and server-side sessions: password then code; sign-out, disabling or a new password ends them at once."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select

from casefeedback.auth import accounts
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events, staff, staff_sessions
from tests.conftest import csrf_token, next_code, totp_secret


def cookie(client) -> str:
    return client.get_cookie("casefeedback").value


def test_staff_pages_are_deny_by_default(client):
    for path in ("/casework/", "/casework/cases/x", "/casework/submissions/x", "/admin/", "/staff/",
                 "/staff/account", "/staff/confirm", "/casework/break-glass", "/casework/alerts"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/staff/sign-in"), path


def test_sign_in_works_and_wrong_password_is_plain(client, staff_factory, auth, found):
    _, username, password = staff_factory()
    bad = auth.sign_in(username, "not-the-password")
    assert bad.status_code == 401
    assert "The username or password is not right" in bad.get_data(as_text=True)
    good = auth.sign_in(username, password)
    assert good.status_code == 302 and good.headers["Location"].endswith("/casework/")
    assert client.get("/casework/").status_code == 200
    with read(found.engine) as connection:
        outcomes = [r.outcome for r in connection.execute(
            select(audit_events).where(audit_events.c.action == "staff.sign_in"))]
    assert outcomes == ["failure", "success"]


def test_the_right_password_alone_does_not_sign_in(client, staff_factory):
    _, username, password = staff_factory()
    page = client.get("/staff/sign-in").get_data(as_text=True)
    response = client.post("/staff/sign-in", data={"username": username, "password": password,
                                                   "csrf_token": csrf_token(page)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff/sign-in/code")
    assert client.get("/casework/").status_code == 302  # still not signed in
    assert "Enter your security code" in client.get("/staff/sign-in/code").get_data(as_text=True)


def test_wrong_code_is_refused_plainly_and_audited(client, staff_factory, auth, found):
    _, username, password = staff_factory()
    response = auth.sign_in(username, password, code="000000" if next_code(found, username) != "000000" else "111111")
    assert response.status_code == 401
    assert "That code is not right" in response.get_data(as_text=True)
    assert client.get("/casework/").status_code == 302
    with read(found.engine) as connection:
        event = connection.execute(select(audit_events).where(audit_events.c.action == "staff.sign_in")).one()
    assert event.outcome == "failure" and '"step":"code"' in event.detail
    # The right code still works afterwards (the challenge lasts a few minutes).
    assert auth.enter_code(next_code(found, username)).status_code == 302
    assert client.get("/casework/").status_code == 200


def test_a_code_works_once(client, staff_factory, auth, found, app):
    _, username, password = staff_factory()
    code = next_code(found, username)
    assert auth.sign_in(username, password, code=code).status_code == 302
    auth.sign_out()
    replay = auth.sign_in(username, password, code=code)
    assert replay.status_code == 401  # the same code, read over a shoulder, does not work twice


def test_the_second_step_expires(client, staff_factory, auth, found, clock):
    _, username, password = staff_factory()
    page = client.get("/staff/sign-in").get_data(as_text=True)
    client.post("/staff/sign-in", data={"username": username, "password": password, "csrf_token": csrf_token(page)})
    clock.advance(minutes=6)
    response = client.get("/staff/sign-in/code")
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff/sign-in")
    assert "finished within 5 minutes" in client.get("/staff/sign-in").get_data(as_text=True)


def test_the_code_page_cannot_be_used_without_the_password(client, staff_factory, found):
    _, username, _ = staff_factory()
    page = client.get("/staff/sign-in").get_data(as_text=True)
    response = client.post("/staff/sign-in/code", data={"code": next_code(found, username),
                                                        "csrf_token": csrf_token(page)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff/sign-in")
    assert client.get("/casework/").status_code == 302


@pytest.mark.production_password_hashing
def test_password_hash_is_argon2id_and_rehashed_when_parameters_move_on(staff_factory, auth, found):
    from argon2 import PasswordHasher

    _, username, password = staff_factory(username="hashcheck")
    with read(found.engine) as connection:
        stored = connection.execute(select(staff.c.password_hash).where(staff.c.username == "hashcheck")).scalar()
    assert stored.startswith("$argon2id$")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(password)
    with write(found.engine) as connection:
        connection.execute(staff.update().where(staff.c.username == username).values(password_hash=weak))
    assert auth.sign_in(username, password).status_code == 302
    with read(found.engine) as connection:
        rehashed = connection.execute(select(staff.c.password_hash).where(staff.c.username == username)).scalar()
    assert rehashed != weak and rehashed.startswith("$argon2id$") and "m=65536" in rehashed


def test_cookie_replayed_after_sign_out_is_refused(client, staff_factory, auth):
    _, username, password = staff_factory()
    auth.sign_in(username, password)
    old = cookie(client)
    auth.sign_out()
    client.set_cookie("casefeedback", old)
    response = client.get("/casework/")
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]


def test_disabling_an_account_ends_its_sessions_at_once(client, staff_factory, auth, found):
    staff_id, username, password = staff_factory()
    auth.sign_in(username, password)
    old = cookie(client)
    assert client.get("/casework/").status_code == 200
    with write(found.engine) as connection:
        accounts.disable(connection, staff_id)
    client.set_cookie("casefeedback", old)  # the disabled account's old cookie
    assert client.get("/casework/").status_code == 302
    assert auth.sign_in(username, password).status_code == 401


def test_changing_the_password_ends_its_sessions(client, staff_factory, auth, found):
    staff_id, username, password = staff_factory()
    auth.sign_in(username, password)
    with write(found.engine) as connection:
        accounts.set_password(connection, staff_id, "a-brand-new-long-password", found.clock())
    assert client.get("/casework/").status_code == 302


def test_idle_timeout_ends_the_session_with_a_clear_message(client, staff_factory, auth, clock):
    _, username, password = staff_factory()
    auth.sign_in(username, password)
    clock.advance(minutes=16)
    response = client.get("/casework/")
    assert response.status_code == 302
    assert "had not done anything for a while" in client.get("/staff/sign-in").get_data(as_text=True)


def test_new_session_id_at_sign_in(client, staff_factory, auth, found):
    _, username, password = staff_factory()
    client.get("/staff/sign-in")
    before = client.get_cookie("casefeedback").value
    auth.sign_in(username, password)
    assert cookie(client) != before
    with read(found.engine) as connection:
        assert len(connection.execute(select(staff_sessions)).all()) == 1


def test_two_sign_ins_are_two_sessions_and_sign_out_ends_only_its_own(app, staff_factory, found):
    from tests.conftest import AuthActions

    _, username, password = staff_factory()
    first, second = app.test_client(), app.test_client()
    AuthActions(first).sign_in(username, password)
    AuthActions(second).sign_in(username, password)
    AuthActions(first).sign_out()
    assert first.get("/casework/").status_code == 302
    assert second.get("/casework/").status_code == 200


def test_security_headers(client):
    response = client.get("/feedback/victim-support")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["Cache-Control"].startswith("no-store")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_each_role_starts_on_its_own_page(client, staff_factory, auth):
    _, admin, password = staff_factory("administrator", team=None)
    response = auth.sign_in(admin, password)
    assert response.headers["Location"].endswith("/admin/")
    auth.sign_out()
    _, analyst, password = staff_factory("analyst", team=None)
    response = auth.sign_in(analyst, password)
    landing = client.get(response.headers["Location"], follow_redirects=True)
    assert landing.status_code == 200 and "<html" in landing.get_data(as_text=True)


def test_totp_secret_matches_the_authenticator_app(staff_factory, found):
    _, username, _ = staff_factory()
    assert len(totp_secret(found, username)) == 32
    assert pyotp.TOTP(totp_secret(found, username)).at(found.clock()) == next_code(found, username)


def test_every_role_lands_on_a_page_it_may_open(app):
    """Each role's home after signing in is a real page its role gate lets through (an analyst once landed
    on the plain staff home because their home named an endpoint that did not exist)."""
    from casefeedback.auth.blueprint import HOME
    from casefeedback.policy.pages import may_open
    from casefeedback.policy.roles import ROLES

    for role in ROLES:
        assert HOME[role] in app.view_functions, role
        assert may_open(role, HOME[role]), role
