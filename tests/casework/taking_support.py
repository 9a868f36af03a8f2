"""Walking the taking-feedback pages as a member of staff would: choose, read out, ask, send."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from tests.casework.support import Person
from tests.conftest import csrf_token

CHOICES = {"store": "yes", "contact_me": "no", "share_insight": "yes"}


def setting(case_id: str | None = None, *, channel: str = "phone", language: str = "en") -> dict[str, str]:
    return {"service": "victim-support", "channel": channel, "language": language, "case": case_id or ""}


def consent_page(someone: Person, chosen: dict[str, str]) -> Any:
    return someone.client.get(f"/casework/take/consent?{urlencode(chosen)}")


def agree(someone: Person, chosen: dict[str, str], choices: dict[str, str] | None = None,
          method: str = "verbal") -> tuple[Any, str]:
    """Open the consent page, record the person's answers to it; the questions page and the CSRF token."""
    page = consent_page(someone, chosen)
    assert page.status_code == 200, page.status_code
    token = csrf_token(page.get_data(as_text=True))
    posted = {**chosen, "csrf_token": token, "consent_version": "1", "method": method,
              **{f"choice_{k}": v for k, v in (choices or CHOICES).items()}}
    return someone.client.post("/casework/take/questions", data=posted), token


def send(someone: Person, chosen: dict[str, str], answers: dict[str, Any], token: str,
         choices: dict[str, str] | None = None, method: str = "verbal") -> Any:
    posted = {**chosen, "csrf_token": token, "consent_version": "1", "method": method,
              **{f"choice_{k}": v for k, v in (choices or CHOICES).items()},
              **{f"answer_{k}": v for k, v in answers.items()}}
    return someone.client.post("/casework/take/send", data=posted)


def take(someone: Person, chosen: dict[str, str], answers: dict[str, Any]) -> Any:
    questions, token = agree(someone, chosen)
    assert questions.status_code == 200
    return send(someone, chosen, answers, token)
