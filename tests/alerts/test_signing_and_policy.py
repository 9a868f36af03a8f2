"""Webhook signatures and their replay window; a rule naming what does not exist fails `policy check`."""

from __future__ import annotations

import base64
import time

import pytest
from click.testing import CliRunner
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from casefeedback.alerts.channels import message_id, secret_text, signed_headers
from casefeedback.cli import main
from tests.conftest import POLICIES

SECRET = b"k" * 32
BODY = b'{"reference": "A-ABCDEFGH"}'


def now() -> int:
    return int(time.time())


def test_an_off_the_shelf_verifier_accepts_our_signature_with_the_whsec_key():
    headers = signed_headers(SECRET, "msg_1", now(), BODY)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert secret_text(SECRET) == "whsec_" + base64.b64encode(SECRET).decode()
    assert Webhook(secret_text(SECRET)).verify(BODY, headers) == {"reference": "A-ABCDEFGH"}


@pytest.mark.parametrize("change", ["body", "secret", "id", "old", "future"])
def test_a_tampered_replayed_or_foreign_webhook_is_refused(change):
    at = now() - 301 if change == "old" else now() + 301 if change == "future" else now()
    headers = signed_headers(b"x" * 32 if change == "secret" else SECRET, "msg_1", at, BODY)
    if change == "id":
        headers["webhook-id"] = "msg_2"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_text(SECRET)).verify(BODY + b" " if change == "body" else BODY, headers)


def test_the_same_body_is_the_same_message_on_a_retry():
    assert message_id(BODY) == message_id(BODY) != message_id(BODY + b" ")


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('when = { question = "safe_now", equals = "no" }', 'when = { question = "safe_tonight", equals = "no" }',
     "alerts[0].when.question"),
    ('escalate = ["case_owner", "case_deputy", "team_supervisor", "duty_manager"]\nmessage.en = "Thank you for '
     'telling us. We will tell our team straight away. If you are in danger now, call 999."',
     'escalate = ["case_owner", "case_deptuy", "team_supervisor", "duty_manager"]\nmessage.en = "Thank you for '
     'telling us. We will tell our team straight away. If you are in danger now, call 999."',
     "alerts[0].escalate[1]"),
])
def test_policy_check_fails_on_a_rule_naming_what_does_not_exist(tmp_path, old, new, expected):
    text = (POLICIES / "victim-support.toml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "victim-support.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
    result = CliRunner().invoke(main, ["policy", "check", str(tmp_path)])
    assert result.exit_code != 0
    assert f"{tmp_path}/victim-support.toml: {expected}" in result.output


@pytest.mark.parametrize(("value", "expected"), [
    ("3", None), ("0", "must be between 1 and 50"), ('"many"', "must be an integer")])
def test_delivery_attempts_is_an_optional_bounded_whole_number(tmp_path, value, expected):
    from casefeedback.policy import load_policy_file

    text = (POLICIES / "victim-support.toml").read_text(encoding="utf-8")
    anchor = 'id = "unsafe-now"\n'
    (tmp_path / "victim-support.toml").write_text(
        text.replace(anchor, anchor + f"delivery_attempts = {value}\n", 1), encoding="utf-8")
    result = CliRunner().invoke(main, ["policy", "check", str(tmp_path)])
    if expected is None:
        assert result.exit_code == 0, result.output
        policy = load_policy_file(tmp_path / "victim-support.toml")
        assert policy.alerts[0].delivery_attempts == 3 and policy.alerts[1].delivery_attempts == 8
    else:
        assert result.exit_code != 0 and f"alerts[0].delivery_attempts: {expected}" in result.output
