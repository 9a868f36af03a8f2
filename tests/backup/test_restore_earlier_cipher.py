"""A backup taken before new files authenticated pages with HMAC-SHA256 (its file is HMAC-SHA512, SQLCipher 4's
own settings) still verifies and restores, and the instance opens afterwards."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from casefeedback.audit.checkpoints import Signer
from casefeedback.backup.archive import read_manifest, sha256_of, signer_sign, write_manifest
from casefeedback.backup.restore import restore, verify
from casefeedback.storage.engine import open_engine
from tests.backup.test_backup_restore import take_backup
from tests.storage.test_cipher_settings import count_policies, make_earlier_kind, page_mac_of
from tests.stores import sqlcipher_only

pytestmark = sqlcipher_only


def test_a_backup_taken_before_verifies_and_restores(found, clock):
    """Backups taken before this change hold an HMAC-SHA512 file: they still verify, restore and open."""
    config = found.config
    before = count_policies(found.engine)
    directory = take_backup(found)
    copy = directory / "casefeedback.db"
    make_earlier_kind(config, copy)  # as a backup taken before was made
    assert page_mac_of(copy, config.secrets.database.value) == "HMAC_SHA512"
    manifest = replace(read_manifest(directory), database_sha256=sha256_of(copy), database_size=copy.stat().st_size)
    (directory / "manifest.json").unlink()
    write_manifest(directory, signer_sign(Signer(config.secrets.audit_signing.value), manifest))
    verify(config, directory)
    found.engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(str(config.database_path) + suffix).unlink(missing_ok=True)
    restore(config, directory, clock)
    engine = open_engine(config.database_path, config.secrets.database.value)
    try:
        assert count_policies(engine) == before
    finally:
        engine.dispose()
