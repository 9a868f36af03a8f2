"""Insight is current: a consenting person's sent feedback contributes at once, exactly once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from casefeedback.retention.purge import purge
from casefeedback.storage.engine import read
from casefeedback.storage.tables import insight_contributions
from tests.conftest import canary
from tests.helpers import ServiceUser


def contributions(found) -> list[tuple[str, str]]:
    with read(found.engine) as connection:
        return sorted((r.question_id, r.answer) for r in connection.execute(select(insight_contributions)))


def test_sharing_contributes_when_sent_and_retention_does_not_count_it_again(app, found, clock):
    secret = canary()
    ServiceUser(app.test_client()).give_feedback({"treated": "4", "listened": "no", "anything_else": secret},
                                                 choices=("store", "share_insight"))
    ServiceUser(app.test_client()).give_feedback({"treated": "1"}, choices=("store",))
    assert contributions(found) == [("listened", "no"), ("treated", "4")]
    clock.advance(days=3 * 366)
    purge(found, clock.now)
    assert contributions(found) == [("listened", "no"), ("treated", "4")]
    with read(found.engine) as connection:
        assert all(secret not in str(tuple(r)) for r in connection.execute(select(insight_contributions)))


def test_no_sharing_no_contribution(app, found, clock):
    ServiceUser(app.test_client()).give_feedback({"treated": "2"}, choices=("store",))
    clock.advance(days=1)
    assert contributions(found) == []
    clock.advance(days=3 * 366 + 1)
    purge(found, clock.now - timedelta(seconds=0))
    assert contributions(found) == []
