"""Webhook signatures and their replay window; a rule naming what does not exist fails `policy check`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from casefeedback.alerts.channels import REPLAY_WINDOW_SECONDS, sign, verify
from casefeedback.cli import main
from tests.conftest import POLICIES

SECRET = b"k" * 32
BODY = b'{"reference": "A-ABCDEFGH"}'


def test_a_signature_verifies_only_for_the_same_secret_time_and_body():
    signature = sign(SECRET, 1_800_000_000, BODY)
    assert signature.startswith("sha256=")
    assert verify(SECRET, "1800000000", BODY, signature, now=1_800_000_010)
    assert not verify(b"x" * 32, "1800000000", BODY, signature, now=1_800_000_010)
    assert not verify(SECRET, "1800000001", BODY, signature, now=1_800_000_010)
    assert not verify(SECRET, "1800000000", BODY + b" ", signature, now=1_800_000_010)


def test_a_replayed_webhook_outside_the_window_is_refused():
    signature = sign(SECRET, 1_800_000_000, BODY)
    assert verify(SECRET, "1800000000", BODY, signature, now=1_800_000_000 + REPLAY_WINDOW_SECONDS)
    assert not verify(SECRET, "1800000000", BODY, signature, now=1_800_000_001 + REPLAY_WINDOW_SECONDS)
    assert not verify(SECRET, "-5", BODY, signature, now=1_800_000_000)


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
