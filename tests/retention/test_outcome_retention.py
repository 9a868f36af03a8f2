"""Case outcomes are kept for the organisation policy's time after the case closes, never a day less."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from casefeedback.casework.outcomes import record_outcome
from casefeedback.retention import ledger
from casefeedback.retention.holds import active_hold, release_hold, set_hold
from casefeedback.retention.purge import purge
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import case_outcomes, cases, erased_keys
from tests.retention.conftest import close_case, seed_case


def outcomes(found) -> int:
    with read(found.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(case_outcomes)).scalar_one())


def record(found, case_id: str) -> None:
    with write(found.engine) as connection:
        owner = connection.execute(select(cases.c.owner_id).where(cases.c.id == case_id)).scalar_one()
        record_outcome(connection, found.keyring, case_id=case_id, recorded_by=owner, text="Referred on",
                       nonce=case_id, now=found.clock())


def test_outcome_erased_on_the_day_its_time_ends_and_not_before(found, clock):
    keep = found.policies.organisation.outcomes.keep
    case_id = seed_case(found)
    record(found, case_id)
    closed = clock.now
    close_case(found, case_id, closed)
    clock.now = keep.after(closed) - timedelta(seconds=1)
    assert purge(found, clock.now).outcomes == 0 and outcomes(found) == 1
    clock.now = keep.after(closed)
    assert purge(found, clock.now).outcomes == 1 and outcomes(found) == 0
    with read(found.engine) as connection:
        assert connection.execute(select(erased_keys.c.field_class)).scalars().all() == ["case_outcome"]
        entries = ledger.read_table(connection)
    assert [e.submission_id for e in entries] == [case_id]


def test_open_cases_and_legal_holds_keep_outcomes(found, clock):
    open_case, held_case = seed_case(found), seed_case(found)
    record(found, open_case)
    record(found, held_case)
    close_case(found, held_case, clock.now)
    with write(found.engine) as connection:
        set_hold(connection, found.audit, found.keyring, case_id=held_case, reason="Inquiry",
                 review_by=clock.now + timedelta(days=30), now=clock.now)
    clock.advance(days=5 * 366)
    purge(found, clock.now)
    assert outcomes(found) == 2
    with write(found.engine) as connection:
        release_hold(connection, found.audit, found.keyring, hold_id=active_hold(connection, held_case).id,
                     reason="Inquiry over", now=clock.now)
    purge(found, clock.now)
    assert outcomes(found) == 1
