"""Issue 13, item 3: on PostgreSQL an urgent alert goes out as its submission commits, not at the next poll.

The leader LISTENs (worker/wakeup.py); the transaction that queues a notification NOTIFYs, with no payload.
These tests run no polling job at all, so only the notification can have sent the email.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from casefeedback.alerts.delivery import deliver_due
from casefeedback.config import Config
from casefeedback.services import Services
from casefeedback.storage.dialect import OUTBOX_CHANNEL, wake_deliverers
from casefeedback.storage.engine import open_leader_engine, read, write
from casefeedback.worker.leader import LeaderLock, lead_or_stand_by
from casefeedback.worker.wakeup import OutboxWakeup
from tests.alerts.conftest import Team, alert_settings, email_of
from tests.alerts.support import Receiver, SMTPServer, all_alerts
from tests.casework.support import feedback
from tests.conftest import canary, make_config
from tests.helpers import waited
from tests.stores import fresh_postgres_database

WITHIN = 10.0  # seconds: generous for a busy machine; the benchmark measures the real latency


@pytest.fixture
def config(tmp_path: Path, smtp: SMTPServer, receiver: Receiver) -> Iterator[Config]:
    with fresh_postgres_database(at_head=True) as url:
        yield make_config(tmp_path / "instance", database_url=url, **alert_settings(smtp, receiver))


@pytest.fixture
def rounds(found: Services) -> Iterator[tuple[OutboxWakeup, list[float]]]:
    """A listener whose delivery rounds are counted (and really deliver)."""
    times: list[float] = []

    def deliver() -> None:
        times.append(time.monotonic())
        deliver_due(found)

    listener = OutboxWakeup(open_leader_engine(found.config.store), deliver)
    listener.start()
    assert listener.listening.wait(WITHIN)
    times.clear()  # the round it runs on connecting is not a wake-up
    yield listener, times
    listener.stop()


def test_a_commit_wakes_the_deliverer_and_a_rollback_does_not(found: Services, rounds) -> None:
    _listener, times = rounds
    with pytest.raises(RuntimeError), write(found.engine) as connection:
        wake_deliverers(connection)
        raise RuntimeError("rolled back")
    time.sleep(1.5)
    assert times == []
    with write(found.engine) as connection:
        wake_deliverers(connection)
    assert waited(lambda: len(times) == 1, WITHIN)


def test_the_notification_carries_nothing(found: Services) -> None:
    """A LISTENer (any role that may connect) learns only that something is queued: no id, no name, no content."""
    engine = open_leader_engine(found.config.store)
    try:
        with engine.connect() as connection:
            raw = connection.connection.driver_connection
            raw.execute(f"LISTEN {OUTBOX_CHANNEL}")
            with write(found.engine) as writing:
                wake_deliverers(writing)
            received = list(raw.notifies(timeout=WITHIN, stop_after=1))
    finally:
        engine.dispose()
    assert [(n.channel, n.payload) for n in received] == [(OUTBOX_CHANNEL, "")]


def test_an_urgent_answer_is_emailed_with_no_polling_job_running(app, found: Services, team: Team,
                                                                 smtp: SMTPServer) -> None:
    """The worker as it leads: the scheduler with no jobs, the listener beside it; the email still goes out."""
    stop = threading.Event()
    lock = LeaderLock(open_leader_engine(found.config.store))
    made: list[OutboxWakeup] = []

    def wakeup() -> OutboxWakeup:
        made.append(OutboxWakeup(open_leader_engine(found.config.store), lambda: deliver_due(found)))
        return made[-1]

    leader = threading.Thread(target=lead_or_stand_by, args=(found, [], lock, stop.is_set),
                              kwargs={"wakeup": wakeup, "check_every": 0.2}, daemon=True)
    leader.start()
    try:
        assert waited(lambda: bool(made) and made[0].listening.is_set(), WITHIN)
        secret = canary()
        feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no", "anything_else": secret})
        raised = all_alerts(found)
        assert len(raised) == 1
        assert waited(lambda: len(smtp.mailbox.to(email_of(team.owner))) == 1, WITHIN)
        assert secret.encode() not in smtp.mailbox.raw()
    finally:
        stop.set()
        leader.join(timeout=30)
        lock.close()
    assert not leader.is_alive()
    assert not made[0]._thread.is_alive()  # the listener stops with the leadership


def test_a_lost_listening_connection_comes_back(found: Services, rounds) -> None:
    """The server ends the listener's session (a failover, a restart): it reconnects and is woken again."""
    listener, times = rounds
    with read(found.engine) as connection:
        ended = connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%'")).scalars().all()
    assert ended == [True]
    assert waited(lambda: not listener.listening.is_set(), timeout=5.0)
    assert waited(listener.listening.is_set, WITHIN)
    times.clear()
    with write(found.engine) as connection:
        wake_deliverers(connection)
    assert waited(lambda: len(times) >= 1, WITHIN)


def test_a_round_that_fails_in_any_way_leaves_the_listener_awake(found: Services, caplog) -> None:
    """A delivery round that raises something other than a database error (a channel, a bug) is logged by its
    type and the listener keeps listening: the next commit still wakes it."""
    calls: list[float] = []

    def deliver() -> None:
        calls.append(time.monotonic())
        if len(calls) == 2:  # the first wake-up after connecting
            raise RuntimeError("CANARY-round-9c1 must not be logged")

    listener = OutboxWakeup(open_leader_engine(found.config.store), deliver)
    listener.start()
    try:
        assert listener.listening.wait(WITHIN)
        assert waited(lambda: len(calls) >= 1, WITHIN)  # the round on connecting
        for wanted in (2, 3):
            with write(found.engine) as connection:
                wake_deliverers(connection)
            assert waited(lambda wanted=wanted: len(calls) >= wanted, WITHIN)
        assert listener.listening.is_set()
        assert "delivery on wake-up failed (RuntimeError)" in caplog.text
        assert "CANARY" not in caplog.text
    finally:
        listener.stop()
