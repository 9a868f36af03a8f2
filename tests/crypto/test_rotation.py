"""Key rotation: online, resumable (killed midway and run again: nothing undecryptable), retirement, re-key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from casefeedback.cli import main
from casefeedback.crypto.aead import associated_data, decrypt
from casefeedback.crypto.keyring import Keyring
from casefeedback.crypto.rotation import KeyOperationError, kek_source, retire, rewrap_all, start_rotation
from casefeedback.instance import load_secrets
from casefeedback.storage.engine import open_engine, read
from casefeedback.storage.tables import answers, data_keys
from tests.conftest import ROOT, canary
from tests.retention.conftest import seed_submission


@pytest.fixture
def found(config, clock):
    """The services alone: a web app would hold the running lock that `keys rekey-db` must take."""
    from casefeedback.policy import load_policies
    from casefeedback.services import build_services

    services = build_services(config, load_policies(config.policies_dir), clock)
    yield services
    services.engine.dispose()


def every_field_opens(config) -> dict[str, int]:
    """Open every answer with only what is on disk now; return how many data keys each KEK wraps."""
    keks, active = kek_source(config.instance_dir, {})()
    keyring = Keyring(keks, active)
    engine = open_engine(config.database_path, load_secrets(config.instance_dir, {}).database.value)
    by_kek: dict[str, int] = {}
    try:
        with read(engine) as connection:
            for key in connection.execute(select(data_keys)).all():
                data_key = keyring.unwrap(key.kek_id, key.wrapped, (key.id, key.submission_id, key.field_class))
                by_kek[key.kek_id] = by_kek.get(key.kek_id, 0) + 1
                for row in connection.execute(select(answers).where(answers.c.data_key_id == key.id)):
                    decrypt(data_key, row.ciphertext, associated_data("answers", row.id, row.question_id,
                                                                      row.field_class, row.data_key_id))
    finally:
        engine.dispose()
    return by_kek


def seed_many(found, n: int) -> None:
    for _ in range(n):
        seed_submission(found, {"treated": "3", "anything_else": canary(), "safe_now": "yes"})


def test_rotation_rewraps_every_data_key_and_they_all_still_open(found):
    seed_many(found, 5)
    old = found.keyring.current_active_id
    new, previous, left = start_rotation(found.config, found.engine, found.audit)
    assert previous == old and new != old and left == 15
    secret = found.config.instance_dir / "secrets" / f"kek-{new}.key"
    assert oct(secret.stat().st_mode & 0o777) == "0o600"
    assert rewrap_all(found.config, found.engine, found.audit, batch_size=4) == 15
    assert every_field_opens(found.config) == {new: 15}


def test_a_running_process_follows_the_rotation_online(found):
    """The web app's keyring (built before the rotation) opens keys re-wrapped under the new KEK."""
    seed_many(found, 1)
    start_rotation(found.config, found.engine, found.audit)
    rewrap_all(found.config, found.engine, found.audit)
    with read(found.engine) as connection:
        key = connection.execute(select(data_keys)).first()
    assert key.kek_id not in found.keyring.keks  # the running keyring never saw this KEK at start-up
    found.keyring.unwrap(key.kek_id, key.wrapped, (key.id, key.submission_id, key.field_class))
    # and new data keys follow the new active KEK
    assert found.keyring.current_active_id == key.kek_id


def run_cli(config, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CASEFEEDBACK_INSTANCE": str(config.instance_dir),
           "CASEFEEDBACK_POLICIES": str(config.policies_dir)}
    return subprocess.Popen([sys.executable, "-m", "casefeedback", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_killed_midway_and_run_again_nothing_is_undecryptable(found):
    seed_many(found, 10)  # 30 data keys
    old = found.keyring.current_active_id
    found.engine.dispose()
    process = run_cli(found.config, "keys", "rotate", "--batch-size", "2", "--pause", "0.5")
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        if line.startswith("re-wrapped 2 of"):
            break
    process.send_signal(signal.SIGKILL)  # no clean-up of any kind
    process.communicate(timeout=30)
    assert any(line.startswith("re-wrapped 2 of") for line in seen), seen
    halfway = every_field_opens(found.config)  # raises if anything could not be opened
    assert old in halfway and len(halfway) == 2 and sum(halfway.values()) == 30
    again = run_cli(found.config, "keys", "rotate")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "Resuming the unfinished rotation" in out
    done = every_field_opens(found.config)
    assert list(done.values()) == [30] and old not in done


def test_retiring_a_key_is_refused_while_any_data_key_uses_it(found, clock):
    seed_many(found, 2)
    old = found.keyring.current_active_id
    with pytest.raises(KeyOperationError, match="active key-encryption key"):
        retire(found.config, found.engine, found.audit, old)
    start_rotation(found.config, found.engine, found.audit)
    clock.advance(minutes=16)
    with pytest.raises(KeyOperationError, match="still wrapped by"):
        retire(found.config, found.engine, found.audit, old)
    assert (found.config.instance_dir / "secrets" / f"kek-{old}.key").exists()
    rewrap_all(found.config, found.engine, found.audit)
    retire(found.config, found.engine, found.audit, old)
    assert not (found.config.instance_dir / "secrets" / f"kek-{old}.key").exists()
    assert sum(every_field_opens(found.config).values()) == 6


@pytest.fixture
def cli(found, monkeypatch):
    monkeypatch.setenv("CASEFEEDBACK_INSTANCE", str(found.config.instance_dir))
    monkeypatch.setenv("CASEFEEDBACK_POLICIES", str(found.config.policies_dir))
    return CliRunner()


def test_an_old_key_stays_until_every_process_has_moved_off_it(found, clock):
    """A web worker wraps under the key it last read as active for up to ten seconds after a rotation: an answer
    saved then must not lose its key. Within RETIRE_AFTER of the rotation the old key is refused retirement even
    with nothing wrapped by it; afterwards, what was wrapped meanwhile is found and re-wrapped first."""
    from casefeedback.crypto.rotation import RETIRE_AFTER

    old = found.keyring.current_active_id
    start_rotation(found.config, found.engine, found.audit)  # this process's keyring still wraps under `old`
    seed_many(found, 1)
    clock.advance(seconds=RETIRE_AFTER.total_seconds() - 60)
    with pytest.raises(KeyOperationError, match="may still be wrapping"):
        retire(found.config, found.engine, found.audit, old)
    clock.advance(minutes=2)
    with pytest.raises(KeyOperationError, match="still wrapped by"):
        retire(found.config, found.engine, found.audit, old)
    rewrap_all(found.config, found.engine, found.audit)
    retire(found.config, found.engine, found.audit, old)
    assert sum(every_field_opens(found.config).values()) == 3


def test_an_unused_old_key_is_shown_as_retirable_only_once_its_grace_is_over(found, clock, cli):
    """`keys status` and the administrator's system page say when the old key may go, not "can be retired"
    while `keys retire` would still refuse it."""
    from casefeedback.admin.system import overview
    from casefeedback.crypto.rotation import RETIRE_AFTER

    seed_many(found, 1)
    old = found.keyring.current_active_id
    start_rotation(found.config, found.engine, found.audit)
    rewrap_all(found.config, found.engine, found.audit)
    shown = {kek.kek_id: kek for kek in overview(found).keks}
    assert shown[old].state == "can be retired later" and shown[old].data_keys == 0
    allowed = clock() + RETIRE_AFTER
    assert shown[old].command == f"after {allowed:%H:%M} UTC: casefeedback keys retire {old}"
    clock.advance(seconds=RETIRE_AFTER.total_seconds() + 1)
    shown = {kek.kek_id: kek for kek in overview(found).keks}
    assert shown[old].state == "can be retired" and shown[old].command == f"casefeedback keys retire {old}"
    retire(found.config, found.engine, found.audit, old)  # what the page offered now runs


def test_keys_status_gives_the_time_an_old_key_may_be_retired(found, cli):
    seed_many(found, 1)
    rotated = cli.invoke(main, ["keys", "rotate"])  # the command runs on the real clock: the grace has begun
    assert rotated.exit_code == 0, rotated.output
    status = cli.invoke(main, ["keys", "status"])
    assert status.exit_code == 0 and "can be retired after " in status.output and " UTC" in status.output
    old_line = next(line for line in status.output.splitlines() if "can be retired after" in line)
    assert "0 data key(s)" in old_line


def test_keys_commands(found, cli, monkeypatch):
    from casefeedback.crypto import rotation

    monkeypatch.setattr(rotation, "RETIRE_AFTER", rotation.timedelta(0))  # the command runs on the real clock
    seed_many(found, 1)
    status = cli.invoke(main, ["keys", "status"])
    assert status.exit_code == 0 and "active" in status.output and "3 data key(s)" in status.output
    assert "mode 0600" in status.output
    rotated = cli.invoke(main, ["keys", "rotate"])
    assert rotated.exit_code == 0 and "Done: 3 data key(s) re-wrapped" in rotated.output
    old = found.keyring.active_id
    assert "can be retired" in cli.invoke(main, ["keys", "status"]).output
    retired = cli.invoke(main, ["keys", "retire", old])
    assert retired.exit_code == 0, retired.output
    again = cli.invoke(main, ["keys", "retire", "k-nonexistent"])
    assert again.exit_code == 1 and "there is no key-encryption key" in again.output


def test_rekey_db_keeps_the_old_key_only_for_the_backups_made_under_it(found, cli):
    seed_many(found, 2)
    config = found.config
    old_key = config.secrets.database.value
    backed_up = cli.invoke(main, ["backup"])
    assert backed_up.exit_code == 0, backed_up.output
    result = cli.invoke(main, ["keys", "rekey-db", "--yes"])
    assert result.exit_code == 0, result.output
    assert "writes paused for" in result.output and "for 1 older backup(s)" in result.output
    new_key = load_secrets(config.instance_dir, {}).database.value
    assert new_key != old_key
    engine = open_engine(config.database_path, new_key)
    engine.dispose()
    from casefeedback.storage.dialect import StoreOpenError

    with pytest.raises(StoreOpenError):
        open_engine(config.database_path, old_key)
    previous = list((config.instance_dir / "secrets").glob("database.key.previous-*"))
    assert len(previous) == 1 and oct(previous[0].stat().st_mode & 0o777) == "0o600"
    assert sum(every_field_opens(config).values()) == 6
    backup = next((config.instance_dir / "backups").iterdir())
    checked = cli.invoke(main, ["backup", "--verify", str(backup)])  # an old backup, under the old key
    assert checked.exit_code == 0, checked.output
    assert cli.invoke(main, ["audit", "verify"]).exit_code == 0
    # The worker's next backup, by services opened before the re-key and a configuration that still holds
    # the old key, is made under the new key: the old one is gone once its backups expire.
    from casefeedback.audit.checkpoints import Signer
    from casefeedback.backup.archive import create_backup, database_key_check

    _, manifest = create_backup(found.engine, config.database_path, old_key, found.audit,
                                Signer(config.secrets.audit_signing.value), config.instance_dir / "backups")
    assert manifest.database_key_check == database_key_check(new_key)


def test_rekey_db_runs_beside_a_running_app(found, config, clock, cli):
    from casefeedback import create_app

    app = create_app(config, clock=clock)
    result = cli.invoke(main, ["keys", "rekey-db", "--yes"])
    assert result.exit_code == 0, result.output
    assert load_secrets(config.instance_dir, {}).database.value != config.secrets.database.value
    assert app.test_client().get("/feedback/victim-support", follow_redirects=True).status_code == 200
    app.extensions["casefeedback"].engine.dispose()
