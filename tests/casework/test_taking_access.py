"""Who may take feedback on someone's behalf, mark failure demand and record what got in the way: every role ×
every new page. The roles come from the policy ([taking] roles), decided in policy/assisted.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask

from casefeedback import create_app
from casefeedback.config import Config
from tests.casework.support import new_case, person
from tests.casework.taking_support import agree, consent_page, setting
from tests.conftest import POLICIES, Clock, csrf_token, make_config

ROLES = ("caseworker", "supervisor", "duty_manager", "auditor", "analyst", "administrator")
TAKING_GETS = ("/casework/take", "/casework/take/consent?service=victim-support&channel=phone&language=en")
VOICE_GETS = ("/casework/what-got-in-the-way",)
# Who may take feedback by default (organisation.toml [taking] roles), and who may record the staff voice.
TAKERS = {"caseworker"}
VOICES = {"caseworker", "supervisor", "duty_manager"}


@pytest.mark.parametrize("role", ROLES)
def test_every_role_gets_exactly_what_the_policy_allows(app: Flask, role: str) -> None:
    someone = person(app, role)
    for path in TAKING_GETS:
        assert someone.get(path).status_code == (200 if role in TAKERS else 403), (role, path)
    for path in VOICE_GETS:
        assert someone.get(path).status_code == (200 if role in VOICES else 403), (role, path)
    # With a good CSRF token, the posts too: refused (403) before anything is read from them, unless the
    # role may take feedback (then this post, with no consent recorded, is bad input: 400).
    token = csrf_token(someone.get("/staff/account").get_data(as_text=True))
    for path in ("/casework/take/questions", "/casework/take/send"):
        page = someone.client.post(path, data={**setting(), "csrf_token": token})
        assert page.status_code == (400 if role in TAKERS else 403), (role, path)
    page = someone.client.post("/casework/what-got-in-the-way", data={"csrf_token": token})
    assert page.status_code == (400 if role in VOICES else 403), role


def test_signed_out_people_are_sent_to_sign_in(app: Flask) -> None:
    client = app.test_client()
    for path in (*TAKING_GETS, *VOICE_GETS):
        response = client.get(path)
        assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"], path


def test_the_taking_link_is_offered_only_to_those_who_may_take(app: Flask) -> None:
    caseworker, supervisor = person(app, "caseworker"), person(app, "supervisor")
    case_id = new_case(app.extensions["casefeedback"], caseworker)
    assert "/casework/take?case=" in caseworker.get(f"/casework/cases/{case_id}").get_data(as_text=True)
    assert "/casework/take" not in supervisor.get(f"/casework/cases/{case_id}").get_data(as_text=True)


@pytest.fixture
def supervisors_take(tmp_path: Path) -> Config:
    """A policy that lets supervisors take feedback too (a contact-centre style team led by supervisors)."""
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    organisation = policies / "organisation.toml"
    text = organisation.read_text().replace('roles = ["caseworker"]', 'roles = ["caseworker", "supervisor"]')
    organisation.write_text(text)
    return make_config(tmp_path / "instance", policies_dir=policies)


def test_a_role_the_policy_adds_may_take_feedback(supervisors_take: Config) -> None:
    app = create_app(supervisors_take, clock=Clock())
    try:
        supervisor = person(app, "supervisor")
        assert consent_page(supervisor, setting()).status_code == 200
        page, _ = agree(supervisor, setting())
        assert page.status_code == 200
    finally:
        app.extensions["casefeedback"].engine.dispose()
