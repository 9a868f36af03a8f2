"""Walking the chain on several processes gives the same verdict as one walk, breaks at range edges included."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update

from casefeedback.audit import AuditEvent
from casefeedback.audit import parallel as parallel_module
from casefeedback.audit import verify as verify_module
from casefeedback.audit.actions import Action
from casefeedback.audit.checkpoints import Signer, write_checkpoint
from casefeedback.audit.verify import verify_log
from casefeedback.storage.engine import write
from casefeedback.storage.tables import audit_events
from tests.stores import sqlcipher_only

# The parallel walk opens the SQLCipher file in each process; on PostgreSQL the walk is one process.
pytestmark = sqlcipher_only

N = 400


@pytest.fixture
def long_log(found, monkeypatch):
    with write(found.engine) as connection:
        found.audit.append_many(connection, [AuditEvent(action=Action.FIELD_OPEN, outcome="allowed",
                                                        detail={"i": i}) for i in range(N)])
        write_checkpoint(connection, found.audit, Signer(found.config.secrets.audit_signing.value))
    monkeypatch.setattr(verify_module, "PARALLEL_FROM", 10)
    monkeypatch.setattr(verify_module, "workers", lambda: 2)
    monkeypatch.setattr(parallel_module, "SMALLEST_RANGE", 1)  # many ranges, so that breaks fall on their edges
    return found


def both(found):
    """(serial, parallel) reports on the same database."""
    secrets = found.config.secrets
    found.engine.dispose()  # the other processes must see every committed page in the file
    with found.engine.connect() as connection:
        serial = verify_log(connection, secrets.audit_chain.value, secrets.audit_signing.value)
        parallel = verify_log(connection, secrets.audit_chain.value, secrets.audit_signing.value,
                              database=(found.config.database_path, secrets.database.value))
    return serial, parallel


def test_an_intact_long_log_verifies_in_parallel(long_log):
    serial, parallel = both(long_log)
    assert serial.ok and parallel.ok and parallel.checked == serial.checked and parallel.last_mac == serial.last_mac


@pytest.mark.parametrize("how", ["edit-first-of-a-range", "edit-last", "delete-range-edge", "delete-last"])
def test_a_break_is_found_where_the_single_walk_finds_it(long_log, how):
    with write(long_log.engine) as connection:
        last = connection.execute(audit_events.select().order_by(audit_events.c.seq.desc()).limit(1)).one().seq
        ends = connection.execute(select(audit_events.c.chain, func.max(audit_events.c.chain_seq))
                                  .group_by(audit_events.c.chain)).all()
        size = parallel_module.range_size(sum(end for _chain, end in ends), 2)
        chain = max(ends, key=lambda span: span[1])[0]  # the long chain, walked in several ranges
        in_chain = audit_events.c.chain == chain
        if how == "edit-first-of-a-range":  # the first event of its second range
            connection.execute(update(audit_events).where(in_chain, audit_events.c.chain_seq == size + 1)
                               .values(outcome="denied"))
        elif how == "edit-last":
            connection.execute(update(audit_events).where(audit_events.c.seq == last).values(detail="{}"))
        elif how == "delete-range-edge":  # the last event of its first range
            connection.execute(delete(audit_events).where(in_chain, audit_events.c.chain_seq == size))
        else:
            connection.execute(delete(audit_events).where(audit_events.c.seq == last))
    serial, parallel = both(long_log)
    assert not serial.ok and not parallel.ok
    assert (parallel.kind, parallel.first_bad_seq) == (serial.kind, serial.first_bad_seq), (serial, parallel)


def test_both_walks_tell_their_progress_per_chunk_or_job_never_per_event(long_log):
    secrets = long_log.config.secrets
    long_log.engine.dispose()
    serial: list[tuple[int, int]] = []
    parallel: list[tuple[int, int]] = []
    # The parallel walk opens the SQLCipher file in each process; on PostgreSQL the command walks in one.
    database = None if long_log.config.store.is_postgres else (long_log.config.database_path, secrets.database.value)
    with long_log.engine.connect() as connection:
        one = verify_log(connection, secrets.audit_chain.value, secrets.audit_signing.value,
                         progress=lambda done, total: serial.append((done, total)))
        many = verify_log(connection, secrets.audit_chain.value, secrets.audit_signing.value, database=database,
                          progress=lambda done, total: parallel.append((done, total)))
        ends = connection.execute(select(audit_events.c.chain, func.max(audit_events.c.chain_seq))
                                  .group_by(audit_events.c.chain)).all()
    events = one.checked
    assert one.ok and many.ok and events >= N
    assert serial == [(0, events), (events, events)]  # fewer than PROGRESS_EVERY events: the start and the end
    if database is None:
        assert parallel == serial
        return
    size = parallel_module.range_size(sum(end for _chain, end in ends), 2)
    jobs = sum(-(-end // size) for _chain, end in ends)
    assert jobs > 2 and len(parallel) == jobs + 1  # the start, then one as each job ends
    assert parallel[0] == (0, events) and parallel[-1] == (events, events)
    assert [done for done, _ in parallel] == sorted(done for done, _ in parallel)
