"""The instance log: one JSON object a line, each request's lines carrying its id, and no sensitive value."""

from __future__ import annotations

import json
import logging

import pytest

from casefeedback.logs import JsonLineFormatter
from casefeedback.operations.requests import request_id_from
from tests.conftest import canary, make_config
from tests.helpers import ServiceUser


@pytest.fixture
def config(tmp_path):
    # One engine is enough: the log is written the same on both.
    return make_config(tmp_path / "instance")


def log_lines(found) -> list[dict[str, object]]:
    text = found.config.log_path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]  # every line parses, or this fails


def test_feedback_sent_through_the_form_leaves_no_trace_in_the_log(app, client, found, caplog):
    secret = canary()
    logging.getLogger("casefeedback.test").info("before the form")
    ServiceUser(client).give_feedback({"safer": secret, "anything_else": f"I want to die {secret}",
                                       "safe_now": "no"})
    # A request's own lines (the warning is what a view might log) carry its id and endpoint.
    with app.test_request_context("/feedback/victim-support", headers={"X-Request-ID": "probe-42"}):
        app.preprocess_request()
        logging.getLogger("casefeedback.test").warning("inside a request")
    text = found.config.log_path.read_text(encoding="utf-8")
    assert secret not in text
    lines = log_lines(found)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    inside = [line for line in lines if line["message"] == "inside a request"]
    assert inside == [{"time": inside[0]["time"], "level": "WARNING", "logger": "casefeedback.test",
                       "message": "inside a request", "request_id": "probe-42", "endpoint": "intake.start"}]
    outside = next(line for line in lines if line["message"] == "before the form")
    assert "request_id" not in outside and "endpoint" not in outside


def test_every_response_carries_a_request_id(client):
    given = client.get("/health/live", headers={"X-Request-ID": "lb-0a1b2c"})
    assert given.headers["X-Request-ID"] == "lb-0a1b2c"
    made = [client.get("/health/live").headers["X-Request-ID"] for _ in range(2)]
    assert made[0] != made[1] and all(len(m) == 36 for m in made)
    # Even a request the sign-in gate turns away, and one for no page at all.
    assert client.get("/staff/").headers["X-Request-ID"]
    assert client.get("/nowhere").headers["X-Request-ID"]


@pytest.mark.parametrize("header", ["", "a" * 65, "has space", "new\nline", "<script>", "ünïcode", "a_b", "x;y"])
def test_an_unsafe_incoming_id_is_replaced_never_echoed(client, header):
    response = client.get("/health/live", headers={"X-Request-ID": header} if "\n" not in header else {})
    assert response.headers["X-Request-ID"] != header
    assert request_id_from(header) != header


def test_a_sane_id_is_kept():
    assert request_id_from("A-z-0-9") == "A-z-0-9" and request_id_from("a" * 64) == "a" * 64


def test_the_formatter_writes_only_its_fields():
    record = logging.LogRecord("casefeedback.x", logging.ERROR, __file__, 1, "sent %d", (3,), None)
    record.answer = "must not appear"  # as if a caller passed extra={"answer": ...}
    line = json.loads(JsonLineFormatter().format(record))
    assert set(line) == {"time", "level", "logger", "message"} and line["message"] == "sent 3"
