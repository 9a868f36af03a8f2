"""The mandatory second factor: enrolment by QR code, recovery codes shown once and kept only hashed."""

from __future__ import annotations

import hashlib
import re

import pyotp
from sqlalchemy import select

from casefeedback.auth import mfa
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events, staff_mfa, staff_recovery_codes
from tests.conftest import csrf_token, next_code

SECRET = re.compile(r'<p class="invitation-link">([A-Z2-7]{32})</p>')
CODES = re.compile(r'<li class="invitation-link">([0-9a-f]{5}-[0-9a-f]{5}-[0-9a-f]{5}-[0-9a-f]{5})</li>')


def password_step(client, username: str, password: str):
    page = client.get("/staff/sign-in").get_data(as_text=True)
    return client.post("/staff/sign-in", data={"username": username, "password": password,
                                               "csrf_token": csrf_token(page)})


def enrol(client, found, username: str, password: str) -> tuple[str, list[str]]:
    """Sign in for the first time: scan (read) the QR key, confirm a code, keep the recovery codes."""
    response = password_step(client, username, password)
    assert response.headers["Location"].endswith("/staff/sign-in/enrol")
    page = client.get("/staff/sign-in/enrol").get_data(as_text=True)
    secret = SECRET.search(page).group(1)
    done = client.post("/staff/sign-in/enrol", data={"code": pyotp.TOTP(secret).at(found.clock()),
                                                     "csrf_token": csrf_token(page)})
    assert done.status_code == 200
    return secret, CODES.findall(done.get_data(as_text=True))


def test_first_sign_in_enrols_by_qr_code_and_shows_recovery_codes_once(client, staff_factory, found):
    staff_id, username, password = staff_factory(mfa=False)
    response = password_step(client, username, password)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page and "QR code" in page  # an image, no script: CSP-clean
    assert client.get("/casework/").status_code == 302  # not signed in until the code is confirmed
    secret = SECRET.search(page).group(1)
    done = client.post("/staff/sign-in/enrol", data={"code": pyotp.TOTP(secret).at(found.clock()),
                                                     "csrf_token": csrf_token(page)})
    codes = CODES.findall(done.get_data(as_text=True))
    assert len(codes) == mfa.RECOVERY_CODES and len(set(codes)) == len(codes)
    assert client.get("/casework/").status_code == 200
    # Shown once: only their hashes are stored, and no page shows them again.
    with read(found.engine) as connection:
        hashes = set(connection.execute(select(staff_recovery_codes.c.code_hash)
                                        .where(staff_recovery_codes.c.staff_id == staff_id)).scalars())
        enrolled = connection.execute(select(staff_mfa.c.enrolled_at).where(staff_mfa.c.staff_id == staff_id)
                                      ).scalar()
    assert enrolled is not None
    assert hashes == {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    assert not any(c in client.get("/staff/account").get_data(as_text=True) for c in codes)


def test_enrolment_refuses_a_wrong_code_and_keeps_the_same_key(client, staff_factory, found):
    _, username, password = staff_factory(mfa=False)
    password_step(client, username, password)
    page = client.get("/staff/sign-in/enrol").get_data(as_text=True)
    secret = SECRET.search(page).group(1)
    wrong = client.post("/staff/sign-in/enrol", data={"code": "12345", "csrf_token": csrf_token(page)})
    assert wrong.status_code == 401 and "That code is not right" in wrong.get_data(as_text=True)
    again = client.get("/staff/sign-in/enrol").get_data(as_text=True)
    assert SECRET.search(again).group(1) == secret  # a reload does not invalidate the scanned key
    assert client.get("/casework/").status_code == 302


def test_an_enrolled_account_is_never_offered_enrolment_again(client, staff_factory, found):
    _, username, password = staff_factory()
    password_step(client, username, password)
    response = client.get("/staff/sign-in/enrol")
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff/sign-in/code")


def test_recovery_code_signs_in_once(app, staff_factory, found, auth, client):
    _, username, password = staff_factory(mfa=False)
    _, codes = enrol(app.test_client(), found, username, password)
    code = codes[0].upper().replace("-", " ")  # typed loosely
    first = auth.sign_in(username, password, code=code)
    assert first.status_code == 302
    assert f"You have {mfa.RECOVERY_CODES - 1} left" in client.get("/casework/").get_data(as_text=True)
    auth.sign_out()
    assert auth.sign_in(username, password, code=codes[0]).status_code == 401


def test_codes_within_one_step_of_drift_work_and_further_ones_do_not(staff_factory, found):
    staff_id, _, _ = staff_factory()
    with write(found.engine) as connection:
        secret = connection.execute(select(staff_mfa.c.totp_secret).where(staff_mfa.c.staff_id == staff_id)
                                    ).scalar()
    totp, now = pyotp.TOTP(secret), found.clock()
    step = totp.timecode(now)
    with write(found.engine) as connection:
        assert mfa.verify(connection, staff_id, totp.generate_otp(step + 3), now) is None
        assert mfa.verify(connection, staff_id, totp.generate_otp(step - 1), now) == "totp"
        # Once a step is used, it and every earlier one are refused.
        assert mfa.verify(connection, staff_id, totp.generate_otp(step - 1), now) is None
        assert mfa.verify(connection, staff_id, totp.generate_otp(step + 1), now) == "totp"
        assert mfa.verify(connection, staff_id, totp.generate_otp(step), now) is None


def test_new_recovery_codes_need_confirmation_and_replace_the_old(client, staff_factory, found, auth):
    _, username, password = staff_factory(mfa=False)
    _, old_codes = enrol(client, found, username, password)
    page = client.get("/staff/account").get_data(as_text=True)
    assert f"You have {mfa.RECOVERY_CODES} unused recovery codes" in page
    # Signing in counted as confirming; after the window it must be done again.
    found.clock.advance(minutes=6)
    client.get("/staff/account")  # activity, so the idle timeout does not end the session
    response = client.post("/staff/account/recovery-codes", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303 and "/staff/confirm" in response.headers["Location"]
    auth.confirm(username, password)
    renewed = client.post("/staff/account/recovery-codes", data={"csrf_token": csrf_token(page)})
    new_codes = CODES.findall(renewed.get_data(as_text=True))
    assert len(new_codes) == mfa.RECOVERY_CODES and not set(new_codes) & set(old_codes)
    auth.sign_out()
    assert auth.sign_in(username, password, code=old_codes[1]).status_code == 401
    with read(found.engine) as connection:
        actions = [r.action for r in connection.execute(select(audit_events.c.action))]
    assert "staff.mfa.enrol" in actions and "staff.mfa.recovery_codes" in actions
    assert next_code(found, username)  # the app still works
