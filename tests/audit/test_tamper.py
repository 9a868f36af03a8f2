"""Invariant 3, tried many times over: any edit, deletion, insertion, reordering or truncation is found,
and verification names where. Each example tampers inside a transaction that is then rolled back."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, update

from casefeedback.audit import AuditEvent
from casefeedback.audit.checkpoints import Signer, write_checkpoint
from casefeedback.audit.verify import verify_log
from casefeedback.audit.walk import genesis
from casefeedback.storage.engine import write
from casefeedback.storage.tables import audit_chains, audit_checkpoints, audit_events
from tests.audit.tampering import tampering
from tests.stores import storable_text

N = 40
CHECKPOINTS = (12, 25)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
EDITABLE = ("at", "actor_id", "actor_role", "action", "object_type", "object_id", "field_class", "purpose",
            "outcome", "detail", "mac")


@pytest.fixture
def log(found):
    signer = Signer(found.config.secrets.audit_signing.value)
    seq = 0
    while seq < N:  # (start-up has already logged an event or two)
        with write(found.engine) as connection:
            seq = found.audit.append(connection, AuditEvent(
                action="field.open", outcome="allowed", actor_id=f"staff-{seq}", object_type="answer",
                object_id=f"a{seq}", purpose="casework", detail={"i": seq}))
            if seq in CHECKPOINTS:
                write_checkpoint(connection, found.audit, signer)
    return found


def chain_of(connection) -> int:
    """The one chain this process wrote the fixture's events to."""
    (chain,) = connection.execute(select(audit_events.c.chain).distinct()).scalars().all()
    return chain


def move_head(connection, position: int, mac: str | None) -> None:
    move_head_of(connection, chain_of(connection), position, mac)


def move_head_of(connection, chain: int, position: int, mac: str | None) -> None:
    connection.execute(update(audit_chains).where(audit_chains.c.chain == chain).values(
        seq=position, mac=mac or genesis(chain)))


def check(found, connection, key=None):
    secrets = found.config.secrets
    return verify_log(connection, key or secrets.audit_chain.value, secrets.audit_signing.value)


def test_the_untouched_log_verifies(log):
    with tampering(log) as connection:
        report = check(log, connection)
    assert report.ok and report.checked == N


@SETTINGS
@given(seq=st.integers(1, N), column=st.sampled_from(EDITABLE), data=st.data())
def test_any_edit_is_found_at_the_edited_event(log, seq, column, data):
    with tampering(log) as connection:
        old = connection.execute(select(audit_events.c[column]).where(audit_events.c.seq == seq)).scalar_one()
        new = data.draw(storable_text(connection.dialect.name, min_size=1, max_size=20).filter(lambda v: v != old))
        connection.execute(update(audit_events).where(audit_events.c.seq == seq).values(**{column: new}))
        report = check(log, connection)
    assert not report.ok and report.first_bad_seq == seq and f"event {seq}" in report.problem


@SETTINGS
@given(seq=st.integers(1, N - 1))
def test_any_deletion_is_found_where_the_gap_is(log, seq):
    with tampering(log) as connection:
        position = connection.execute(select(audit_events.c.chain_seq).where(audit_events.c.seq == seq)).scalar()
        connection.execute(delete(audit_events).where(audit_events.c.seq == seq))
        report = check(log, connection)
    assert not report.ok and report.position == position and "missing" in report.problem


@SETTINGS
@given(at=st.integers(1, N), template=st.integers(1, N))
def test_any_insertion_is_found_at_the_inserted_event(log, at, template):
    with tampering(log) as connection:
        rows = connection.execute(select(audit_events).order_by(audit_events.c.seq.desc())).all()
        place = next(r for r in rows if r.seq == at)
        for row in rows:  # make room: everything from `at` moves up one, in the log and in its chain
            if row.seq >= at:
                connection.execute(update(audit_events).where(audit_events.c.seq == row.seq).values(
                    seq=row.seq + 1, chain_seq=row.chain_seq + 1))
        forged = dict(next(r for r in rows if r.seq == template)._mapping, seq=at, chain_seq=place.chain_seq,
                      action="forged.event")
        connection.execute(insert(audit_events).values(**forged))
        connection.execute(update(audit_chains).where(audit_chains.c.chain == place.chain).values(
            seq=audit_chains.c.seq + 1))
        report = check(log, connection)
    assert not report.ok and report.first_bad_seq == at


@SETTINGS
@given(pair=st.lists(st.integers(1, N), min_size=2, max_size=2, unique=True))
def test_any_reordering_is_found_at_the_first_moved_event(log, pair):
    a, b = sorted(pair)
    with tampering(log) as connection:
        position = dict(connection.execute(select(audit_events.c.seq, audit_events.c.chain_seq)).all())
        connection.execute(update(audit_events).where(audit_events.c.seq == a).values(seq=-1, chain_seq=-1))
        connection.execute(update(audit_events).where(audit_events.c.seq == b).values(seq=a, chain_seq=position[a]))
        connection.execute(update(audit_events).where(audit_events.c.seq == -1).values(seq=b, chain_seq=position[b]))
        report = check(log, connection)
    assert not report.ok and report.first_bad_seq == a


@SETTINGS
@given(keep=st.integers(0, N - 1), fix_head=st.booleans())
def test_any_truncation_is_found(log, keep, fix_head):
    """Cut the newest events; a careful attacker also moves the head to the new end (its MAC is stored)."""
    with tampering(log) as connection:
        last = connection.execute(select(audit_events.c.mac).where(audit_events.c.seq == keep)).scalar()
        chain = chain_of(connection)
        connection.execute(delete(audit_events).where(audit_events.c.seq > keep))
        if fix_head:
            move_head_of(connection, chain, keep, last)
        report = check(log, connection)
    if fix_head and keep >= max(CHECKPOINTS):
        # After the newest checkpoint, only the next checkpoint (a minute) can prove what was there.
        assert report.ok
    else:
        assert not report.ok and report.kind == "truncated" and (report.chain, report.position) == (chain, keep + 1)


def test_truncation_behind_every_stored_check_is_caught_by_a_checkpoint_kept_elsewhere(log):
    from casefeedback.audit.checkpoints import latest_checkpoint

    with tampering(log) as connection:
        kept_elsewhere = latest_checkpoint(connection)
        # The attacker holds the database: deletes the tail, the checkpoints, and fixes the head.
        mac = connection.execute(select(audit_events.c.mac).where(audit_events.c.seq == 5)).scalar_one()
        move_head(connection, 5, mac)
        connection.execute(delete(audit_events).where(audit_events.c.seq > 5))
        connection.execute(delete(audit_checkpoints))
        assert check(log, connection).ok  # nothing inside the database can tell...
        secrets = log.config.secrets
        report = verify_log(connection, secrets.audit_chain.value, secrets.audit_signing.value, kept_elsewhere)
    assert not report.ok and report.kind == "truncated" and "covers its event 25" in report.problem


def test_a_rewritten_history_contradicts_the_checkpoint_kept_elsewhere(log):
    """Even with the chain key, rewriting the log cannot match a checkpoint already exported."""
    from casefeedback.audit.checkpoints import latest_checkpoint
    from casefeedback.audit.log import AuditLog

    with tampering(log) as connection:
        kept_elsewhere = latest_checkpoint(connection)
        move_head(connection, 0, None)  # back to the chain's genesis, as if never written
        connection.execute(delete(audit_events))
        connection.execute(delete(audit_checkpoints))
        rewriter = AuditLog(log.config.secrets.audit_chain.value, log.clock)
        for _ in range(N):
            rewriter.append(connection, AuditEvent(action="field.open", outcome="allowed", actor_id="someone-else"))
        secrets = log.config.secrets
        report = verify_log(connection, secrets.audit_chain.value, secrets.audit_signing.value, kept_elsewhere)
    # The 25th event of its chain (PostgreSQL's sequence does not go back after the delete, so its number in
    # the whole log is higher there; SQLite numbers it 25 again).
    assert not report.ok and report.position == 25 and "rewritten" in report.problem


def test_an_altered_or_missing_checkpoint_is_found(log):
    with tampering(log) as connection:
        connection.execute(update(audit_checkpoints).where(audit_checkpoints.c.seq == 12).values(at="2020-01-01"))
        report = check(log, connection)
    assert not report.ok and report.kind == "checkpoint" and "event 12" in report.problem
    with tampering(log) as connection:
        connection.execute(delete(audit_checkpoints).where(audit_checkpoints.c.seq == 12))
        report = check(log, connection)
    assert not report.ok and report.kind == "checkpoint" and "missing or different" in report.problem


def test_a_wrong_chain_key_is_told_apart_from_tampering(log):
    with tampering(log) as connection:
        report = check(log, connection, key=os.urandom(32))
    assert not report.ok and report.kind == "wrong_key" and "does not fit" in report.problem


def test_a_wrong_chain_key_is_recognised_before_the_first_checkpoint(found):
    with write(found.engine) as connection:
        for _ in range(3):
            found.audit.append(connection, AuditEvent(action="x", outcome="ok"))
    with tampering(found) as connection:
        assert check(found, connection, key=os.urandom(32)).kind == "wrong_key"
        connection.execute(update(audit_events).where(audit_events.c.seq == 1).values(outcome="edited"))
        edited = check(found, connection)
    assert edited.kind == "edited" and edited.first_bad_seq == 1
