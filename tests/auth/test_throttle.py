"""Throttling: per account in the database (every worker sees it), per address with Flask-Limiter."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from casefeedback import create_app
from casefeedback.auth import throttle
from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events
from tests.conftest import AuthActions, csrf_token

LOCKED = "too many attempts to sign in to this account"


def wrong(auth: AuthActions, username: str, times: int) -> list[int]:
    return [auth.sign_in(username, "wrong-password-guess").status_code for _ in range(times)]


def test_an_account_locks_after_a_few_failures_with_a_clear_message(staff_factory, auth, clock):
    _, username, password = staff_factory()
    assert wrong(auth, username, throttle.FREE_FAILURES) == [401] * (throttle.FREE_FAILURES - 1) + [429]
    refused = auth.sign_in(username, password)  # even the right password, while locked
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert LOCKED in page and "locked for 1 minute" in page
    clock.advance(minutes=1, seconds=1)
    assert auth.sign_in(username, password).status_code == 302


def test_the_lock_doubles_and_is_capped(staff_factory, auth, clock):
    _, username, _ = staff_factory()
    wrong(auth, username, throttle.FREE_FAILURES)
    clock.advance(minutes=1, seconds=1)
    page = auth.sign_in(username, "wrong-again-guess").get_data(as_text=True)
    assert "locked for 2 minutes" in page
    assert throttle._lock_for(100, clock()) - clock() == throttle.LONGEST_LOCK


def test_an_unknown_username_is_throttled_exactly_like_a_real_one(staff_factory, auth):
    _, username, _ = staff_factory()
    real = wrong(auth, username, throttle.FREE_FAILURES + 1)
    ghost = wrong(auth, "nobody-by-this-name", throttle.FREE_FAILURES + 1)
    assert real == ghost
    # The same words, so the page does not tell which accounts exist.
    real_page = auth.sign_in(username, "x-wrong-password").get_data(as_text=True)
    ghost_page = auth.sign_in("nobody-by-this-name", "x-wrong-password").get_data(as_text=True)
    assert LOCKED in real_page and LOCKED in ghost_page


def test_wrong_codes_count_toward_the_lock(staff_factory, auth, found):
    _, username, password = staff_factory()
    statuses = [auth.sign_in(username, password, code="999999").status_code
                for _ in range(throttle.FREE_FAILURES)]
    assert statuses[-1] == 429 and LOCKED in auth.sign_in(username, password).get_data(as_text=True)


def test_the_lock_holds_across_workers(config, clock, staff_factory, auth):
    """Two app instances on one database stand for two gunicorn workers."""
    _, username, password = staff_factory()
    wrong(auth, username, throttle.FREE_FAILURES)
    other_worker: Flask = create_app(config, clock=clock)
    try:
        response = AuthActions(other_worker.test_client()).sign_in(username, password)
        assert response.status_code == 429
    finally:
        other_worker.extensions["casefeedback"].engine.dispose()


def test_failures_and_locks_are_audited(staff_factory, auth, found):
    _, username, _ = staff_factory()
    wrong(auth, username, throttle.FREE_FAILURES + 1)
    with read(found.engine) as connection:
        outcomes = [r.outcome for r in connection.execute(
            select(audit_events.c.outcome).where(audit_events.c.action == "staff.sign_in"))]
    assert outcomes == ["failure"] * throttle.FREE_FAILURES + ["throttled"]


@pytest.mark.parametrize("path", ["/staff/sign-in", "/staff/sign-in/code"])
def test_one_address_is_limited_across_accounts(client, path):
    """Password spraying: many accounts from one address meets Flask-Limiter's per-address limit."""
    page = client.get("/staff/sign-in").get_data(as_text=True)
    token = csrf_token(page)
    statuses = [client.post(path, data={"username": f"user-{i}", "password": "guess-guess-guess", "code": "1",
                                        "csrf_token": token}).status_code for i in range(25)]
    assert 429 in statuses and statuses.index(429) == 20
    response = client.post(path, data={"username": "x", "password": "y", "csrf_token": token})
    assert response.status_code == 429 and "Too many attempts" in response.get_data(as_text=True)
    # Another address is not affected.
    other = client.post("/staff/sign-in", data={"username": "x", "password": "y", "csrf_token": token},
                        environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 401
