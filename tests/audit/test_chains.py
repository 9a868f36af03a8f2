"""Invariants 3 and 8 across writer chains: a log written by several writers, each to its own chain, finds
every edit, deletion, insertion and reordering as one chain did — and a whole chain deleted, events spliced
from one chain into another, a chain restarted or its positions reused, and events reordered across chains.
Each example tampers inside a transaction that is then rolled back."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.checkpoints import Signer, write_checkpoint
from casefeedback.audit.verify import verify_log
from casefeedback.audit.walk import WALK_SQL, genesis, walk_log
from casefeedback.audit.watch import sign_and_witness
from casefeedback.audit.witness import Witness
from casefeedback.storage.engine import write
from casefeedback.storage.tables import audit_chains, audit_checkpoints, audit_events
from tests.audit.tampering import tampering
from tests.stores import sqlcipher_only, storable_text

WRITERS = 4  # chains 1–4 written, 5–8 made but empty
ROUNDS = 12
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def writer(found, number: int) -> AuditLog:
    return AuditLog(found.config.secrets.audit_chain.value, found.clock, writer=number)


@pytest.fixture
def chains(found):
    """Four writers taking turns (one transaction each, one to three events), signed and witnessed twice."""
    for turn in range(ROUNDS):
        for number in range(WRITERS):
            with write(found.engine) as connection:
                writer(found, number).append_many(connection, [AuditEvent(
                    action="field.open", outcome="allowed", actor_id=f"w{number}", detail={"turn": turn, "i": i})
                    for i in range(1 + (turn + number) % 3)])
        if turn in (5, ROUNDS - 1):
            sign_and_witness(found.engine, found.audit, Signer(found.config.secrets.audit_signing.value),
                             Witness(found.config.witness_path))
    return found


def check(found, connection, *, witness: bool = False):
    secrets = found.config.secrets
    return verify_log(connection, secrets.audit_chain.value, secrets.audit_signing.value,
                      witness=Witness(found.config.witness_path) if witness else None)


def event(connection, seq: int):
    return connection.execute(select(audit_events).where(audit_events.c.seq == seq)).one()


def last_seq(connection) -> int:
    return int(connection.execute(select(func.max(audit_events.c.seq))).scalar_one())


def head(connection, chain: int) -> tuple[int, str]:
    row = connection.execute(select(audit_chains.c.seq, audit_chains.c.mac).where(audit_chains.c.chain == chain)).one()
    return row.seq, row.mac


def test_each_writer_appends_to_its_own_chain_and_the_checkpoint_signs_every_head(chains):
    with tampering(chains) as connection:
        report = check(chains, connection, witness=True)
        used = dict(connection.execute(select(audit_events.c.chain, func.count()).group_by(audit_events.c.chain)).all())
        stored = connection.execute(select(audit_checkpoints.c.heads).order_by(audit_checkpoints.c.seq.desc())).first()
    assert report.ok and report.checked == sum(used.values()), report.problem
    assert {1, 2, 3, 4} <= set(used) and len(used) <= 5  # start-up's events went to this process's own chain
    newest = Witness(chains.config.witness_path).newest()
    assert newest is not None and stored is not None
    heads = newest.chain_heads()
    assert set(heads) == set(range(1, 9)) and all(heads[c][0] == used.get(c, 0) for c in range(1, 9))


@SETTINGS
@given(pick=st.floats(0, 1, exclude_max=True), column=st.sampled_from(
    ("at", "actor_id", "action", "object_id", "outcome", "detail", "mac")), data=st.data())
def test_any_edit_in_any_chain_is_found_at_the_edited_event(chains, pick, column, data):
    with tampering(chains) as connection:
        seq = 1 + int(pick * last_seq(connection))
        old = event(connection, seq)
        new = data.draw(storable_text(connection.dialect.name, min_size=1, max_size=12).filter(
            lambda v: v != getattr(old, column)))
        connection.execute(update(audit_events).where(audit_events.c.seq == seq).values(**{column: new}))
        report = check(chains, connection)
    assert not report.ok and report.first_bad_seq == seq and (report.chain, report.position) == (old.chain,
                                                                                                  old.chain_seq)


@SETTINGS
@given(pick=st.floats(0, 1, exclude_max=True))
def test_any_deletion_in_any_chain_is_found_where_its_gap_is(chains, pick):
    with tampering(chains) as connection:
        seq = 1 + int(pick * last_seq(connection))
        gone = event(connection, seq)
        if gone.chain_seq == head(connection, gone.chain)[0]:
            return  # the newest of its chain: a truncation, tested below
        connection.execute(delete(audit_events).where(audit_events.c.seq == seq))
        report = check(chains, connection)
    assert not report.ok and report.kind == "deleted" and (report.chain, report.position) == (gone.chain,
                                                                                              gone.chain_seq)
    assert f"chain {gone.chain}: its event {gone.chain_seq} is missing" in str(report.problem)


@SETTINGS
@given(pick=st.floats(0, 1, exclude_max=True), into=st.integers(1, 8), move=st.booleans())
def test_an_event_spliced_from_one_chain_into_another_is_found(chains, pick, into, move):
    """Copied (or moved) onto the end of another chain, its head moved to match: the MAC binds the chain."""
    with tampering(chains) as connection:
        seq = 1 + int(pick * last_seq(connection))
        spliced = event(connection, seq)
        if spliced.chain == into:
            return
        position = head(connection, into)[0] + 1
        if move:
            connection.execute(update(audit_events).where(audit_events.c.seq == seq).values(
                chain=into, chain_seq=position))
            new_seq = seq
        else:
            new_seq = last_seq(connection) + 1
            connection.execute(insert(audit_events).values(
                dict(spliced._mapping, seq=new_seq, chain=into, chain_seq=position)))
        connection.execute(update(audit_chains).where(audit_chains.c.chain == into).values(
            seq=position, mac=spliced.mac))
        report = check(chains, connection)
    assert not report.ok
    if not move:
        assert (report.kind, report.chain, report.first_bad_seq) == ("edited", into, new_seq)


@SETTINGS
@given(picks=st.tuples(st.floats(0, 1, exclude_max=True), st.floats(0, 1, exclude_max=True)),
       renumber_only=st.booleans())
def test_events_reordered_across_chains_are_found(chains, picks, renumber_only):
    """Two events of different chains swap their numbers in the log — or all of their places, so that every
    chain still runs 1, 2, 3… and the log 1, 2, 3…"""
    with tampering(chains) as connection:
        last = last_seq(connection)
        a, b = sorted(1 + int(p * last) for p in picks)
        first, second = event(connection, a), event(connection, b)
        if first.chain == second.chain:
            return
        connection.execute(update(audit_events).where(audit_events.c.seq == a).values(seq=-1, chain_seq=-1))
        moved = {} if renumber_only else {"chain": first.chain, "chain_seq": first.chain_seq}
        connection.execute(update(audit_events).where(audit_events.c.seq == b).values(seq=a, **moved))
        back = ({"chain_seq": first.chain_seq} if renumber_only
                else {"chain": second.chain, "chain_seq": second.chain_seq})
        connection.execute(update(audit_events).where(audit_events.c.seq == -1).values(seq=b, **back))
        report = check(chains, connection)
    assert not report.ok and report.kind == "edited" and report.first_bad_seq in (a, b)


@SETTINGS
@given(chain=st.integers(1, 8), drop_checkpoints=st.booleans(), witness=st.booleans())
def test_a_whole_writer_chain_deleted_is_found(chains, chain, drop_checkpoints, witness):
    """Its events and its head row go; the attacker may also delete every stored checkpoint."""
    with tampering(chains) as connection:
        connection.execute(delete(audit_events).where(audit_events.c.chain == chain))
        connection.execute(delete(audit_chains).where(audit_chains.c.chain == chain))
        if drop_checkpoints:
            connection.execute(delete(audit_checkpoints))
        report = check(chains, connection, witness=witness)
    if chain == 8 and drop_checkpoints and not witness:
        # The highest chain, with every checkpoint gone and no witness: nothing inside the database can tell,
        # as for any cut after the newest checkpoint (SECURITY.md). The witness (or an exported checkpoint) can.
        assert report.ok
        return
    assert not report.ok, (chain, drop_checkpoints, witness)
    if witness:
        assert report.kind == "rollback" and f"chain {chain} is gone" in str(report.problem)
    else:
        assert report.kind == "truncated" and f"chain {chain} is gone" in str(report.problem)


def test_the_highest_chain_deleted_before_any_checkpoint_is_the_one_gap_left(found):
    """Chains are made together, so one missing below the highest is found with no checkpoint at all; the
    highest (8) alone needs a checkpoint or the witness, like any cut after the newest one."""
    with write(found.engine) as connection:
        writer(found, 2).append(connection, AuditEvent(action="x", outcome="ok"))
    for chain in range(1, 8):
        with tampering(found) as connection:
            connection.execute(delete(audit_events).where(audit_events.c.chain == chain))
            connection.execute(delete(audit_chains).where(audit_chains.c.chain == chain))
            assert f"chain {chain} is gone" in str(check(found, connection).problem)
    with tampering(found) as connection:
        connection.execute(delete(audit_events).where(audit_events.c.chain == 8))
        connection.execute(delete(audit_chains).where(audit_chains.c.chain == 8))
        assert check(found, connection).ok


@SETTINGS
@given(chain=st.integers(1, WRITERS), keep=st.integers(0, 10), witness=st.booleans())
def test_a_chain_cut_behind_its_checkpoint_with_its_head_moved_back_is_found(chains, chain, keep, witness):
    with tampering(chains) as connection:
        stored = connection.execute(select(audit_checkpoints.c.heads).order_by(audit_checkpoints.c.seq)).first()
        assert stored is not None
        end = head(connection, chain)[0]
        keep = min(keep, end - 1)
        mac = connection.execute(select(audit_events.c.mac).where(
            audit_events.c.chain == chain, audit_events.c.chain_seq == keep)).scalar()
        connection.execute(delete(audit_events).where(audit_events.c.chain == chain,
                                                      audit_events.c.chain_seq > keep))
        connection.execute(update(audit_chains).where(audit_chains.c.chain == chain).values(
            seq=keep, mac=mac or genesis(chain)))
        connection.execute(delete(audit_checkpoints).where(audit_checkpoints.c.seq > 0) if witness else
                           delete(audit_checkpoints).where(audit_checkpoints.c.seq < 0))
        report = check(chains, connection, witness=witness)
    assert not report.ok
    if witness:
        assert (report.kind == "rollback" and f"chain {chain} ends at its event {keep}" in str(report.problem)) or (
            keep == 0 and f"chain {chain} is gone" in str(report.problem))
    else:
        assert report.kind == "truncated" and report.chain == chain


@SETTINGS
@given(chain=st.integers(1, WRITERS), witness=st.booleans())
def test_a_chain_restarted_from_one_by_someone_with_the_chain_key_contradicts_its_checkpoint(chains, chain, witness):
    """The writer id reused: the chain emptied and written again from its genesis, with the real key."""
    with tampering(chains) as connection:
        count = head(connection, chain)[0]
        connection.execute(delete(audit_events).where(audit_events.c.chain == chain))
        connection.execute(update(audit_chains).where(audit_chains.c.chain == chain).values(
            seq=0, mac=genesis(chain)))
        if witness:
            connection.execute(delete(audit_checkpoints))
        writer(chains, chain - 1).append_many(connection, [AuditEvent(action="field.open", outcome="allowed",
                                                                      actor_id="someone-else")] * (count + 2))
        report = check(chains, connection, witness=witness)
    assert not report.ok and report.chain in (chain, None)
    assert report.kind == ("rewritten" if witness else "checkpoint"), report


def test_a_second_event_at_a_chain_position_is_refused_by_the_database(chains):
    with tampering(chains) as connection, pytest.raises(IntegrityError):
        taken = event(connection, 3)
        connection.execute(insert(audit_events).values(dict(taken._mapping, seq=last_seq(connection) + 1)))


@pytest.mark.parametrize("how", ["duplicate", "second-genesis", "backwards"])
def test_reused_positions_are_found_by_the_walk_itself(chains, how):
    """Were the constraint gone (a rebuilt table): a position twice, a chain starting again at 1, or going back."""
    with tampering(chains) as connection:
        rows = [tuple(r) for r in connection.exec_driver_sql(WALK_SQL)]
    key = chains.config.secrets.audit_chain.value
    chain = rows[0][0]
    own = [r for r in rows if r[0] == chain]
    if how == "duplicate":
        tampered = [*own[:3], own[2], *own[3:]]
    elif how == "second-genesis":
        tampered = [*own[:4], own[0], *own[4:]]
    else:
        tampered = [*own[:4], own[1], *own[4:]]
    report = walk_log(key, tampered, None, {})
    assert not report.ok and report.kind == "deleted" and "out of order or duplicated" in str(report.problem)
    assert (report.chain, report.position) == (chain, 4 if how == "duplicate" else 5)


@sqlcipher_only  # the parallel walk opens the SQLCipher file in each process
def test_the_parallel_walk_agrees_over_many_chains(chains, monkeypatch):
    from casefeedback.audit import verify as verify_module

    monkeypatch.setattr(verify_module, "PARALLEL_FROM", 10)
    monkeypatch.setattr(verify_module, "workers", lambda: 2)
    secrets = chains.config.secrets
    chains.engine.dispose()
    with chains.engine.connect() as connection:
        serial = verify_log(connection, secrets.audit_chain.value, secrets.audit_signing.value)
        parallel = verify_log(connection, secrets.audit_chain.value, secrets.audit_signing.value,
                              database=(chains.config.database_path, secrets.database.value))
    assert serial.ok and parallel.ok and (serial.checked, serial.last_mac) == (parallel.checked, parallel.last_mac)


def test_a_checkpoint_written_in_a_transaction_signs_every_chain_as_it_stands(chains):
    with write(chains.engine) as connection:
        writer(chains, 0).append(connection, AuditEvent(action="x", outcome="ok"))
        checkpoint = write_checkpoint(connection, chains.audit, Signer(chains.config.secrets.audit_signing.value))
        heads = {row.chain: (row.seq, row.mac) for row in connection.execute(select(audit_chains))}
    assert checkpoint is not None and checkpoint.chain_heads() == heads and checkpoint.signature_ok()
