"""The demo staff can sign in with the printed password and authenticator key (development only)."""

from __future__ import annotations

import re

import pyotp

from casefeedback.demo import seed
from tests.conftest import csrf_token

LINE = re.compile(r"(\w+)\s+username (\w+)\s+password (\S+)\s+authenticator key ([A-Z2-7]{32})")


def test_every_demo_account_signs_in_with_its_printed_key(app, found):
    text = seed(found, "http://127.0.0.1:5000")
    accounts = LINE.findall(text)
    assert {a[1] for a in accounts} == {"casey", "sam", "dana", "avery", "alex", "ana", "rita"}
    for _role, username, password, key in accounts:
        client = app.test_client()
        page = client.get("/staff/sign-in").get_data(as_text=True)
        first = client.post("/staff/sign-in", data={"username": username, "password": password,
                                                    "csrf_token": csrf_token(page)})
        assert first.headers["Location"].endswith("/staff/sign-in/code"), username
        page = client.get("/staff/sign-in/code").get_data(as_text=True)
        done = client.post("/staff/sign-in/code", data={"code": pyotp.TOTP(key).at(found.clock()),
                                                        "csrf_token": csrf_token(page)})
        assert done.status_code == 302, username
