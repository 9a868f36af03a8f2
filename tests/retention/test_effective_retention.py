"""``effective_retention`` is what the purge does: the consent page states it, so it must be exactly true.

For every class, with a case and without one, the purge keeps the class until the moment the effective rule
gives and erases it at that moment — not a second before. Without a case, a class counted from
``case_closed`` goes ``keep`` after sending; one counted from ``draft_abandoned`` never goes by the purge;
one counted from ``consent_withdrawn`` goes the moment consent is withdrawn, whatever its ``keep``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casefeedback.policy.model import REPLY_CLASS, Duration, Retention
from casefeedback.receipts.consent import withdraw
from casefeedback.retention.purge import purge
from casefeedback.retention.schedule import EffectiveRetention, Events, due_at, effective_retention, is_due
from casefeedback.services import build_services
from tests.retention.conftest import close_case, key_classes, policies_with, seed_case, seed_submission

ALL = {"treated": "2", "listened": "yes", "safe_now": "no", "anything_else": "words", "safer": "more words"}
SENT = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
CLOSED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ONE_SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(("after", "linked", "expected"), [
    ("submitted", True, "submitted"), ("submitted", False, "submitted"),
    ("case_closed", True, "case_closed"), ("case_closed", False, "submitted"),
    ("consent_withdrawn", True, "consent_withdrawn"), ("consent_withdrawn", False, "consent_withdrawn"),
    ("draft_abandoned", True, None), ("draft_abandoned", False, None),
])
def test_the_effective_event(after, linked, expected):
    keep = Duration(days=30, text="P30D")
    rule = effective_retention(Retention(keep, after), linked)
    assert rule.after == expected
    # Withdrawal erases every class at once: no keep after it ever runs.
    assert rule.keep == (Duration(text="P0D") if after == "consent_withdrawn" else keep)


@pytest.mark.parametrize("linked", [True, False], ids=["with a case", "without a case"])
def test_the_purge_erases_each_class_exactly_when_the_effective_rule_says(found, clock, linked):
    policy = found.policies.service("victim-support")
    clock.now = SENT
    case_id = seed_case(found) if linked else None
    submission_id = seed_submission(found, ALL, at=SENT, case_id=case_id)
    if case_id:
        close_case(found, case_id, CLOSED)
    events = Events(SENT, linked, CLOSED if linked else None, None)
    dues = {}
    # The answers' classes (the reply class has a key only once a reply is written: tests/casework/test_replies.py).
    for class_id, declared in policy.classes.items():
        if class_id == REPLY_CLASS:
            continue
        rule = effective_retention(declared.retention, linked)
        assert rule.after is not None and rule.after != "consent_withdrawn"
        dues[class_id] = rule.keep.after(CLOSED if rule.after == "case_closed" else SENT)
        assert due_at(declared.retention, events) == dues[class_id]
    for due in sorted(set(dues.values())):
        going = {class_id for class_id, at in dues.items() if at == due}
        clock.now = due - ONE_SECOND
        purge(found, clock.now)
        assert going <= key_classes(found, submission_id), f"{going} erased before {due}"
        clock.now = due
        purge(found, clock.now)
        assert not going & key_classes(found, submission_id), f"{going} kept after {due}"
    assert key_classes(found, submission_id) == set()


def test_a_class_counted_from_an_abandoned_draft_is_kept_until_consent_is_withdrawn(tmp_path, config, clock):
    policies = policies_with(tmp_path, {'retention = { keep = "P180D", after = "case_closed" }':
                                        'retention = { keep = "P1D", after = "draft_abandoned" }'})
    found = build_services(config, policies, clock)
    try:
        policy = found.policies.service("victim-support")
        assert effective_retention(policy.classes["narrative"].retention, False) == \
            EffectiveRetention(Duration(days=1, text="P1D"), None)
        submission_id = seed_submission(found, ALL)
        clock.advance(days=20 * 366)
        purge(found, clock.now)
        assert key_classes(found, submission_id) == {"narrative"}
        withdraw(found, submission_id)
        assert key_classes(found, submission_id) == set()
    finally:
        found.engine.dispose()


def test_a_class_counted_from_withdrawal_goes_the_moment_consent_is_withdrawn(tmp_path, config, clock):
    policies = policies_with(tmp_path, {'retention = { keep = "P180D", after = "case_closed" }':
                                        'retention = { keep = "P30D", after = "consent_withdrawn" }'})
    found = build_services(config, policies, clock)
    try:
        submission_id = seed_submission(found, ALL)
        clock.advance(days=400)
        purge(found, clock.now)
        assert "narrative" in key_classes(found, submission_id)  # no withdrawal: kept
        withdraw(found, submission_id)
        assert key_classes(found, submission_id) == set()  # not 30 days later: now
    finally:
        found.engine.dispose()


@settings(max_examples=400, deadline=None)
@given(years=st.integers(0, 3), months=st.integers(0, 14), days=st.integers(0, 60),
       after=st.sampled_from(["submitted", "case_closed", "consent_withdrawn", "draft_abandoned"]),
       linked=st.booleans(), closed=st.booleans(), withdrawn=st.booleans(),
       sent=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
       offset=st.integers(-5, 5))
def test_is_due_is_exactly_the_due_moment_reached(years, months, days, after, linked, closed, withdrawn, sent,
                                                  offset):
    """``is_due`` decides most keys from ``Duration.least``/``most`` alone: never otherwise than ``due_at``,
    including a day either side of the calendar sum, where only the calendar can tell."""
    retention = Retention(Duration(years=years, months=months, days=days), after)
    events = Events(sent, linked, sent + timedelta(days=40) if closed else None,
                    sent + timedelta(days=3) if withdrawn else None)
    due = due_at(retention, events)
    pivot = due if due is not None else sent + timedelta(days=400 * years + 31 * months + days)
    for as_of in (pivot + timedelta(days=offset), pivot + timedelta(seconds=offset), sent + timedelta(days=offset)):
        assert is_due(retention, events, as_of) == (due is not None and due <= as_of)
