"""Invariant 4's proof: after a purge and after a withdrawal, what was erased is nowhere.

Not in the database file, its WAL or the logs (as bytes on disk); not in any page of the file decrypted
with the database key (live rows, free pages, old page images: secure_delete and the WAL truncation);
and none of the erased ciphertext opens with any key the instance still holds.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from casefeedback.crypto.aead import IntegrityFailure, associated_data, decrypt
from casefeedback.instance import load_secrets
from casefeedback.retention.erasure import erase
from casefeedback.retention.purge import purge
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import answers, data_keys
from tests.conftest import canary
from tests.retention.conftest import decrypted_image, seed_case, seed_submission
from tests.stores import store_files, stored_bytes


def captured(found, submission_id):
    """The ciphertext and wrapped keys of a submission, as an attacker with a copy would have them."""
    with read(found.engine) as connection:
        sealed = connection.execute(select(answers).where(answers.c.submission_id == submission_id)).all()
        keys = connection.execute(select(data_keys).where(data_keys.c.submission_id == submission_id)).all()
    return sealed, keys


def every_held_data_key(found):
    """Every data key the instance can still unwrap, with every key-encryption key it holds."""
    loaded = load_secrets(found.config.instance_dir, {})
    with read(found.engine) as connection:
        rows = connection.execute(select(data_keys)).all()
    opened = []
    for row in rows:
        for kek_id, kek in loaded.keks.items():
            try:
                opened.append(decrypt(kek.value, row.wrapped,
                                      associated_data("data_keys", row.id, row.submission_id, row.field_class,
                                                      kek_id)))
            except IntegrityFailure:
                continue
    return opened


def files_on_disk(config):
    paths = store_files(config)
    logs = config.instance_dir / "logs"
    return paths + (list(logs.iterdir()) if logs.exists() else [])


@pytest.mark.parametrize("how", ["retention", "withdrawal"])
def test_erased_means_erased(found, clock, how):
    secret_story, secret_safety = canary(), canary()
    keep = canary()
    case_id = seed_case(found, closed_at=clock.now)
    erased_id = seed_submission(found, {"anything_else": f"story {secret_story}", "safer": secret_safety,
                                        "treated": "1"}, case_id=case_id)
    kept_id = seed_submission(found, {"treated": "5", "anything_else": keep}, case_id=None)
    sealed, keys = captured(found, erased_id)
    if how == "retention":
        clock.advance(days=366)  # narrative (P180D) and safety (P1Y) after the case closed; rating stays (P2Y)
        purge(found, clock.now)
        gone = {"narrative", "safety"}
    else:
        with write(found.engine) as connection:
            erase(connection, found.audit, submission_id=erased_id, reason="consent_withdrawn")
        from casefeedback.storage.dialect import truncate_wal

        assert truncate_wal(found.engine)
        gone = {"narrative", "safety", "rating"}
    gone_sealed = [s for s in sealed if s.field_class in gone]
    gone_keys = [k for k in keys if k.field_class in gone]
    assert gone_sealed and gone_keys

    # 1. Not on disk as bytes (database, WAL, logs).
    for path in files_on_disk(found.config):
        data = path.read_bytes()
        for secret in (secret_story, secret_safety):
            assert secret.encode() not in data, path
    # 2. Not in any page, decrypted with the database key: no plaintext, no ciphertext, no wrapped key. On
    # PostgreSQL, in no row the server gives anyone who can read every table (its dead row versions and WAL are
    # the server's to recycle, and what they hold is wrapped by a key-encryption key the horizon destroys:
    # SECURITY.md, "PostgreSQL: what the operator provides").
    image = (stored_bytes(found.engine, found.config.database_path) if found.config.store.is_postgres
             else decrypted_image(found.config.database_path, found.config.secrets.database.value))
    assert keep.encode() not in image  # (the kept answer is sealed: plaintext is never in a page)
    for row in gone_sealed:
        assert row.ciphertext not in image
    for row in gone_keys:
        assert row.wrapped not in image  # (its id stays, in the erasure ledger: ids are not content)
    # 3. No key the instance holds opens what an earlier copy of the ciphertext would show.
    for data_key in every_held_data_key(found):
        for row in gone_sealed:
            aad = associated_data("answers", row.id, row.question_id, row.field_class, row.data_key_id)
            with pytest.raises(IntegrityFailure):
                decrypt(data_key, row.ciphertext, aad)
    # ...while what was not due still opens.
    with read(found.engine) as connection:
        remaining = {r for r in connection.execute(select(data_keys.c.field_class)
                                                   .where(data_keys.c.submission_id == kept_id)).scalars()}
    assert "rating" in remaining


def test_every_erasure_is_in_the_ledger_table_and_its_file(found):
    """What a restore re-applies: every destroyed key id, in the database and in the file beside it."""
    submission_id = seed_submission(found, {"anything_else": canary(), "treated": "3"})
    _sealed, keys = captured(found, submission_id)
    with write(found.engine) as connection:
        erase(connection, found.audit, submission_id=submission_id, reason="consent_withdrawn")
    from casefeedback.retention import ledger

    with read(found.engine) as connection:
        erased = {e.data_key_id for e in ledger.read_table(connection)}
    assert {k.id for k in keys} <= erased
    assert {k.id for k in keys} <= {e.data_key_id for e in ledger.read_file(
        ledger.ledger_path(found.config.database_path))}
