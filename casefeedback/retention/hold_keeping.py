"""What each legal hold is keeping: answers and outcomes past their retention that only the hold keeps.

Counts only, never content: the purge report (``casefeedback purge``), the
records officer's screen and the erasure-horizon report show them, so the
person who releases a hold knows what the next purge will erase.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from casefeedback.retention.planning import fact_of, facts_query, field_counts, is_fact_due
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import case_outcomes, cases, legal_holds, submissions


@dataclass(frozen=True)
class HoldKeeping:
    """One active hold and what retention would already have erased without it."""

    hold_id: str
    case_id: str
    case_reference: str
    review_by: datetime
    data_keys: int  # (submission, field class) keys past their time
    answers: int  # answers sealed under them
    outcomes: int  # case outcomes past [outcomes] keep

    @property
    def keeping(self) -> bool:
        return bool(self.answers or self.outcomes)


def kept_by_holds(found: Services, as_of: datetime | None = None) -> list[HoldKeeping]:
    """Every active hold, with what it keeps that is due as of ``as_of`` (now if not given); by case reference."""
    as_of = as_of or found.clock()
    with read(found.engine) as connection:
        return keeping(found, connection, as_of)


def keeping(found: Services, connection: Connection, as_of: datetime) -> list[HoldKeeping]:
    held = connection.execute(select(legal_holds.c.id, legal_holds.c.case_id, legal_holds.c.review_by,
                                     cases.c.reference)
                              .join(cases, cases.c.id == legal_holds.c.case_id)
                              .where(legal_holds.c.released_at.is_(None))).all()
    if not held:
        return []
    case_ids = [h.case_id for h in held]
    warnings: set[str] = set()
    due = [fact for fact in (fact_of(row) for row in connection.execute(
        facts_query().where(submissions.c.case_id.in_(case_ids))))
        if is_fact_due(found, fact, as_of, warnings)]
    answers = field_counts(connection, due)
    keys: dict[str, int] = {}
    fields: dict[str, int] = {}
    for fact in due:
        case_id = str(fact.case_id)
        keys[case_id] = keys.get(case_id, 0) + 1
        fields[case_id] = fields.get(case_id, 0) + answers.get(fact.key_id, 0)
    outcomes = _outcomes_past_keeping(found, connection, case_ids, as_of)
    return sorted((HoldKeeping(h.id, h.case_id, h.reference, h.review_by, keys.get(h.case_id, 0),
                               fields.get(h.case_id, 0), outcomes.get(h.case_id, 0)) for h in held),
                  key=lambda k: (k.case_reference, k.case_id))


def _outcomes_past_keeping(found: Services, connection: Connection, case_ids: list[str],
                           as_of: datetime) -> dict[str, int]:
    keep = found.policies.organisation.outcomes.keep
    rows = connection.execute(select(case_outcomes.c.case_id, cases.c.closed_at)
                              .join(cases, cases.c.id == case_outcomes.c.case_id)
                              .where(cases.c.id.in_(case_ids), cases.c.closed_at.is_not(None))).all()
    counted: dict[str, int] = {}
    for row in rows:
        if keep.after(row.closed_at) <= as_of:  # as retention/outcomes.py decides it: never a day early
            counted[row.case_id] = counted.get(row.case_id, 0) + 1
    return counted


def report_lines(kept: list[HoldKeeping]) -> list[str]:
    """The purge report's lines about holds, one per hold keeping something."""
    lines = [f"  {k.case_reference}: {k.answers} answer(s) under {k.data_keys} data key(s), {k.outcomes} "
             f"outcome(s); review by {k.review_by:%Y-%m-%d}" for k in kept if k.keeping]
    if lines:
        lines.insert(0, "Kept only because of legal hold (past their retention):")
    return lines
