"""The erasure horizon: with a controllable clock, real backup files and real keys, an erased answer
becomes unreadable in every copy the instance keeps — and in a copy it no longer keeps — within
keep + rotation days; and losing the database *and* the ledger beside it never brings it back."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from casefeedback.audit.actions import Action
from casefeedback.backup.archive import DATABASE_FILE, BackupError
from casefeedback.backup.horizon import compute, grace
from casefeedback.backup.locations import catalogue
from casefeedback.backup.restore import restore
from casefeedback.backup.schedule import keep_horizon
from casefeedback.crypto.aead import IntegrityFailure
from casefeedback.crypto.keyring import Keyring
from casefeedback.crypto.rotation import RETIRE_AFTER, kek_source, rewrap_all, start_rotation
from casefeedback.retention import ledger
from casefeedback.retention.erasure import erase
from casefeedback.storage.dialect import open_readonly
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events
from tests.backup.test_backup_restore import classes_of
from tests.conftest import canary
from tests.retention.conftest import decrypted_image, seed_submission


def held_keyrings(found) -> list[Keyring]:
    """Every key-encryption key the instance holds on disk now, each alone."""
    keks, _active = kek_source(found.config.instance_dir, {})()
    return [Keyring({kek_id: value}, kek_id) for kek_id, value in keks.items()]


def openable(database: Path, database_key: bytes, keyrings: list[Keyring], submission_id: str) -> int:
    """How many of the submission's data keys in ``database`` some held key opens."""
    connection = open_readonly(database, database_key)
    try:
        rows = connection.execute("SELECT id, submission_id, field_class, kek_id, wrapped FROM data_keys "
                                  "WHERE submission_id = ?", (submission_id,)).fetchall()
    finally:
        connection.close()
    opened = 0
    for key_id, sid, field_class, kek_id, wrapped in rows:
        for keyring in keyrings:
            try:
                keyring.unwrap(kek_id, wrapped, (key_id, sid, field_class))
                opened += 1
            except IntegrityFailure:  # UnknownKeyError included: this keyring does not hold that KEK
                continue
    return opened


def test_an_erased_answer_is_unreadable_everywhere_within_the_horizon(found, clock, tmp_path):
    config = found.config
    secret = canary()
    erased_id = seed_submission(found, {"anything_else": secret, "treated": "2"})
    kept_id = seed_submission(found, {"anything_else": canary(), "treated": "4"})
    first = keep_horizon(found)
    assert not first.failed and "written and verified" in first.done[0]
    [backup] = catalogue(config, _instance(found)).backups
    # A copy the system does not keep: a snapshot of the backup disk, taken before the erasure.
    snapshot = tmp_path / "snapshot"
    shutil.copytree(backup.directory, snapshot)
    key = config.secrets.database.value
    assert openable(snapshot / DATABASE_FILE, key, held_keyrings(found), erased_id) == 2  # readable today

    clock.advance(hours=1)
    with write(found.engine) as connection:
        erase(connection, found.audit, submission_id=erased_id, reason="consent_withdrawn")
    rules = found.policies.organisation
    horizon = rules.backups.keep + rules.keys.rotate_every
    days = 0
    while timedelta(days=days) <= horizon + timedelta(days=2):
        clock.advance(days=1)
        days += 1
        done = keep_horizon(found)
        assert not done.failed, done.failed

    report = done.report
    assert report is not None and report.met, report and report.held_back
    assert report.last_met is not None and clock() - report.last_met < timedelta(days=1)
    kept = catalogue(config, _instance(found)).backups
    assert kept and all(clock() - b.created_at <= rules.backups.keep for b in kept)
    keyrings = held_keyrings(found)
    assert backup.kek_ids[0] not in {k.active_id for k in keyrings}  # the KEK of the erasure's day is destroyed
    assert backup.kek_ids[0] not in found.keyring.ids()  # on disk and in the running process alike
    for each in kept:
        assert openable(each.directory / DATABASE_FILE, key, keyrings, erased_id) == 0
        assert secret.encode() not in decrypted_image(each.directory / DATABASE_FILE, key)
    assert openable(config.database_path, key, keyrings, erased_id) == 0
    assert secret.encode() not in decrypted_image(config.database_path, key)
    # Even the copy the system no longer keeps holds the erased answer's key only under a KEK now destroyed.
    assert openable(snapshot / DATABASE_FILE, key, keyrings, erased_id) == 0
    assert openable(snapshot / DATABASE_FILE, key, keyrings, kept_id) == 0
    assert classes_of(config, kept_id) == {"narrative", "rating"}  # what was not erased is all still there
    with read(found.engine) as connection:
        actions = set(connection.execute(select(audit_events.c.action)).scalars())
    assert {Action.BACKUP_PRUNE, Action.KEYS_ROTATE, Action.KEYS_RETIRE, Action.BACKUP_HORIZON_MET} <= actions
    # And the old snapshot cannot be put back: it is older than the horizon.
    found.engine.dispose()
    with pytest.raises(BackupError, match="older than the erasure horizon"):
        restore(config, snapshot, clock, horizon=horizon)


def test_an_old_key_in_its_grace_after_a_rotation_does_not_hold_the_horizon_back(found, clock):
    """Right after a rotation the old key must stay (a running process may still wrap under it) and the worker
    destroys it at a later round: the horizon says so only once that round is late, not at once."""
    seed_submission(found, {"treated": "3"})
    assert not keep_horizon(found).failed  # a backup, made under the first key
    shutil.rmtree(catalogue(found.config, _instance(found)).backups[0].directory)  # so no backup needs it
    old = found.keyring.current_active_id
    start_rotation(found.config, found.engine, found.audit)
    rewrap_all(found.config, found.engine, found.audit)
    report = compute(found)
    assert [k.state for k in report.keks if k.kek_id == old] == ["waiting"]
    assert not any(old in reason for reason in report.held_back)
    clock.advance(seconds=(RETIRE_AFTER + grace(found)).total_seconds() + 60)  # the worker never came
    late = compute(found)
    assert any(f"The old key {old} is no longer needed by any backup" in reason for reason in late.held_back)


def _instance(found) -> str:
    from casefeedback.audit.checkpoints import instance_id

    with read(found.engine) as connection:
        return instance_id(connection)


def test_losing_the_database_and_its_ledger_still_keeps_every_erasure(found, clock):
    config = found.config
    erased_id = seed_submission(found, {"anything_else": canary(), "treated": "1"})
    kept_id = seed_submission(found, {"anything_else": canary()})
    keep_horizon(found)
    [backup] = catalogue(config, _instance(found)).backups
    clock.advance(hours=2)
    with write(found.engine) as connection:
        erase(connection, found.audit, submission_id=erased_id, reason="consent_withdrawn")
    copy = ledger.witness_copy_path(config.witness_path)
    assert not copy.resolve().is_relative_to(config.database_path.parent.resolve())
    assert {e.data_key_id for e in ledger.read_file(copy)} and erased_id in copy.read_text()
    found.engine.dispose()
    # Disaster: the database directory's files are all gone — database, WAL and the ledger beside it.
    for suffix in ("", "-wal", "-shm"):
        Path(str(config.database_path) + suffix).unlink(missing_ok=True)
    ledger.ledger_path(config.database_path).unlink()
    done = restore(config, backup.directory, clock)
    assert done.reapplied_keys == 2
    assert classes_of(config, erased_id) == set()
    assert classes_of(config, kept_id) == {"narrative"}
    assert {e.submission_id for e in ledger.read_file(ledger.ledger_path(config.database_path))} == {erased_id}


def test_prune_removes_only_what_is_past_its_keep(found, clock):
    config = found.config
    seed_submission(found, {"anything_else": canary()})
    keep_horizon(found)  # day 0
    clock.advance(days=20)
    keep_horizon(found)  # day 20
    clock.advance(days=15, hours=1)  # day 35 + 1 hour: the first is past its 35 days, the second is not
    done = keep_horizon(found)
    assert "1 backup(s) past 35 days removed" in done.done
    made = [b.created_at for b in catalogue(config, _instance(found)).backups]
    assert len(made) == 2 and all(clock() - at <= timedelta(days=35) for at in made)
    assert not any(p.name.startswith(".") for p in config.backup_path.iterdir())  # nothing half-removed


def test_an_old_database_key_goes_when_no_kept_backup_needs_it(found, clock):
    """A re-key keeps the old database key for the backups made under it; the round destroys it after them."""
    import os

    from casefeedback.instance import secrets_dir

    keep_horizon(found)  # a backup under the current database key
    secrets = secrets_dir(found.config.instance_dir)
    needed = secrets / "database.key.previous-20261101T000000Z"
    needed.write_text(f"# old\n{found.config.secrets.database.value.hex()}\n")
    unneeded = secrets / "database.key.previous-20261001T000000Z"
    unneeded.write_text(f"# old\n{os.urandom(32).hex()}\n")
    done = keep_horizon(found)
    assert "1 old database key(s) destroyed" in "; ".join(done.done)
    assert needed.exists() and not unneeded.exists()
