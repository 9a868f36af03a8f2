"""Bad input for the backup round: a missing or unusable location, a second location that disappears, a
rotation killed midway. Each: a clear message, a non-zero exit, an administrator told through the real
SMTP server — and nothing kept half-done."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from click.testing import CliRunner

from casefeedback.audit.checkpoints import instance_id
from casefeedback.auth import accounts
from casefeedback.backup.locations import catalogue
from casefeedback.backup.schedule import keep_horizon
from casefeedback.cli import main
from casefeedback.policy import load_policies
from casefeedback.services import build_services
from casefeedback.storage.engine import read, write
from tests.conftest import ROOT, canary
from tests.crypto.test_rotation import every_field_opens
from tests.retention.conftest import seed_submission

ADMIN = "keys-admin@example.org"


@pytest.fixture
def cli(found, smtp, monkeypatch, tmp_path):
    """The commands' environment: the same instance, mail to the real SMTP server, an administrator with an address."""
    with write(found.engine) as connection:
        accounts.add_staff(connection, username="admin2", display_name="Admin", role="administrator",
                           password="x" * 16, now=found.clock(), email=ADMIN)
    found.engine.dispose()
    for name, value in {"CASEFEEDBACK_INSTANCE": str(found.config.instance_dir),
                        "CASEFEEDBACK_POLICIES": str(found.config.policies_dir),
                        "CASEFEEDBACK_SMTP_HOST": "127.0.0.1", "CASEFEEDBACK_SMTP_PORT": str(smtp.port),
                        "CASEFEEDBACK_SMTP_SECURITY": "none"}.items():
        monkeypatch.setenv(name, value)
    return CliRunner()


def told(smtp) -> str:
    [message] = smtp.mailbox.to(ADMIN)
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    return str(message["Subject"]) + "\n" + body.decode()


@pytest.mark.parametrize("problem", ["missing", "a file"])
def test_an_unusable_location_fails_clearly_and_tells_the_administrators(found, cli, smtp, tmp_path, monkeypatch,
                                                                         problem):
    location = tmp_path / "backup-disk"
    if problem == "a file":
        location.write_text("not a directory\n")
    monkeypatch.setenv("CASEFEEDBACK_BACKUP_DIR", str(location))
    result = cli.invoke(main, ["keys", "horizon"])
    assert result.exit_code == 1
    expected = "does not exist (is the disk mounted?)" if problem == "missing" else "is not a directory"
    assert f"the backup location {location} {expected}" in result.output
    assert "administrators have been alerted" in result.output
    mail = told(smtp)
    assert "a scheduled backup or key change failed" in mail and expected in mail
    assert location.is_file() if problem == "a file" else not location.exists()  # nothing made there
    # The failure holds the horizon back, in words, until mended.
    status = cli.invoke(main, ["keys", "status"])
    assert status.exit_code == 0 and "NOT met" in status.output and "The last scheduled run failed" in status.output
    # Told once an hour, not once a run.
    cli.invoke(main, ["keys", "horizon"])
    assert len(smtp.mailbox.to(ADMIN)) == 1


def test_a_second_location_that_disappears_keeps_the_sound_first_copy_and_no_half_copy(found, cli, smtp,
                                                                                       tmp_path, monkeypatch):
    mirror = tmp_path / "mounted"
    mirror.mkdir()
    monkeypatch.setenv("CASEFEEDBACK_BACKUP_MIRROR", str(mirror))
    first = cli.invoke(main, ["keys", "horizon"])
    assert first.exit_code == 0, first.output
    assert "copied to the second location and verified" in first.output
    assert len([p for p in mirror.iterdir() if p.name.startswith("casefeedback-")]) == 1
    for each in mirror.iterdir():
        for inner in each.iterdir():
            inner.unlink()
        each.rmdir()
    mirror.rmdir()  # the mount went away
    again = cli.invoke(main, ["keys", "horizon", "--backup-now"])
    assert again.exit_code == 1
    assert f"the backup location {mirror} does not exist" in again.output
    primary = found.config.backup_path
    assert len([p for p in primary.iterdir() if p.name.startswith("casefeedback-")]) == 2  # the new one is sound
    assert not any(p.name.startswith(".") for p in primary.iterdir())
    assert f"{mirror} does not exist" in told(smtp) and "is sound, but it has no second copy" in told(smtp)
    status = cli.invoke(main, ["keys", "status"])
    assert f"The backup location {mirror} is missing: old keys are kept until it can be read" in status.output


def test_a_location_that_is_a_file_refuses_the_manual_backup_command_too(cli, tmp_path):
    target = tmp_path / "oops"
    target.write_text("x")
    result = cli.invoke(main, ["backup", "--to", str(target)])
    assert result.exit_code != 0 and "Traceback" not in result.output


def run_cli(config, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CASEFEEDBACK_INSTANCE": str(config.instance_dir),
           "CASEFEEDBACK_POLICIES": str(config.policies_dir)}
    return subprocess.Popen([sys.executable, "-m", "casefeedback", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_scheduled_rotation_killed_midway_resumes_and_nothing_is_undecryptable(found, tmp_path):
    for _ in range(10):
        seed_submission(found, {"treated": "3", "anything_else": canary(), "safe_now": "yes"})
    policies = tmp_path / "policies"
    policies.mkdir()
    for each in found.config.policies_dir.glob("*.toml"):
        (policies / each.name).write_text(each.read_text(encoding="utf-8"), encoding="utf-8")
    declared = (policies / "organisation.toml").read_text(encoding="utf-8")
    assert 'rotate_every = "P30D"' in declared
    # A rotation due today: the seeded log began on the test clock's day, weeks before the machine's.
    (policies / "organisation.toml").write_text(declared.replace('rotate_every = "P30D"', 'rotate_every = "P1D"'),
                                                encoding="utf-8")
    config = replace(found.config, policies_dir=policies)
    old = found.keyring.current_active_id
    found.engine.dispose()
    process = run_cli(config, "keys", "horizon", "--batch-size", "2", "--pause", "0.5")
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        if line.startswith("re-wrapped 4 of") or not line:
            break
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert any(line.startswith("re-wrapped 4 of") for line in seen), seen
    halfway = every_field_opens(config)
    assert old in halfway and len(halfway) == 2 and sum(halfway.values()) == 30
    again = run_cli(config, "keys", "horizon")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, out + err
    assert "Resuming the unfinished change of key" in out
    done = every_field_opens(config)
    assert list(done.values()) == [30] and old not in done



def test_the_restore_command_refuses_a_backup_older_than_the_horizon_and_changes_nothing(found, cli, tmp_path,
                                                                                         monkeypatch):
    services = build_services(found.config, load_policies(found.config.policies_dir), found.clock)
    keep_horizon(services)  # made on the test clock's day, weeks before the machine's
    with read(services.engine) as connection:
        [backup] = catalogue(found.config, instance_id(connection)).backups
    services.engine.dispose()
    policies = tmp_path / "short"
    policies.mkdir()
    for each in found.config.policies_dir.glob("*.toml"):
        text = each.read_text(encoding="utf-8")
        if each.name == "organisation.toml":
            text = text.replace('every = "P1D"\nkeep = "P35D"', 'every = "P1D"\nkeep = "P1D"').replace(
                'rotate_every = "P30D"', 'rotate_every = "P1D"')
        (policies / each.name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("CASEFEEDBACK_POLICIES", str(policies))
    before = hashlib.sha256(found.config.database_path.read_bytes()).hexdigest()
    result = cli.invoke(main, ["restore", str(backup.directory), "--yes"])
    assert result.exit_code == 1
    assert "older than the erasure horizon (2 days)" in result.output and "Nothing was changed" in result.output
    assert hashlib.sha256(found.config.database_path.read_bytes()).hexdigest() == before
