"""The purge reads only submissions that may have something due (planning.may_be_due): every submission with a
class due — by the exact rule, fact by fact — is among them, on both engines, whatever its case did and when;
feedback too recent to be due is passed over unread; and the purge still erases exactly what is due."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import func, select, update

from casefeedback.policy.model import Duration, Retention
from casefeedback.retention.planning import facts, is_fact_due, may_be_due
from casefeedback.retention.purge import purge
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import consent_receipts, data_keys, submissions
from tests.retention.conftest import seed_case, seed_submission

ANSWERS = {"treated": "3", "anything_else": "what happened", "safer": "a call back"}


def _seed_three_years(found, clock) -> None:  # type: ignore[no-untyped-def]
    """Feedback sent every 45 days over three years: general, on an open case, on a case closed a year before it
    was sent (closing counts from then), and on a case closed a month after; and feedback sent this week on
    cases closed any time in those years."""
    now = clock()
    for back in range(0, 3 * 365, 45):
        sent = now - timedelta(days=back)
        seed_submission(found, ANSWERS, at=sent)
        seed_submission(found, ANSWERS, at=sent, case_id=seed_case(found))
        seed_submission(found, ANSWERS, at=sent, case_id=seed_case(found, closed_at=sent - timedelta(days=365)))
        seed_submission(found, ANSWERS, at=sent, case_id=seed_case(found, closed_at=sent + timedelta(days=30)))
        # Invited after the case had closed: sent this week, counted from a closing ``back`` days ago.
        seed_submission(found, ANSWERS, at=now - timedelta(days=back % 7),
                        case_id=seed_case(found, closed_at=now - timedelta(days=back)))


def _due_and_walked(found, as_of):  # type: ignore[no-untyped-def]
    with read(found.engine) as connection:
        due = {f.submission_id for f in facts(connection) if is_fact_due(found, f, as_of, set())}
        walked = set(connection.execute(select(submissions.c.id).where(may_be_due(found, as_of))).scalars())
        everything = int(connection.execute(select(func.count()).select_from(submissions)).scalar_one())
    return due, walked, everything


def test_every_submission_with_a_class_due_is_walked_and_recent_feedback_is_not(found, clock) -> None:
    _seed_three_years(found, clock)
    for ahead in (0, 100, 200, 400, 800):
        as_of = clock() + timedelta(days=ahead)
        due, walked, everything = _due_and_walked(found, as_of)
        assert due <= walked, (ahead, len(due - walked))
        if ahead <= 100:  # (the least any class here keeps is 180 days)
            assert due and len(walked) < everything  # something is due, and something is passed over


def test_a_class_that_counts_from_withdrawal_lets_every_withdrawn_submission_through(found, clock,
                                                                                      monkeypatch) -> None:
    policy = found.policies.service("victim-support")
    counted = {cid: dataclasses.replace(c, retention=Retention(Duration(years=5), "consent_withdrawn"))
               for cid, c in policy.classes.items()}
    monkeypatch.setitem(found.policies.services, "victim-support", dataclasses.replace(policy, classes=counted))
    withdrawn = seed_submission(found, ANSWERS)
    kept = seed_submission(found, ANSWERS)
    with write(found.engine) as connection:
        connection.execute(update(consent_receipts).where(consent_receipts.c.submission_id == withdrawn)
                           .values(withdrawn_at=clock()))
    due, walked, _everything = _due_and_walked(found, clock())
    assert withdrawn in due and due <= walked and kept not in walked


def test_no_class_anywhere_that_can_fall_due_walks_nothing(found, clock, monkeypatch) -> None:
    policy = found.policies.service("victim-support")
    never = {cid: dataclasses.replace(c, retention=Retention(Duration(days=1), "draft_abandoned"))
             for cid, c in policy.classes.items()}
    monkeypatch.setitem(found.policies.services, "victim-support", dataclasses.replace(policy, classes=never))
    seed_submission(found, ANSWERS, at=clock() - timedelta(days=3000))
    assert _due_and_walked(found, clock())[1] == set()


def test_the_purge_erases_what_is_due_and_keeps_the_rest_with_the_walk_narrowed(found, clock) -> None:
    _seed_three_years(found, clock)
    as_of = clock() + timedelta(days=100)
    with read(found.engine) as connection:
        due_keys = {f.key_id for f in facts(connection) if is_fact_due(found, f, as_of, set())}
        before = set(connection.execute(select(data_keys.c.id)).scalars())
    clock.advance(days=100)
    report = purge(found, as_of)
    with read(found.engine) as connection:
        after = set(connection.execute(select(data_keys.c.id)).scalars())
    assert due_keys and report.data_keys == len(due_keys)
    assert after == before - due_keys
