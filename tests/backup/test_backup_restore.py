"""Backups: encrypted, verifiable, refused when wrong — and a restore never brings erased data back."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from casefeedback.audit.checkpoints import Signer
from casefeedback.backup.archive import BackupError, create_backup
from casefeedback.backup.lock import InstanceBusy
from casefeedback.backup.restore import restore, verify
from casefeedback.bootstrap import create_secrets
from casefeedback.cli import main
from casefeedback.retention.erasure import erase
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import answers, data_keys
from tests.conftest import canary, make_config
from tests.retention.conftest import decrypted_image, seed_submission


def take_backup(found) -> Path:
    config = found.config
    directory, _ = create_backup(found.engine, config.database_path, config.secrets.database.value, found.audit,
                                 Signer(config.secrets.audit_signing.value), config.instance_dir / "backups")
    return directory


def classes_of(config, submission_id) -> set[str]:
    from casefeedback.storage.engine import open_engine

    engine = open_engine(config.database_path, config.secrets.database.value)
    try:
        with read(engine) as connection:
            return set(connection.execute(select(data_keys.c.field_class)
                                          .where(data_keys.c.submission_id == submission_id)).scalars())
    finally:
        engine.dispose()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_backup_is_encrypted_signed_and_verifies(found, clock):
    secret = canary()
    seed_submission(found, {"anything_else": secret})
    directory = take_backup(found)
    copy = directory / "casefeedback.db"
    assert secret.encode() not in copy.read_bytes() and not copy.read_bytes().startswith(b"SQLite format 3")
    assert oct(copy.stat().st_mode & 0o777) == "0o600"
    verified = verify(found.config, directory)
    assert verified.manifest.audit_seq == verified.events and verified.events > 0
    # The copy's answers are sealed too: not even the decrypted pages hold the plaintext.
    assert secret.encode() not in decrypted_image(copy, found.config.secrets.database.value)


def test_restoring_a_backup_taken_before_an_erasure_keeps_the_erased_fields_gone(found, clock):
    erased_id = seed_submission(found, {"anything_else": canary(), "treated": "2", "safer": canary()})
    kept_id = seed_submission(found, {"anything_else": canary(), "treated": "4"})
    directory = take_backup(found)  # holds erased_id's keys and ciphertext
    with write(found.engine) as connection:
        erase(connection, found.audit, submission_id=erased_id, reason="consent_withdrawn")
    config = found.config
    found.engine.dispose()
    done = restore(config, directory, clock)
    assert done.reapplied_keys == 3 and done.reapplied_fields == 3
    assert classes_of(config, erased_id) == set()
    assert classes_of(config, kept_id) == {"narrative", "rating"}
    assert done.archived_events >= 1  # the erasure's own event, newer than the backup, is kept aside


def test_restoring_after_losing_the_database_still_honours_every_erasure(found, clock):
    """Disaster: the live database is gone; the ledger file beside it is what remembers."""
    erased_id = seed_submission(found, {"anything_else": canary()})
    directory = take_backup(found)
    with write(found.engine) as connection:
        erase(connection, found.audit, submission_id=erased_id, reason="retention")
    config = found.config
    found.engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(str(config.database_path) + suffix).unlink(missing_ok=True)
    done = restore(config, directory, clock)
    assert done.reapplied_keys == 1 and classes_of(config, erased_id) == set()


def test_restore_refuses_onto_a_running_instance_and_changes_nothing(found, config, clock):
    from casefeedback import create_app

    directory = take_backup(found)
    app = create_app(config, clock=clock)  # a running web process holds the instance's lock
    before = digest(config.database_path)
    with pytest.raises(InstanceBusy, match="casefeedback is running"):
        restore(config, directory, clock)
    assert digest(config.database_path) == before
    app.extensions["casefeedback"].engine.dispose()


def test_a_truncated_backup_is_refused(found, clock):
    directory = take_backup(found)
    copy = directory / "casefeedback.db"
    copy.write_bytes(copy.read_bytes()[:-4096])
    with pytest.raises(BackupError, match="truncated"):
        verify(found.config, directory)


def test_an_altered_backup_or_manifest_is_refused(found, clock):
    directory = take_backup(found)
    copy = directory / "casefeedback.db"
    data = bytearray(copy.read_bytes())
    data[5000] ^= 1
    copy.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="SHA-256"):
        verify(found.config, directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["audit_seq"] += 1
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="signature"):
        verify(found.config, directory)
    (directory / "manifest.json").write_text('{"format": "casefeedback-backup/1", "instan')
    with pytest.raises(BackupError, match="cut short or altered"):
        verify(found.config, directory)


def test_a_backup_of_another_instance_is_refused(found, clock, tmp_path):
    other_config = make_config(tmp_path / "other")
    from casefeedback.policy import load_policies
    from casefeedback.services import build_services

    other = build_services(other_config, load_policies(other_config.policies_dir), clock)
    directory = take_backup(other)
    other.engine.dispose()
    with pytest.raises(BackupError, match="not made by this instance"):
        verify(found.config, directory)


def test_a_backup_needing_a_retired_key_encryption_key_is_refused(found, clock):
    directory = take_backup(found)
    manifest_kek = json.loads((directory / "manifest.json").read_text())["kek_ids"]
    assert manifest_kek == []  # nothing sealed yet: needs no KEK
    seed_submission(found, {"treated": "3"})
    directory = take_backup(found)
    from casefeedback.crypto.rotation import retire, rewrap_all, start_rotation

    old = found.keyring.current_active_id
    start_rotation(found.config, found.engine, found.audit)
    rewrap_all(found.config, found.engine, found.audit)
    clock.advance(minutes=16)  # every process has moved off the old key (rotation.RETIRE_AFTER)
    retire(found.config, found.engine, found.audit, old)  # its file destroyed: the backup needs it
    with pytest.raises(BackupError, match=f"needs key-encryption key\\(s\\) {old}"):
        verify(found.config, directory)


# ---------------------------------------------------------------- through the command


@pytest.fixture
def cli_env(found, monkeypatch):
    monkeypatch.setenv("CASEFEEDBACK_INSTANCE", str(found.config.instance_dir))
    monkeypatch.setenv("CASEFEEDBACK_POLICIES", str(found.config.policies_dir))
    return CliRunner()


def test_backup_and_restore_commands(found, clock, cli_env):
    erased_id = seed_submission(found, {"anything_else": canary()})
    made = cli_env.invoke(main, ["backup"])
    assert made.exit_code == 0, made.output
    assert "Backup written and verified" in made.output
    directory = next((found.config.instance_dir / "backups").iterdir())
    with write(found.engine) as connection:
        erase(connection, found.audit, submission_id=erased_id, reason="consent_withdrawn")
    found.engine.dispose()
    done = cli_env.invoke(main, ["restore", str(directory), "--yes"])
    assert done.exit_code == 0, done.output
    assert "Erasures re-applied from the ledger: 1 data key(s), 1 answer(s)" in done.output
    assert classes_of(found.config, erased_id) == set()
    checked = cli_env.invoke(main, ["audit", "verify"])
    assert checked.exit_code == 0, checked.output


@pytest.mark.parametrize("damage, message", [
    ("truncate", "truncated"),
    ("other-instance", "not made by this instance"),
    ("no-manifest", "not a casefeedback backup"),
])
def test_bad_backups_are_refused_by_the_command_with_nothing_changed(found, clock, cli_env, tmp_path, damage,
                                                                       message):
    directory = take_backup(found)
    if damage == "truncate":
        copy = directory / "casefeedback.db"
        copy.write_bytes(copy.read_bytes()[: copy.stat().st_size // 2])
    elif damage == "other-instance":
        other = tmp_path / "other"
        create_secrets(other, "development")
        signing = (other / "secrets" / "audit-signing.key").read_text().splitlines()[-1]
        from casefeedback.backup.archive import Manifest, signer_sign

        manifest = Manifest.from_json((directory / "manifest.json").read_text())
        forged = signer_sign(Signer(bytes.fromhex(signing)),
                             Manifest(**{**manifest.__dict__, "public_key": Signer(bytes.fromhex(signing)).public_key,
                                         "signature": ""}))
        (directory / "manifest.json").write_text(forged.to_json())
    else:
        (directory / "manifest.json").unlink()
    found.engine.dispose()
    before = digest(found.config.database_path)
    result = cli_env.invoke(main, ["restore", str(directory), "--yes"])
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Traceback" not in result.output
    assert digest(found.config.database_path) == before


def test_restore_command_refuses_onto_a_running_instance(found, config, clock, cli_env):
    from casefeedback import create_app

    directory = take_backup(found)
    app = create_app(config, clock=clock)
    result = cli_env.invoke(main, ["restore", str(directory), "--yes"])
    assert result.exit_code == 1 and "casefeedback is running" in result.output and "Nothing was changed" in \
        result.output
    app.extensions["casefeedback"].engine.dispose()


def test_backup_refuses_a_missing_directory_to_verify(cli_env, tmp_path):
    result = cli_env.invoke(main, ["backup", "--verify", str(tmp_path / "nope")])
    assert result.exit_code == 1 and "is not a backup directory" in result.output


def test_copying_a_backup_elsewhere_keeps_it_verifiable(found, tmp_path):
    directory = take_backup(found)
    moved = tmp_path / "offsite" / directory.name
    shutil.copytree(directory, moved)
    assert verify(found.config, moved).events > 0
    assert os.path.getsize(moved / "casefeedback.db") == os.path.getsize(directory / "casefeedback.db")
    with read(found.engine) as connection:
        assert connection.execute(select(answers)).all() == []
