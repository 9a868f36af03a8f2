"""The SQLCipher page settings: new files authenticate pages with HMAC-SHA256; a file made with SQLCipher 4's
own settings (HMAC-SHA512, every instance made before) still opens, reads and writes, and a re-key or a backup
copies it into a file of the current kind."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlcipher3
from sqlalchemy import func, select, text

from casefeedback.storage.dialect import APPLICATION_ID, StoreOpenError, open_keyed, open_readonly, raw_key_pragma_value
from casefeedback.storage.engine import open_engine, read, write
from casefeedback.storage.tables import policy_versions
from tests.backup.test_rekey_online import key_on_disk, run
from tests.stores import sqlcipher_only

pytestmark = sqlcipher_only


def page_mac_of(path: Path, key: bytes) -> str:
    """The page MAC a file was made with, told by which settings read it (the file records none)."""
    for name, settings in (("HMAC_SHA256", "PRAGMA cipher_hmac_algorithm = HMAC_SHA256"),
                           ("HMAC_SHA512", "PRAGMA cipher_compatibility = 4")):
        connection = sqlcipher3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            connection.execute(f"PRAGMA key = \"{raw_key_pragma_value(key)}\"")
            connection.execute("PRAGMA cipher_log_level = NONE")
            connection.execute(settings)
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return name
        except sqlcipher3.DatabaseError:
            continue
        finally:
            connection.close()
    raise AssertionError(f"{path} opens with neither setting")


def make_earlier_kind(config, live: Path | None = None) -> None:
    """Turn the instance's file (or ``live``, a copy under the same key) into one made as before: SQLCipher 4's
    own settings (HMAC-SHA512)."""
    key = config.secrets.database.value
    live = live or config.database_path.resolve()
    earlier = live.with_name("earlier.db")
    connection = open_keyed(str(live), key, str(live))
    try:
        connection.execute("ATTACH DATABASE ? AS earlier KEY ?", (str(earlier), raw_key_pragma_value(key)))
        connection.execute("PRAGMA earlier.cipher_compatibility = 4")
        connection.execute("PRAGMA earlier.auto_vacuum = FULL")
        connection.execute("SELECT sqlcipher_export('earlier')")
        connection.execute(f"PRAGMA earlier.application_id = {APPLICATION_ID}")
        connection.execute("DETACH DATABASE earlier")
    finally:
        connection.close()
    for sibling in ("-wal", "-shm"):
        live.with_name(live.name + sibling).unlink(missing_ok=True)
    earlier.replace(live)
    assert page_mac_of(live, key) == "HMAC_SHA512"


def count_policies(engine) -> int:
    with read(engine) as connection:
        return int(connection.execute(select(func.count()).select_from(policy_versions)).scalar_one())


def test_a_new_database_authenticates_its_pages_with_hmac_sha256(config):
    assert page_mac_of(config.database_path.resolve(), config.secrets.database.value) == "HMAC_SHA256"
    engine = open_engine(config.database_path, config.secrets.database.value)
    try:
        with read(engine) as connection:
            assert connection.execute(text("PRAGMA cipher_hmac_algorithm")).scalar() == "HMAC_SHA256"
    finally:
        engine.dispose()


def test_a_database_made_with_sqlcipher_4_settings_opens_reads_and_writes(found):
    config = found.config
    before = count_policies(found.engine)
    found.engine.dispose()
    make_earlier_kind(config)
    engine = open_engine(config.database_path, config.secrets.database.value)
    try:
        assert count_policies(engine) == before
        with write(engine) as connection:
            connection.execute(text("CREATE TABLE scratch (x)"))
            connection.execute(text("INSERT INTO scratch VALUES (1)"))
        with read(engine) as connection:
            assert connection.execute(text("SELECT count(*) FROM scratch")).scalar() == 1
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    finally:
        engine.dispose()
    assert page_mac_of(config.database_path.resolve(), config.secrets.database.value) == "HMAC_SHA512"  # as it was
    readonly = open_readonly(config.database_path.resolve(), config.secrets.database.value)
    readonly.close()


@pytest.mark.parametrize("kind", ["current", "earlier"])
def test_a_wrong_key_still_opens_nothing_and_says_so(found, kind):
    config = found.config
    found.engine.dispose()
    if kind == "earlier":
        make_earlier_kind(config)
    with pytest.raises(StoreOpenError, match="cannot be opened with the configured database key"):
        open_engine(config.database_path, bytes(32))
    with pytest.raises(StoreOpenError, match="cannot be opened with the configured database key"):
        open_readonly(config.database_path.resolve(), bytes(32))


def test_rekey_db_copies_an_earlier_file_into_one_of_the_current_kind(found):
    config = found.config
    before = count_policies(found.engine)
    found.engine.dispose()
    make_earlier_kind(config)
    rekeyed = run(config, "-m", "casefeedback", "keys", "rekey-db", "--yes")
    assert rekeyed.returncode == 0, rekeyed.stderr
    key = key_on_disk(config)
    assert page_mac_of(config.database_path.resolve(), key) == "HMAC_SHA256"
    engine = open_engine(config.database_path, key)
    try:
        assert count_policies(engine) == before
    finally:
        engine.dispose()
    verified = run(config, "-m", "casefeedback", "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_backup_of_an_earlier_file_is_of_the_current_kind(found):
    from tests.backup.test_backup_restore import take_backup

    config = found.config
    found.engine.dispose()
    make_earlier_kind(config)  # the services' engine opens the new file at its next connection
    directory = take_backup(found)
    assert page_mac_of(directory / "casefeedback.db", config.secrets.database.value) == "HMAC_SHA256"



@pytest.mark.parametrize("kind", ["current", "earlier"])
def test_the_tests_decrypted_image_reads_both_kinds_and_never_guesses(found, kind):
    """The canary tests look for plaintext in ``decrypted_image``: it must really decrypt either kind of file
    (else "not in the file" would pass for nothing), and refuse a file it cannot."""
    from tests.conftest import canary
    from tests.retention.conftest import decrypted_image, seed_submission

    config = found.config
    seed_submission(found, {"anything_else": canary()})
    found.engine.dispose()
    if kind == "earlier":
        make_earlier_kind(config)
    image = decrypted_image(config.database_path.resolve(), config.secrets.database.value)
    assert b"SQLite format 3" not in image[:16]  # page 1's first 16 bytes are the salt, not decrypted
    assert b"CREATE TABLE draft_answers" in image  # the schema, in plaintext once decrypted
    with pytest.raises(AssertionError, match="cannot decrypt this file"):
        decrypted_image(config.database_path.resolve(), bytes(32))


def test_keys_status_says_which_kind_the_file_is_and_what_to_do(found):
    config = found.config
    found.engine.dispose()
    current = run(config, "-m", "casefeedback", "keys", "status")
    assert current.returncode == 0, current.stderr
    assert "Database file: pages encrypted with AES-256 and authenticated with HMAC-SHA256." in current.stdout
    make_earlier_kind(config)
    earlier = run(config, "-m", "casefeedback", "keys", "status")
    assert earlier.returncode == 0, earlier.stderr
    assert "(HMAC-SHA512)" in earlier.stdout and "`casefeedback keys rekey-db` copies it" in earlier.stdout
