"""Bad input: a clear message and a 4xx, never a stack trace, never half-written data."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from casefeedback.storage.engine import read
from casefeedback.storage.tables import answers, submissions
from tests.conftest import csrf_token
from tests.helpers import ServiceUser


def stored(found) -> tuple[int, int]:
    with read(found.engine) as connection:
        return (connection.execute(select(func.count()).select_from(submissions)).scalar_one(),
                connection.execute(select(func.count()).select_from(answers)).scalar_one())


def post_answers(client, data):
    ServiceUser(client).consent("store")
    page = client.get("/feedback/victim-support/questions").get_data(as_text=True)
    return client.post("/feedback/victim-support/questions", data={**data, "csrf_token": csrf_token(page)})


def test_unknown_service_is_404(client):
    response = client.get("/feedback/no-such-service")
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)


def test_unknown_option_value_is_refused_keeping_other_answers(client, found):
    response = post_answers(client, {"q_listened": "maybe-not-an-option", "q_safer": "keep this text"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Choose one of the options shown" in page
    assert "keep this text" in page  # what they typed is still there
    assert stored(found) == (0, 0)


def test_over_long_answer_is_refused_with_the_limit_from_the_policy(client, found):
    limit = found.policies.service("victim-support").question("anything_else").max_length
    response = post_answers(client, {"q_anything_else": "x" * (limit + 1), "q_treated": "3"})
    assert response.status_code == 400
    assert f"longer than {limit} characters" in response.get_data(as_text=True)
    assert stored(found) == (0, 0)


def test_oversized_body_is_413_with_a_plain_message(client, found):
    ServiceUser(client).consent("store")
    page = client.get("/feedback/victim-support/questions").get_data(as_text=True)
    body = {"q_anything_else": "y" * (found.config.max_request_bytes + 10), "csrf_token": csrf_token(page)}
    response = client.post("/feedback/victim-support/questions", data=body)
    assert response.status_code == 413
    assert "too much to send at once" in response.get_data(as_text=True)
    assert stored(found) == (0, 0)


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_missing_or_forged_csrf_token_is_refused_plainly(client, found, token):
    ServiceUser(client).consent("store")
    data = {"q_treated": "3"}
    if token:
        data["csrf_token"] = token
    response = client.post("/feedback/victim-support/questions", data=data)
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert stored(found) == (0, 0)


def test_malformed_form_encoding_is_a_4xx(client):
    ServiceUser(client).consent("store")
    response = client.post("/feedback/victim-support/questions", data=b"\xff\xfe%%%==&&",
                           content_type="application/x-www-form-urlencoded")
    assert 400 <= response.status_code < 500


def test_wrong_method_is_405_not_a_trace(client):
    response = client.delete("/feedback/victim-support")
    assert response.status_code == 405
    assert "Traceback" not in response.get_data(as_text=True)


def test_unexpected_error_is_a_plain_500_page_without_a_trace(app, client, monkeypatch):
    import casefeedback.intake.views as views

    def explode(*_args, **_kwargs):
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(views, "consent_form_class", explode)
    response = client.get("/feedback/victim-support")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "internal detail" not in page and "Traceback" not in page
