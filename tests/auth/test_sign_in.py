"""Sign-in and server-side sessions: sign-out, disabling or a new password ends them at once."""

from __future__ import annotations

from sqlalchemy import select

from casefeedback.auth import accounts
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events, staff, staff_sessions


def cookie(client) -> str:
    return client.get_cookie("casefeedback").value


def test_staff_pages_are_deny_by_default(client):
    for path in ("/casework/", "/casework/cases/x", "/casework/submissions/x"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/staff/sign-in")


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


def test_password_hash_is_argon2id(staff_factory, found):
    staff_factory(username="hashcheck")
    with read(found.engine) as connection:
        stored = connection.execute(select(staff.c.password_hash).where(staff.c.username == "hashcheck")).scalar()
    assert stored.startswith("$argon2id$")


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
    assert client.get("/casework/").status_code == 200
    with write(found.engine) as connection:
        accounts.disable(connection, staff_id)
    assert client.get("/casework/").status_code == 302
    assert auth.sign_in(username, password).status_code == 401


def test_changing_the_password_ends_its_sessions(client, staff_factory, auth, found):
    staff_id, username, password = staff_factory()
    auth.sign_in(username, password)
    with write(found.engine) as connection:
        accounts.set_password(connection, staff_id, "a-brand-new-long-password", found.clock())
    assert client.get("/casework/").status_code == 302


def test_idle_timeout_ends_the_session(client, staff_factory, auth, clock):
    _, username, password = staff_factory()
    auth.sign_in(username, password)
    clock.advance(minutes=16)
    assert client.get("/casework/").status_code == 302


def test_new_session_id_at_sign_in(client, staff_factory, auth, found):
    _, username, password = staff_factory()
    client.get("/staff/sign-in")
    before = client.get_cookie("casefeedback").value
    auth.sign_in(username, password)
    assert cookie(client) != before
    with read(found.engine) as connection:
        assert len(connection.execute(select(staff_sessions)).all()) == 1


def test_security_headers(client):
    response = client.get("/feedback/victim-support")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["Cache-Control"].startswith("no-store")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
