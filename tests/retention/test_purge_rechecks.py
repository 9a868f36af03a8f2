"""What changes between a purge's plan and its write transactions is respected: each transaction
checks again and acts only on what is still due, and an answer opened for insight and then not
kept is still audited."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, update

import casefeedback.retention.shredding as shredding
from casefeedback.retention.erasure import withdraw
from casefeedback.retention.holds import active_hold, release_hold, set_hold
from casefeedback.retention.purge import purge
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import (
    audit_events,
    consent_receipts,
    erased_keys,
    insight_contributed,
    insight_contributions,
)
from tests.retention.conftest import close_case, key_classes, seed_case, seed_submission
from tests.retention.sending import stored

ALL = {"treated": "2", "listened": "yes", "safe_now": "no", "anything_else": "words", "safer": "more words"}
EVERY_CLASS = {"rating", "experience", "safety", "narrative"}


@pytest.fixture
def between_plan_and_write(monkeypatch):
    """Run an action once the purge has planned (and opened for insight), before its first write."""

    def install(action):
        prepare = shredding.prepare_contributions
        done = []

        def planned(*args, **kwargs):
            prepared = prepare(*args, **kwargs)
            if not done:
                done.append(True)
                action()
            return prepared

        monkeypatch.setattr(shredding, "prepare_contributions", planned)
        return done

    return install


def old_case_submission(found, clock, **kwargs):
    long_ago = clock.now - timedelta(days=3 * 366)
    case_id = seed_case(found, closed_at=long_ago)
    return case_id, seed_submission(found, ALL, at=long_ago, case_id=case_id, **kwargs)


def opened_for_insight(found, submission_id):
    with read(found.engine) as connection:
        return [json.loads(d) for d in connection.execute(
            select(audit_events.c.detail).where(audit_events.c.action == "field.open",
                                                audit_events.c.object_id == submission_id)).scalars()]


def contributions(found):
    with read(found.engine) as connection:
        return connection.execute(select(func.count()).select_from(insight_contributions)).scalar_one()


def test_a_hold_placed_between_plan_and_write_keeps_the_case(found, clock, between_plan_and_write):
    case_id, held = old_case_submission(found, clock, share_insight=True)
    _other_case, other = old_case_submission(found, clock)

    def hold():
        with write(found.engine) as connection:
            set_hold(connection, found.audit, found.keyring, case_id=case_id, reason="Court order 9",
                     review_by=clock.now + timedelta(days=30), now=clock.now)

    ran = between_plan_and_write(hold)
    report = purge(found, clock.now)
    assert ran
    assert key_classes(found, held) == EVERY_CLASS and stored(found, [held]) == {held: (4, 5, 5)}
    assert stored(found, [other]) == {other: (0, 0, 0)}
    assert report.submissions == 1 and sum(report.held.values()) == 4 and report.held_cases == {case_id}
    # Opened for insight before the hold came: audited, nothing kept.
    assert opened_for_insight(found, held) and all(d["contributions"] == 0 and d["dropped"] == "not_erased"
                                                  for d in opened_for_insight(found, held))
    assert contributions(found) == 0
    with read(found.engine) as connection:
        assert connection.execute(select(func.count()).select_from(erased_keys)
                                  .where(erased_keys.c.submission_id == held)).scalar_one() == 0
    with write(found.engine) as connection:
        release_hold(connection, found.audit, found.keyring, hold_id=active_hold(connection, case_id).id,
                     reason="Concluded", now=clock.now)
    purge(found, clock.now)
    assert stored(found, [held]) == {held: (0, 0, 0)} and contributions(found) == 2


def test_a_case_reopened_between_plan_and_write_is_kept(found, clock, between_plan_and_write):
    case_id, reopened = old_case_submission(found, clock)
    ran = between_plan_and_write(lambda: close_case(found, case_id, None))
    purge(found, clock.now)
    assert ran
    # Rating and experience count from sending (P2Y, due); narrative and safety wait for the case to close.
    assert key_classes(found, reopened) == {"safety", "narrative"}


def test_a_withdrawal_between_plan_and_write_wins_and_the_purge_carries_on(found, clock, between_plan_and_write):
    _case, withdrawn = old_case_submission(found, clock, share_insight=True)
    _case2, other = old_case_submission(found, clock)

    def withdrawal():
        with write(found.engine) as connection:
            withdraw(connection, found.audit, submission_id=withdrawn, now=clock.now)

    ran = between_plan_and_write(withdrawal)
    report = purge(found, clock.now)
    assert ran
    assert stored(found, [withdrawn, other]) == {withdrawn: (0, 0, 0), other: (0, 0, 0)}
    assert report.submissions == 1 and contributions(found) == 0
    with read(found.engine) as connection:
        reasons = dict(connection.execute(select(erased_keys.c.submission_id, erased_keys.c.reason)).all())
    assert reasons == {withdrawn: "consent_withdrawn", other: "retention"}


def test_insight_contributed_meanwhile_is_not_counted_twice(found, clock, between_plan_and_write):
    _case, sharing = old_case_submission(found, clock, share_insight=True)

    def contributed():
        with write(found.engine) as connection:
            connection.execute(insert(insight_contributed).values(submission_id=sharing))

    ran = between_plan_and_write(contributed)
    report = purge(found, clock.now)
    assert ran
    assert report.contributions == 0 and contributions(found) == 0
    assert stored(found, [sharing]) == {sharing: (0, 0, 0)}
    assert {d["dropped"] for d in opened_for_insight(found, sharing)} == {"contributed_already"}


@pytest.mark.parametrize("shared_at_plan", [True, False])
def test_insight_consent_changed_meanwhile_is_what_counts(found, clock, between_plan_and_write, shared_at_plan):
    _case, changed = old_case_submission(found, clock, share_insight=shared_at_plan)

    def change():
        with write(found.engine) as connection:
            connection.execute(update(consent_receipts).where(consent_receipts.c.submission_id == changed).values(
                choices=json.dumps({"store": True, "share_insight": not shared_at_plan})))

    ran = between_plan_and_write(change)
    report = purge(found, clock.now)
    assert ran
    assert stored(found, [changed]) == {changed: (0, 0, 0)}
    if shared_at_plan:  # opened at the plan, then consent taken back: nothing kept, the opening audited
        assert report.contributions == 0 and contributions(found) == 0
        assert {d["dropped"] for d in opened_for_insight(found, changed)} == {"consent_changed"}
    else:  # consent given since the plan: planned again, and its contributions kept before the keys went
        assert report.contributions == 2 and contributions(found) == 2
        assert [d.get("dropped") for d in opened_for_insight(found, changed)] == [None, None]
