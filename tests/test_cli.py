"""The casefeedback command: clear messages and non-zero exits, run as a real process."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POLICIES, ROOT


def run(*args: str, instance: Path, policies: Path = POLICIES, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CASEFEEDBACK_INSTANCE": str(instance), "CASEFEEDBACK_POLICIES": str(policies),
           **extra}
    return subprocess.run([sys.executable, "-m", "casefeedback", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120, check=False)


@pytest.fixture(scope="module")
def instance(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "instance"
    result = run("init", "--demo", instance=path)
    assert result.returncode == 0, result.stderr
    assert "DEVELOPMENT secret" in result.stderr
    assert "username casey" in result.stdout and "/feedback/i/" in result.stdout
    return path


def test_init_is_idempotent_and_keeps_keys(instance):
    keys = {p.name: p.read_bytes() for p in (instance / "secrets").iterdir()}
    again = run("init", "--demo", instance=instance)
    assert again.returncode == 0, again.stderr
    assert "Checked the encrypted database" in again.stdout
    assert {p.name: p.read_bytes() for p in (instance / "secrets").iterdir()} == keys


def test_wrong_database_key_is_one_sentence_and_exit_1(instance):
    db = instance / "casefeedback.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    result = run("audit", "verify", instance=instance, CASEFEEDBACK_DATABASE_KEY=os.urandom(32).hex())
    assert result.returncode == 1
    assert result.stderr.strip() == (f"casefeedback: {db} cannot be opened with the configured database key: "
                                     "either the key is wrong or the file is not a casefeedback database.")
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_audit_verify_passes_on_a_fresh_instance(instance):
    result = run("audit", "verify", instance=instance)
    assert result.returncode == 0 and "audit log intact" in result.stdout


def test_policy_check_ok(instance):
    result = run("policy", "check", str(POLICIES), instance=instance)
    assert result.returncode == 0 and "victim-support.toml: ok" in result.stdout


def test_policy_check_names_file_key_and_problem(tmp_path, instance):
    bad = tmp_path / "policies"
    bad.mkdir()
    text = (POLICIES / "victim-support.toml").read_text(encoding="utf-8")
    (bad / "victim-support.toml").write_text(text.replace('keep = "P180D"', 'keep = "P18OD"'), encoding="utf-8")
    result = run("policy", "check", str(bad), instance=instance)
    assert result.returncode == 1
    assert (f'{bad}/victim-support.toml: classes.narrative.retention.keep: "P18OD" is not an ISO-8601 duration'
            in result.stderr)


def test_app_refuses_to_start_on_an_invalid_policy(tmp_path, config):
    from dataclasses import replace

    from casefeedback import create_app
    from casefeedback.policy import PolicyError

    bad = tmp_path / "bad-policies"
    bad.mkdir()
    text = (POLICIES / "victim-support.toml").read_text(encoding="utf-8")
    (bad / "victim-support.toml").write_text(text.replace('kind = "rating"', 'kind = "stars"'), encoding="utf-8")
    with pytest.raises(PolicyError, match=r"questions\[0\]\.kind"):
        create_app(replace(config, policies_dir=bad))


def test_staff_add_rejects_unknown_role(instance):
    result = run("staff", "add", "--username", "x1", "--name", "X", "--role", "wizard", instance=instance,
                 CASEFEEDBACK_NEW_PASSWORD="a-long-enough-password")
    assert result.returncode == 1 and "'wizard' is not a role" in result.stderr


def test_production_refusal_is_a_clear_exit(instance):
    result = run("audit", "verify", instance=instance, CASEFEEDBACK_ENV="production")
    assert result.returncode == 1
    assert "refusing to start in production" in result.stderr and "generated for development" in result.stderr
    assert "Traceback" not in result.stderr
