"""The retention purge erases on time — never a second early — and respects legal hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from casefeedback.retention.holds import HoldError, active_hold, release_hold, set_hold
from casefeedback.retention.purge import PurgeRefused, plan, purge
from casefeedback.services import build_services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events, erased_keys, insight_contributions, purge_runs
from tests.retention.conftest import close_case, key_classes, policies_with, seed_case, seed_submission

ALL = {"treated": "2", "listened": "yes", "safe_now": "no", "anything_else": "words", "safer": "more words"}


def services_with(config, clock, policies):
    return build_services(config, policies, clock)


@pytest.fixture
def monthly(tmp_path, config, clock):
    """Rating kept P1M after sending, safety P1Y after the case closes: calendar units at month ends."""
    policies = policies_with(tmp_path, {
        '[classes.rating]\ndescription.en = "Your scores, like how well we treated you"\n'
        'description.cy = "Eich sgorau, fel pa mor dda y gwnaethon ni eich trin chi"\n'
        'retention = { keep = "P2Y", after = "submitted" }':
        '[classes.rating]\ndescription.en = "Your scores, like how well we treated you"\n'
        'description.cy = "Eich sgorau, fel pa mor dda y gwnaethon ni eich trin chi"\n'
        'retention = { keep = "P1M", after = "submitted" }'})
    found = services_with(config, clock, policies)
    yield found
    found.engine.dispose()


def walk_until_erased(found, clock, submission_id, field_class, start, stop, step):
    """Advance the clock in steps, purging at each; return the first moment the class was gone."""
    clock.now = start
    while clock.now <= stop:
        purge(found, clock.now)
        if field_class not in key_classes(found, submission_id):
            return clock.now
        clock.now += step
    return None


@pytest.mark.parametrize("sent, due", [
    (datetime(2024, 1, 31, 10, 0, tzinfo=UTC), datetime(2024, 2, 29, 10, 0, tzinfo=UTC)),  # leap February
    (datetime(2023, 1, 31, 10, 0, tzinfo=UTC), datetime(2023, 2, 28, 10, 0, tzinfo=UTC)),
    (datetime(2024, 2, 29, 23, 30, tzinfo=UTC), datetime(2024, 3, 29, 23, 30, tzinfo=UTC)),
    (datetime(2025, 12, 31, 12, 0, tzinfo=UTC), datetime(2026, 1, 31, 12, 0, tzinfo=UTC)),  # year end
    (datetime(2026, 3, 31, 0, 0, tzinfo=UTC), datetime(2026, 4, 30, 0, 0, tzinfo=UTC)),
])
def test_a_month_after_sending_is_never_a_day_early(monthly, clock, sent, due):
    clock.now = sent
    submission_id = seed_submission(monthly, ALL, at=sent)
    # Day by day up to the day before, then hour by hour, then to the second.
    assert walk_until_erased(monthly, clock, submission_id, "rating", sent, due - timedelta(days=1),
                             timedelta(days=1)) is None
    assert walk_until_erased(monthly, clock, submission_id, "rating", due - timedelta(hours=23),
                             due - timedelta(hours=1), timedelta(hours=1)) is None
    assert walk_until_erased(monthly, clock, submission_id, "rating", due - timedelta(seconds=1),
                             due - timedelta(seconds=1), timedelta(seconds=1)) is None
    assert walk_until_erased(monthly, clock, submission_id, "rating", due, due, timedelta(seconds=1)) == due
    assert key_classes(monthly, submission_id) == {"experience", "safety", "narrative"}


@pytest.mark.parametrize("closed", [datetime(2024, 2, 29, 8, 0, tzinfo=UTC), datetime(2027, 2, 28, 8, 0, tzinfo=UTC)])
def test_a_year_after_the_case_closes_counts_leap_days(found, clock, closed):
    clock.now = closed - timedelta(days=30)
    case_id = seed_case(found)
    submission_id = seed_submission(found, ALL, at=clock.now, case_id=case_id)
    purge(found, closed + timedelta(days=800) if False else clock.now)
    assert "safety" in key_classes(found, submission_id)  # the case is open: not due, however long
    close_case(found, case_id, closed)
    due = closed.replace(year=closed.year + 1, day=28) if closed.month == 2 and closed.day == 29 else \
        closed.replace(year=closed.year + 1)
    assert walk_until_erased(found, clock, submission_id, "safety", due - timedelta(days=3),
                             due - timedelta(seconds=1), timedelta(hours=6)) is None
    assert walk_until_erased(found, clock, submission_id, "safety", due, due, timedelta(hours=1)) == due
    # Narrative (P180D after closing) went long before; rating and experience (P2Y after sending) stay.
    assert key_classes(found, submission_id) == {"rating", "experience"}


def test_reopening_a_case_stops_the_clock(found, clock):
    case_id = seed_case(found)
    submission_id = seed_submission(found, ALL, case_id=case_id)
    close_case(found, case_id, clock.now)
    close_case(found, case_id, None)  # re-opened
    clock.advance(days=400)
    purge(found, clock.now)
    assert key_classes(found, submission_id) == {"rating", "experience", "safety", "narrative"}


def test_feedback_without_a_case_counts_as_closed_when_sent(found, clock):
    submission_id = seed_submission(found, ALL)
    clock.advance(days=179)
    purge(found, clock.now)
    assert "narrative" in key_classes(found, submission_id)
    clock.advance(days=1)
    purge(found, clock.now)
    assert key_classes(found, submission_id) == {"rating", "experience", "safety"}


def test_legal_hold_suspends_retention_and_lifting_it_resumes(found, clock):
    case_id = seed_case(found, closed_at=clock.now)
    submission_id = seed_submission(found, ALL, case_id=case_id)
    with write(found.engine) as connection:
        set_hold(connection, found.audit, found.keyring, case_id=case_id, reason="Court order 123",
                 review_by=clock.now + timedelta(days=30), now=clock.now)
    clock.advance(days=3 * 366)
    report = purge(found, clock.now)
    assert key_classes(found, submission_id) == {"rating", "experience", "safety", "narrative"}
    assert sum(report.held.values()) == 4 and report.held_cases == {case_id}
    with write(found.engine) as connection:
        release_hold(connection, found.audit, found.keyring, hold_id=active_hold(connection, case_id).id,
                     reason="Case concluded", now=clock.now)
    purge(found, clock.now)
    assert key_classes(found, submission_id) == set()
    with read(found.engine) as connection:
        actions = list(connection.execute(select(audit_events.c.action, audit_events.c.detail)
                                          .where(audit_events.c.action.like("legal_hold.%"))))
    assert [a for a, _ in actions] == ["legal_hold.set", "legal_hold.release"]
    # The reason is sealed with the hold, never written into the audit log (it may name a person).
    assert "Court order 123" not in actions[0][1] and '"reason_characters":15' in actions[0][1]


def test_a_hold_needs_a_reason_and_a_real_case(found, clock):
    case_id = seed_case(found)
    later = clock.now + timedelta(days=30)
    with write(found.engine) as connection, pytest.raises(HoldError, match="Give a reason"):
        set_hold(connection, found.audit, found.keyring, case_id=case_id, reason="   ", review_by=later,
                 now=clock.now)
    with write(found.engine) as connection, pytest.raises(HoldError, match="no case"):
        set_hold(connection, found.audit, found.keyring, case_id="nope", reason="x", review_by=later, now=clock.now)


def test_dry_run_counts_by_service_and_class_and_changes_nothing(found, clock):
    for _ in range(3):
        seed_submission(found, ALL)
    clock.advance(days=2 * 366)
    with read(found.engine) as connection:
        before = connection.execute(select(func.count()).select_from(audit_events)).scalar_one()
    report = plan(found, clock.now)
    assert dict(report.counts) == {("victim-support", "rating"): [3, 3], ("victim-support", "experience"): [3, 3],
                                   ("victim-support", "safety"): [3, 6], ("victim-support", "narrative"): [3, 3]}
    with read(found.engine) as connection:
        assert connection.execute(select(func.count()).select_from(audit_events)).scalar_one() == before
    done = purge(found, clock.now)
    assert dict(done.counts) == dict(report.counts) and done.submissions == 3


def test_purge_audits_counts_and_records_the_ledger(found, clock):
    submission_id = seed_submission(found, ALL)
    clock.advance(days=2 * 366)
    purge(found, clock.now)
    with read(found.engine) as connection:
        summary = connection.execute(select(audit_events.c.detail)
                                     .where(audit_events.c.action == "retention.purge")).scalar_one()
        ledger = set(connection.execute(select(erased_keys.c.field_class)
                                        .where(erased_keys.c.submission_id == submission_id)).scalars())
    assert '"fields":5' in summary and '"data_keys":4' in summary and "words" not in summary
    assert ledger == {"rating", "experience", "safety", "narrative"}
    ledger_file = found.config.database_path.with_name("erasure-ledger.jsonl")
    assert ledger_file.read_text().count(submission_id) == 4


def test_as_of_in_the_future_or_before_the_last_purge_is_refused(found, clock):
    seed_submission(found, ALL)
    with pytest.raises(PurgeRefused, match="in the future"):
        purge(found, clock.now + timedelta(days=1))
    purge(found, clock.now)
    with pytest.raises(PurgeRefused, match="before the last purge"):
        purge(found, clock.now - timedelta(days=1))
    with read(found.engine) as connection:
        assert connection.execute(select(func.count()).select_from(purge_runs)).scalar_one() == 1


def test_insight_contributions_kept_only_with_consent_and_never_free_text(found, clock):
    with_consent = seed_submission(found, {**ALL, "treated": "4", "listened": "no"}, share_insight=True)
    seed_submission(found, {**ALL, "treated": "5"}, share_insight=False)
    clock.advance(days=2 * 366)
    report = purge(found, clock.now)
    with read(found.engine) as connection:
        rows = connection.execute(select(insight_contributions)).all()
    assert sorted((r.question_id, r.answer) for r in rows) == [("listened", "no"), ("treated", "4")]
    assert {r.month for r in rows} == {"2026-11"} and {r.service_id for r in rows} == {"victim-support"}
    assert report.contributions == 2
    assert key_classes(found, with_consent) == set()
    assert not any(with_consent in str(tuple(r)) for r in rows)
