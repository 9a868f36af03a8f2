"""Invariant 3 (first cut): the chains detect any edit, deletion, insertion, reordering or truncation."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, event, insert, select, update

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.cli import main
from casefeedback.policy import load_policies
from casefeedback.services import build_services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_chains, audit_events

N = 12


@pytest.fixture
def chained(found):
    with write(found.engine) as connection:
        for i in range(N):
            found.audit.append(connection, AuditEvent(action="test.event", outcome="ok", actor_id=f"a{i}",
                                                      detail={"n": i, "typed": 'x","outcome":"forged'}))
    return found


def verify(found, key: bytes | None = None):
    with read(found.engine) as connection:
        return AuditLog(key or found.config.secrets.audit_chain.value, found.clock).verify(connection)


def place(found, seq: int) -> tuple[int, int]:
    """(chain, position) of the event numbered ``seq``."""
    with read(found.engine) as connection:
        row = connection.execute(select(audit_events.c.chain, audit_events.c.chain_seq)
                                 .where(audit_events.c.seq == seq)).one()
    return row.chain, row.chain_seq


def total(found) -> int:
    with read(found.engine) as connection:
        return len(connection.execute(select(audit_events.c.seq)).all())


def test_intact_chain_verifies(chained):
    report = verify(chained)
    assert report.ok and report.checked == total(chained)


@pytest.mark.parametrize("column, value", [("actor_id", "someone-else"), ("outcome", "denied"),
                                           ("at", "2020-01-01T00:00:00.000000Z"), ("detail", "{}"),
                                           ("mac", "0" * 64)])
def test_edit_is_detected_at_the_edited_event(chained, column, value):
    with write(chained.engine) as connection:
        connection.execute(update(audit_events).where(audit_events.c.seq == 7).values(**{column: value}))
    report = verify(chained)
    assert not report.ok and report.first_bad_seq == 7


def test_deletion_is_detected(chained):
    chain, position = place(chained, 5)
    with write(chained.engine) as connection:
        connection.execute(delete(audit_events).where(audit_events.c.seq == 5))
    report = verify(chained)
    assert not report.ok and (report.chain, report.position) == (chain, position) and "missing" in report.problem
    assert f"chain {chain}: its event {position} is missing" in report.problem


def test_insertion_is_detected(chained):
    with write(chained.engine) as connection:
        rows = connection.execute(select(audit_events).order_by(audit_events.c.seq.desc())).all()
        at = next(r for r in rows if r.seq == 4)
        for row in rows:  # make room in the log and in the chain
            if row.seq >= 4:
                connection.execute(update(audit_events).where(audit_events.c.seq == row.seq).values(
                    seq=row.seq + 1, chain_seq=row.chain_seq + (row.chain == at.chain)))
        forged = dict(rows[-1]._mapping, seq=4, chain=at.chain, chain_seq=at.chain_seq, action="forged.event")
        connection.execute(insert(audit_events).values(**forged))
    report = verify(chained)
    assert not report.ok and report.first_bad_seq == 4


def test_reordering_is_detected(chained):
    """Both numbers swapped (the log's and the chain's), so the order looks whole."""
    (_, third), (_, fourth) = place(chained, 3), place(chained, 4)
    with write(chained.engine) as connection:
        connection.execute(update(audit_events).where(audit_events.c.seq == 3).values(seq=-1, chain_seq=-1))
        connection.execute(update(audit_events).where(audit_events.c.seq == 4).values(seq=3, chain_seq=third))
        connection.execute(update(audit_events).where(audit_events.c.seq == -1).values(seq=4, chain_seq=fourth))
    report = verify(chained)
    assert not report.ok and report.first_bad_seq == 3


def test_renumbering_alone_is_detected(chained):
    """Only the log's numbers swapped: each MAC covers its number."""
    with write(chained.engine) as connection:
        connection.execute(update(audit_events).where(audit_events.c.seq == 3).values(seq=-1))
        connection.execute(update(audit_events).where(audit_events.c.seq == 4).values(seq=3))
        connection.execute(update(audit_events).where(audit_events.c.seq == -1).values(seq=4))
    report = verify(chained)
    assert not report.ok and report.kind == "edited" and report.first_bad_seq in (3, 4)


def test_truncation_is_detected_against_the_head(chained):
    last = total(chained)
    with write(chained.engine) as connection:
        connection.execute(delete(audit_events).where(audit_events.c.seq > last - 2))
    report = verify(chained)
    assert not report.ok and "removed from the end" in report.problem


def test_wrong_key_fails_at_the_first_event(chained):
    report = verify(chained, os.urandom(32))
    assert not report.ok and report.first_bad_seq == 1 and report.position == 1


def test_user_typed_values_cannot_forge_fields(chained):
    with read(chained.engine) as connection:
        row = connection.execute(select(audit_events).where(audit_events.c.actor_id == "a0")).one()
    assert row.outcome == "ok"
    assert row.detail == '{"n":0,"typed":"x\\",\\"outcome\\":\\"forged"}'


def test_cli_verify_exits_non_zero_naming_the_first_broken_event(chained, monkeypatch):
    instance = chained.config.instance_dir
    monkeypatch.setenv("CASEFEEDBACK_INSTANCE", str(instance))
    monkeypatch.setenv("CASEFEEDBACK_POLICIES", str(chained.config.policies_dir))
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert f"audit log intact: {total(chained)} events verified" in ok.output
    with write(chained.engine) as connection:
        connection.execute(update(audit_events).where(audit_events.c.seq == 9).values(outcome="edited"))
    broken = runner.invoke(main, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "event 9 does not match its MAC" in broken.output


def test_one_process_appends_to_one_of_a_bounded_set_of_chains(chained):
    with read(chained.engine) as connection:
        chains = connection.execute(
            select(audit_chains.c.chain, audit_chains.c.seq).order_by(audit_chains.c.chain)).all()
        used = set(connection.execute(select(audit_events.c.chain).distinct()).scalars())
    assert [c for c, _ in chains] == list(range(1, 9))  # made by migration 0014; a new database has no chain 0
    assert len(used) == 1 and {c for c, n in chains if n} == used


# ---------------------------------------------------------------- appending several events in one transaction


class HeadReads:
    """Counts the statements that read an audit chain's head."""

    def __init__(self, engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, *_rest) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "audit_chains" in statement:
            self.count += 1


def test_appends_in_one_transaction_read_the_head_once_and_chain_as_one_by_one(found):
    reads = HeadReads(found.engine)
    with write(found.engine) as connection:
        seqs = [found.audit.append(connection, AuditEvent(action="test.event", outcome="ok", detail={"n": i}))
                for i in range(5)]
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    assert reads.count == 1
    report = verify(found)
    assert report.ok and report.checked == seqs[-1]


def test_a_rolled_back_transaction_leaves_nothing_the_next_append_trusts(found):
    with write(found.engine) as connection:
        kept = found.audit.append(connection, AuditEvent(action="test.kept", outcome="ok"))
    with pytest.raises(RuntimeError), write(found.engine) as connection:
        found.audit.append(connection, AuditEvent(action="test.lost", outcome="ok"))
        found.audit.append(connection, AuditEvent(action="test.lost", outcome="ok"))
        raise RuntimeError("the action failed")
    # The pool hands back the same connection; the cached head of the failed transaction must not be used.
    for _ in range(3):
        with write(found.engine) as connection:
            found.audit.append(connection, AuditEvent(action="test.after", outcome="ok"))
    report = verify(found)
    assert report.ok and report.checked == kept + 3, report.problem


def test_a_head_moved_by_another_writer_between_transactions_is_read_afresh(found, config, clock):
    other = AuditLog(config.secrets.audit_chain.value, clock)
    with write(found.engine) as connection:
        first = found.audit.append(connection, AuditEvent(action="test.first", outcome="ok"))
    second = build_services(config, load_policies(config.policies_dir), clock)
    try:
        with write(second.engine) as connection:
            other.append(connection, AuditEvent(action="test.elsewhere", outcome="ok"))
    finally:
        second.engine.dispose()
    with write(found.engine) as connection:
        assert found.audit.append(connection, AuditEvent(action="test.third", outcome="ok")) == first + 2
    assert verify(found).ok
