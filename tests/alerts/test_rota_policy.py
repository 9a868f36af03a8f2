"""A rota declared in organisation.toml routes alerts like one set on the screen, and is shown there."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask

from casefeedback import create_app
from casefeedback.config import Config
from casefeedback.services import Services
from tests.alerts.support import all_alerts, told
from tests.casework.support import person
from tests.conftest import POLICIES, Clock, StaffFactory
from tests.helpers import ServiceUser

# The clock starts at 09:30 on 2 November 2026, London time (GMT).
DECLARED = '''
[[rota]]
service = "victim-support"
username = "declared-dee"
from = "2026-11-02T08:00"
to = "2026-11-02T20:00"

[[rota]]
service = "victim-support"
username = "nobody-by-this-name"
from = "2026-11-02T08:00"
to = "2026-11-09T08:00"
'''


@pytest.fixture
def declared_app(tmp_path: Path, config: Config, clock: Clock) -> Iterator[Flask]:
    policies = tmp_path / "declared-policies"
    shutil.copytree(POLICIES, policies)
    with (policies / "organisation.toml").open("a", encoding="utf-8") as file:
        file.write(DECLARED)
    application = create_app(replace(config, policies_dir=policies), clock=clock)
    yield application
    application.extensions["casefeedback"].engine.dispose()


def test_the_declared_rota_routes_anonymous_alerts_while_it_lasts(declared_app, clock):
    found: Services = declared_app.extensions["casefeedback"]
    dee, _username, _password = StaffFactory(found)(username="declared-dee")
    manager = person(declared_app, "duty_manager", team=None, sign_in=False)
    ServiceUser(declared_app.test_client()).give_feedback({"safe_now": "no"})
    clock.advance(hours=11)  # 20:30: the declared shift is over
    ServiceUser(declared_app.test_client()).give_feedback({"safe_now": "no"})
    during, after = all_alerts(found)
    assert told(found, during.id) == [(dee, 0, "duty_rota")]
    assert told(found, after.id) == [(manager.id, 1, "duty_manager")]


def test_the_rota_screen_shows_declared_shifts_and_names_who_cannot_be_on_duty(declared_app):
    found: Services = declared_app.extensions["casefeedback"]
    StaffFactory(found)(username="declared-dee")
    supervisor = person(declared_app, "supervisor")
    page = supervisor.get("/alerts/rota").get_data(as_text=True)
    now = page[page.index("<h3>On duty now</h3>"):page.index("<h3>Next</h3>")]
    assert "declared-dee" in now and "2 Nov 2026, 20:00" in now and "Declared in the organisation policy" in now
    assert "/remove" not in now  # changed only with the policy
    assert "nobody-by-this-name" in page and "correct the policy" in page
