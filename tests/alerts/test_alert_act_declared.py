"""A policy that lists ``team_member`` in a rule's ``act`` lets a caseworker who only shares the team act on it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from casefeedback.config import Config
from tests.alerts.support import Receiver, SMTPServer, all_alerts
from tests.casework.support import feedback, person
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parents[2]
CHAIN = 'escalate = ["case_owner", "case_deputy", "team_supervisor", "duty_manager"]\n'


@pytest.fixture
def config(tmp_path: Path, smtp: SMTPServer, receiver: Receiver) -> Config:
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    service = policies / "victim-support.toml"
    text = service.read_text(encoding="utf-8")
    assert text.count(CHAIN) >= 1
    # Only the first rule ("unsafe-now") declares it; the others keep the default.
    service.write_text(text.replace(CHAIN, CHAIN + 'act = ["case_owner", "team_member"]\n', 1), encoding="utf-8")
    return make_config(tmp_path / "instance", policies_dir=policies, smtp_host="127.0.0.1", smtp_port=smtp.port,
                       smtp_security="none", smtp_timeout=1.0, alert_webhook_url=receiver.url,
                       public_url="https://cf.example.org")


def test_team_member_in_act_lets_the_same_team_caseworker_act_and_leaves_out_the_rest(app, found, team):
    assert found.policies.services["victim-support"].alerts[0].act == ("case_owner", "team_member")
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    page = f"/alerts/a/{alert.reference}"
    colleague, elsewhere = person(app), person(app, team="South")
    assert colleague.get(page).status_code == 200
    assert elsewhere.get(page).status_code == 404
    # Not declared now, and not yet told: the duty manager is left out of this rule.
    assert team.duty.get(page).status_code == 404
    assert colleague.form_post(page, f"{page}/acknowledge").status_code == 303
    assert all_alerts(found)[0].acknowledged_by == colleague.id
