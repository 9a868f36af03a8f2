"""On PostgreSQL several workers may deliver the outbox at once: a claim passes over rows another worker's
transaction holds (FOR UPDATE SKIP LOCKED), so none waits on another and no alert is emailed twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from casefeedback.alerts import delivery
from casefeedback.alerts.delivery import deliver_due
from casefeedback.config import Config
from casefeedback.storage import dialect
from casefeedback.storage.engine import write
from casefeedback.storage.tables import alert_notifications, alerts
from tests.alerts.conftest import email_of
from tests.alerts.support import Receiver, SMTPServer, all_alerts
from tests.casework.support import feedback
from tests.conftest import make_config
from tests.stores import fresh_postgres_database


@pytest.fixture
def config(tmp_path: Path, smtp: SMTPServer, receiver: Receiver) -> Iterator[Config]:
    with fresh_postgres_database() as url:
        yield make_config(tmp_path / "instance", database_url=url, smtp_host="127.0.0.1", smtp_port=smtp.port,
                          smtp_security="none", smtp_timeout=1.0, alert_webhook_url=receiver.url,
                          public_url="https://cf.example.org")


def test_a_claim_passes_over_rows_another_worker_holds(app, found, team, smtp):  # type: ignore[no-untyped-def]
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    held = threading.Event()
    release = threading.Event()

    def other_worker() -> None:  # claims every due row and holds them, as a worker mid-claim does
        with write(found.engine) as connection:
            rows = connection.execute(dialect.claiming(select(alert_notifications.c.id), alert_notifications)).all()
            assert rows
            held.set()
            release.wait(timeout=30)

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert held.wait(timeout=30)
        # Without SKIP LOCKED this would wait for the other transaction (and fail at the lock timeout).
        assert delivery._claim(found) == []
    finally:
        release.set()
        thread.join(timeout=30)
    assert deliver_due(found).sent == 2  # free again: the email and the webhook


def test_workers_delivering_at_once_send_each_alert_once(app, found, team, smtp):  # type: ignore[no-untyped-def]
    for _ in range(6):
        feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    raised = all_alerts(found)
    start = threading.Barrier(3)
    sent: list[int] = []

    def worker() -> None:
        start.wait(timeout=30)
        sent.append(deliver_due(found).sent)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    mails = smtp.mailbox.to(email_of(team.owner))
    assert sorted(m["Subject"].split()[-1] for m in mails) == sorted(a.reference for a in raised)  # each once
    assert sum(sent) == 2 * len(raised)
    with write(found.engine) as connection:
        statuses = set(connection.execute(select(alert_notifications.c.status)).scalars())
        assert statuses == {"sent"} and len(raised) == connection.execute(select(alerts.c.id)).all().__len__()
