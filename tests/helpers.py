"""Page-level helpers that drive real forms through the test client."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.conftest import csrf_token

RECEIPT = re.compile(r'class="receipt-code"[^>]*>([0-9A-Z-]+)<')


class ServiceUser:
    """A person giving feedback, through the same forms a browser would post."""

    def __init__(self, client: FlaskClient, service: str = "victim-support") -> None:
        self.client = client
        self.service = service

    def consent(self, *choices: str) -> object:
        page = self.client.get(f"/feedback/{self.service}").get_data(as_text=True)
        data = {f"choice_{c}": "y" for c in choices}
        data["csrf_token"] = csrf_token(page)
        return self.client.post(f"/feedback/{self.service}/consent", data=data)

    def answer(self, answers: dict[str, str | list[str]]) -> object:
        page = self.client.get(f"/feedback/{self.service}/questions").get_data(as_text=True)
        data: dict[str, object] = {f"q_{k}": v for k, v in answers.items()}
        data["csrf_token"] = csrf_token(page)
        return self.client.post(f"/feedback/{self.service}/questions", data=data)

    def give_feedback(self, answers: dict[str, str | list[str]],
                      choices: tuple[str, ...] = ("store",)) -> str:
        self.consent(*choices)
        response = self.answer(answers)
        html = response.get_data(as_text=True)  # type: ignore[attr-defined]
        match = RECEIPT.search(html)
        assert match, f"no receipt code in the response ({response.status_code})"  # type: ignore[attr-defined]
        return match.group(1)
