"""The final Send is rate limited per address, with a plain page; limits cannot be lifted in production."""

from __future__ import annotations

from casefeedback.ratelimit import INTAKE_SEND_LIMIT
from tests.conftest import csrf_token


def test_send_is_limited_per_address(client):
    per_minute = int(INTAKE_SEND_LIMIT.split(" per minute")[0])
    token = csrf_token(client.get("/feedback/victim-support", follow_redirects=True).get_data(as_text=True))
    responses = [client.post("/feedback/victim-support/send", data={"csrf_token": token})
                 for _ in range(per_minute + 1)]
    assert all(r.status_code != 429 for r in responses[:per_minute])
    assert responses[-1].status_code == 429
    assert "Too many tries" in responses[-1].get_data(as_text=True)
