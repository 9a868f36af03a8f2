"""A purge never stalls people sending feedback: it plans outside the write lock and writes in short,
paced transactions, and what is sent meanwhile is never touched."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import func, select

from casefeedback.retention import pacing
from casefeedback.retention.pacing import MOST_HOLD, Pacer
from casefeedback.retention.purge import purge
from casefeedback.storage.engine import read, write, writers_waiting
from casefeedback.storage.tables import answers, audit_events, data_keys
from tests.helpers import waited
from tests.retention.conftest import seed_submission
from tests.retention.sending import GIVEN, GIVEN_KEYS, Sender, send, stored
from tests.stores import sqlcipher_only

ALL = {"treated": "2", "listened": "yes", "safe_now": "no", "anything_else": "words", "safer": "more words"}


def test_sends_during_a_purge_are_all_kept_and_everything_due_goes(found, clock):
    long_ago = clock.now - timedelta(days=3 * 366)  # every class due
    due = [seed_submission(found, ALL, at=long_ago) for _ in range(150)]
    before = send(found, clock.now)
    sender = Sender(found, clock.now)
    sender.start()
    try:
        while not sender.acknowledged:
            time.sleep(0.01)
        began = time.monotonic()
        report = purge(found, clock.now)
        ended = time.monotonic()
    finally:
        sender.stop.set()
        sender.join()
    assert sender.error is None
    during = [sid for sid, at in sender.acknowledged if began <= at <= ended]
    assert during, "no send was acknowledged while the purge ran: the test proves nothing"
    # Every acknowledged send, before or during the purge, is whole and readable.
    sent = [before, *(sid for sid, _at in sender.acknowledged)]
    assert set(stored(found, sent).values()) == {(GIVEN_KEYS, len(GIVEN), len(GIVEN))}
    # Everything due is gone: keys and ciphertext.
    assert set(stored(found, due).values()) == {(0, 0, 0)}
    assert (report.submissions, report.data_keys, report.fields) == (150, 600, 750)
    assert report.ciphertext_removed == 750
    # In many short transactions, not one long one.
    assert report.lock["transactions"] > 10


def test_the_purge_audits_one_erasure_per_submission_however_it_is_batched(found, clock):
    long_ago = clock.now - timedelta(days=3 * 366)
    due = [seed_submission(found, ALL, at=long_ago) for _ in range(40)]
    purge(found, clock.now)
    with read(found.engine) as connection:
        erased = connection.execute(select(audit_events.c.object_id, audit_events.c.detail)
                                    .where(audit_events.c.action == "erasure")).all()
        left = connection.execute(select(func.count()).select_from(data_keys)).scalar_one()
        rows = connection.execute(select(func.count()).select_from(answers)).scalar_one()
    assert sorted(object_id for object_id, _ in erased) == sorted(due)
    assert all('"data_keys":4' in detail and '"fields":5' in detail for _, detail in erased)
    assert (left, rows) == (0, 0)


def test_the_purge_walks_submissions_in_the_order_they_were_stored(found, clock):
    """On SQLite, in the order stored (their rowid: neighbours on the pages each commit writes), whatever their
    random ids; on PostgreSQL, which has no such order, by id. The erasure events follow the walk."""
    long_ago = clock.now - timedelta(days=3 * 366)
    stored_order = [seed_submission(found, ALL, at=long_ago) for _ in range(30)]
    assert stored_order != sorted(stored_order)  # random ids: the two orders differ
    purge(found, clock.now)
    with read(found.engine) as connection:
        erased = list(connection.execute(select(audit_events.c.object_id).where(audit_events.c.action == "erasure")
                                         .order_by(audit_events.c.seq)).scalars())
    expected = stored_order if found.engine.dialect.name == "sqlite" else sorted(stored_order)
    assert erased == expected


def test_the_pacer_sizes_transactions_to_the_time_they_hold_the_lock():
    """A transaction costs 1 ms plus 40 µs an item, and now and then the machine stalls it for 20 ms."""
    pacer = Pacer(size=400)
    sizes = []
    for number in range(300):
        held = 0.001 + 0.00004 * pacer.size + (0.02 if number % 25 == 24 else 0.0)
        pacer.held.append(held)
        pacer._learn(held, pacer.size)
        sizes.append(pacer.size)
    assert sizes[0] == 200  # far over the limit: halved at once
    typical = sorted(sizes[-100:])[50]
    assert 0.8 * pacer.aim <= 0.001 + 0.00004 * typical <= MOST_HOLD  # settles near the aim, under the limit
    assert min(sizes[-100:]) >= typical // 3  # a stall now and then does not collapse it
    pacer.held = [0.001] * 99 + [0.004]
    assert pacer.summary() == {"transactions": 100, "p50_ms": 1.0, "p99_ms": 3.97, "max_ms": 4.0, "within_limit": 1.0}


@sqlcipher_only  # PostgreSQL has no writer lock to wait for: the pacer pauses a little instead
def test_the_pacer_lets_a_waiting_writer_in_before_its_next_transaction(found, monkeypatch):
    """A sender that waits while the job holds the lock goes next; with nobody waiting the job never pauses."""
    monkeypatch.setattr(pacing, "LET_IN_AT_MOST", 30.0)  # a busy machine must not make it give up early
    pacer = Pacer()
    order: list[str] = []
    go = threading.Event()

    def sender() -> None:
        go.wait()
        with write(found.engine):
            order.append("sender")

    thread = threading.Thread(target=sender)
    thread.start()
    with pacer.transaction(found.engine, 1):
        go.set()
        assert waited(lambda: bool(writers_waiting(found.engine)), timeout=30, every=0.01)
        order.append("job 1")
    with pacer.transaction(found.engine, 1):
        order.append("job 2")
    thread.join(timeout=30)
    assert order == ["job 1", "sender", "job 2"]
    assert pacer.stepped_aside >= 1
    stepped = pacer.stepped_aside
    for _ in range(5):  # nobody waiting: straight on
        with pacer.transaction(found.engine, 1):
            pass
    assert pacer.stepped_aside == stepped
