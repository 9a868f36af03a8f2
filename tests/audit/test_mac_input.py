"""Verifying over the MAC input SQLite makes (walk.py, dialect.audit_mac_input_columns) checks no less than
encoding every stored row in Python: whatever is stored in whichever column — text of any character, an
integer, a REAL, a BLOB, a NULL, the same bytes in another storage class — the fast walk's verdict is the
exact walk's, and a log whose text the two encoders write differently (DEL, non-ASCII) still verifies.
Each example tampers inside a transaction that is then rolled back."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlcipher3
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError

from casefeedback.audit import AuditEvent
from casefeedback.audit.walk import (
    WALK_SQL,
    KeyedMac,
    encoded_walk_sql,
    heads_of,
    walk_chain_after,
    walk_connection,
    walk_log,
)
from casefeedback.storage.dialect import audit_mac_input_columns
from casefeedback.storage.engine import write
from tests.audit.tampering import tampering
from tests.stores import sqlcipher_only

# SQLite's own encodings of the MAC input: PostgreSQL's walk encodes every event itself.
pytestmark = sqlcipher_only

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ENCODE = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
# Text the appender may be given: every ASCII character (DEL and the control characters among them), quotes,
# backslashes, non-ASCII letters, a character outside the BMP.
ODD_TEXT = ["".join(chr(c) for c in range(128)), 'say "hi" \\ there', "Zoë Ó Súilleabháin", "😀 \u2028", "\x7f"]
COLUMNS = ("chain", "chain_seq", "at", "actor_id", "actor_role", "action", "object_type", "object_id", "field_class",
           "purpose", "outcome", "detail", "mac")  # seq is the row's own number: SQLite takes integers only


@pytest.fixture
def log(found):
    with write(found.engine) as connection:
        found.audit.append_many(connection, [
            AuditEvent(action="field.open", outcome="allowed", actor_id=text, actor_role=None, object_type="answer",
                       object_id=text[:36], purpose=text, detail={"reason": text, "n": i})
            for i, text in enumerate([*ODD_TEXT, "plain", "plain"])])
    return found


def verdicts(found, connection):
    """(the walk over SQLite's MAC input, the walk encoding every stored row in Python)."""
    key = found.config.secrets.audit_chain.value
    heads = heads_of(connection)
    fast = walk_connection(connection, key, heads, {})
    exact = walk_log(key, [tuple(row) for row in connection.exec_driver_sql(WALK_SQL)], heads, {})
    return fast, exact


def test_a_log_whose_text_sqlite_writes_differently_verifies_as_it_does_exactly(log):
    with tampering(log) as connection:
        fast, exact = verdicts(log, connection)
    assert fast.ok and exact.ok and fast == exact


def test_sqlite_writes_the_appenders_bytes_for_ascii_but_del(log):
    """Not needed for soundness (a different input only sends the row to the exact check), but it is why the
    fast walk is fast: printable and control characters alike come out byte for byte."""
    with tampering(log) as connection:
        for code in range(128):
            value = f"a{chr(code)}b"
            made = connection.exec_driver_sql("SELECT json_array(?, NULL, -9223372036854775808)", (value,)).scalar()
            assert (made == ENCODE([value, None, -2 ** 63])) == (code != 0x7F), (code, made)


@SETTINGS
@given(value=st.one_of(st.text(), st.integers(-2 ** 63, 2 ** 63 - 1), st.none()))
def test_sqlite_json_array_is_faithful_to_text_integers_and_null(log, value):
    with tampering(log) as connection:
        made = connection.exec_driver_sql("SELECT json_array(?)", (value,)).scalar()
    assert json.loads(made) == [value] and type(json.loads(made)[0]) is type(value)


@SETTINGS
@given(value=st.floats(allow_nan=False))
def test_sqlite_writes_every_real_with_a_point_or_an_exponent(log, value):
    """So a REAL never reads as an integer the appender MACed."""
    with tampering(log) as connection:
        made = connection.exec_driver_sql("SELECT json_array(CAST(? AS REAL))", (value,)).scalar()
    assert any(mark in made for mark in ".eE"), made


def _stored_value():
    return st.one_of(st.none(), st.text(max_size=40), st.sampled_from(ODD_TEXT), st.integers(-2 ** 63, 2 ** 63 - 1),
                     st.floats(allow_nan=False), st.binary(max_size=40), st.just(b""))


@SETTINGS
@given(index=st.integers(0, 6), column=st.sampled_from(COLUMNS), replacement=_stored_value(),
       same_bytes=st.booleans())
def test_any_value_in_any_column_gets_the_exact_walks_verdict(log, index, column, replacement, same_bytes):
    """``same_bytes``: the stored value kept but its storage class changed (a BLOB of its text, a NULL as an empty
    BLOB, an integer as text or REAL) — the change json_array alone would not see."""
    with tampering(log) as connection:
        rows = [tuple(row) for row in connection.exec_driver_sql(WALK_SQL)]
        target = [row for row in rows if row[0] != 0][-7:][index]
        original = target[(*COLUMNS[:2], "seq", *COLUMNS[2:]).index(column)]
        if same_bytes:
            replacement = (b"" if original is None else original.encode() if isinstance(original, str)
                           else float(original) if isinstance(original, int) and column != "chain" else str(original))
        try:
            connection.exec_driver_sql(f"UPDATE audit_events SET {column} = ? WHERE seq = ?",  # noqa: S608
                                       (replacement, target[2]))
        except IntegrityError:  # another event's place in its chain, or a NULL where the schema forbids it
            assume(False)
        stored = connection.exec_driver_sql(f"SELECT {column} FROM audit_events WHERE seq = ?",  # noqa: S608
                                            (target[2],)).scalar()
        fast, exact = verdicts(log, connection)
    assert fast == exact
    changed = type(stored) is not type(original) or stored != original
    assert fast.ok is not changed, (column, original, stored, fast)


def test_plain_events_verify_over_sqlites_input_alone(found):
    """The fast walk is the fast one: no event written in plain ASCII goes back for the exact check."""
    with write(found.engine) as connection:
        found.audit.append_many(connection, [AuditEvent(action="field.open", outcome="allowed", actor_id="staff-1",
                                                        detail={"reason": 'a "quoted" \\ reason', "n": n})
                                             for n in range(20)])
    fetched = []
    with tampering(found) as connection:
        columns = audit_mac_input_columns(connection.dialect.name)
        assert columns is not None
        rows = [tuple(row) for row in connection.exec_driver_sql(encoded_walk_sql(columns))]
        report = walk_log(found.config.secrets.audit_chain.value, rows, heads_of(connection), {},
                          lambda seq: fetched.append(seq))
    assert report.ok and report.checked == len(rows) >= 20 and fetched == []


@pytest.mark.parametrize("column", ["actor_role", "detail", "mac", "chain_seq"])
def test_text_that_is_not_utf8_is_named_as_an_edit_not_a_crash_in_one_walk_or_many(log, column, monkeypatch):
    """Bytes no encoder of ours writes, stored as text: the driver cannot read them as a string."""
    from casefeedback.audit import parallel
    from casefeedback.audit import verify as verify_module
    from casefeedback.audit.verify import verify_log

    monkeypatch.setattr(verify_module, "PARALLEL_FROM", 1)
    monkeypatch.setattr(verify_module, "workers", lambda: 2)
    monkeypatch.setattr(parallel, "SMALLEST_RANGE", 1)
    with write(log.engine) as connection:
        target = connection.exec_driver_sql("SELECT seq FROM audit_events WHERE chain > 0 ORDER BY seq DESC "
                                            "LIMIT 1 OFFSET 3").scalar()
        connection.exec_driver_sql(f"UPDATE audit_events SET {column} = CAST(x'61ff62' AS TEXT) "  # noqa: S608
                                   "WHERE seq = ?", (target,))
    secrets = log.config.secrets
    log.engine.dispose()  # the other processes must see the committed change
    with log.engine.connect() as connection:
        one = verify_log(connection, secrets.audit_chain.value, secrets.audit_signing.value)
        many = verify_log(connection, secrets.audit_chain.value, secrets.audit_signing.value,
                          database=(log.config.database_path, secrets.database.value))
    assert not one.ok and not many.ok
    assert (one.kind, one.first_bad_seq) == (many.kind, many.first_bad_seq)
    # A position that is not a number sorts after every number: its place reads as a deleted event.
    assert (one.kind, one.first_bad_seq) == (("deleted", None) if column == "chain_seq" else ("edited", target))


@SETTINGS
@given(index=st.integers(0, 6), column=st.sampled_from(COLUMNS), replacement=_stored_value())
def test_the_workers_minute_walk_gets_the_exact_walks_verdict(log, index, column, replacement):
    """The watch walks what is new chain by chain over SQLite's MAC input (``walk_chain_after``), with the
    exact check behind it: its verdict on a tampered log is the whole exact walk's."""
    key = log.config.secrets.audit_chain.value
    with tampering(log) as connection:
        rows = [tuple(row) for row in connection.exec_driver_sql(WALK_SQL)]
        target = [row for row in rows if row[0] != 0][-7:][index]
        try:
            connection.exec_driver_sql(f"UPDATE audit_events SET {column} = ? WHERE seq = ?",  # noqa: S608
                                       (replacement, target[2]))
        except IntegrityError:
            assume(False)
        exact = walk_log(key, [tuple(row) for row in connection.exec_driver_sql(WALK_SQL)], heads_of(connection), {})
        chains = sorted({row[0] for row in connection.exec_driver_sql("SELECT chain FROM audit_events")}, key=repr)
        breaks = [walk_chain_after(connection, KeyedMac(key), chain, None)[0] for chain in chains]
    broken = [b for b in breaks if b is not None]
    if exact.ok or exact.kind == "truncated":  # a head mismatch is for ``finish``, after the chains
        assert broken == [] or exact.kind == "truncated"
    else:
        # The watch walks every chain (in its own order); the exact walk stops at the first break it meets. (A
        # position moved to 0 or below is one the watch never asks for: to it, that event is simply missing.)
        assert exact.kind in [b.kind for b in broken]


def test_the_minute_walk_and_a_backups_check_take_the_fast_path(found, clock, monkeypatch):
    """Plain events are checked over the database's MAC input alone — none goes back for the exact check — in
    the worker's watch and when a backup's copy is verified, as in ``audit verify``."""
    from casefeedback.audit import walk
    from casefeedback.audit.watch import keep_watch
    from casefeedback.backup.restore import verify
    from tests.backup.test_backup_restore import take_backup

    with write(found.engine) as connection:
        found.audit.append_many(connection, [AuditEvent(action="field.open", outcome="allowed", actor_id="staff-1",
                                                        detail={"n": n}) for n in range(30)])
    looked_up: list[object] = []
    fast_walks: list[str] = []
    real = walk.exact_rows

    def counting(dbapi_connection):  # type: ignore[no-untyped-def]
        fast_walks.append("walk")  # only a walk over the database's MAC input asks for this
        fetch = real(dbapi_connection)
        return lambda seq: looked_up.append(seq) or fetch(seq)

    monkeypatch.setattr(walk, "exact_rows", counting)
    summary = keep_watch(found.config, found.engine, found.audit, timedelta(minutes=1), clock())
    assert not summary.startswith("ALARM"), summary
    watched = len(fast_walks)
    verified = verify(found.config, take_backup(found))
    assert watched >= 1 and len(fast_walks) > watched  # the watch's walk, then the backup's
    assert verified.events >= 30 and looked_up == []


def test_a_backup_whose_audit_log_was_edited_is_refused_naming_the_event(found, clock):
    """Someone with the database key edits an event inside a backup's copy and re-seals the manifest (here with
    the signing key, which such a person lacks, to reach this last check): the walk names the event."""
    from dataclasses import replace

    from casefeedback.audit.checkpoints import Signer
    from casefeedback.backup.archive import BackupError, read_manifest, sha256_of, signer_sign, write_manifest
    from casefeedback.backup.restore import verify
    from casefeedback.storage.dialect import raw_key_pragma_value
    from tests.backup.test_backup_restore import take_backup

    with write(found.engine) as connection:
        found.audit.append_many(connection, [AuditEvent(action="field.open", outcome="allowed", actor_id="staff-1")
                                             for _ in range(5)])
    directory = take_backup(found)
    copy = directory / "casefeedback.db"
    database = sqlcipher3.connect(str(copy))
    try:
        database.execute(f"PRAGMA key = \"{raw_key_pragma_value(found.config.secrets.database.value)}\"")
        target = database.execute("SELECT seq FROM audit_events WHERE chain > 0 ORDER BY seq LIMIT 1").fetchone()[0]
        database.execute("UPDATE audit_events SET outcome = 'denied' WHERE seq = ?", (target,))
        database.commit()
    finally:
        database.close()
    manifest = replace(read_manifest(directory), database_sha256=sha256_of(copy), database_size=copy.stat().st_size)
    (directory / "manifest.json").unlink()
    write_manifest(directory, signer_sign(Signer(found.config.secrets.audit_signing.value), manifest))
    with pytest.raises(BackupError, match=f"not intact: event {target} does not match its MAC"):
        verify(found.config, directory)
