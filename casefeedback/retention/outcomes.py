"""Retention of case outcomes: a caseworker's sealed note is kept for the organisation
policy's ``[outcomes] keep`` after its case closes, then erased like any answer.

Each outcome row carries its own wrapped data key, so deleting the row is the
crypto-shred; the ledger records the key id so a restore cannot bring it back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.actions import Action
from casefeedback.policy.model import OUTCOME_CLASS, Duration
from casefeedback.retention import ledger
from casefeedback.storage.tables import case_outcomes, cases, legal_holds


def due_outcomes(connection: Connection, keep: Duration, as_of: datetime) -> list[tuple[str, str, str]]:
    """(outcome id, data key id, case id) of every outcome past its time and not on legal hold."""
    held = select(legal_holds.c.case_id).where(legal_holds.c.released_at.is_(None))
    rows = connection.execute(
        select(case_outcomes.c.id, case_outcomes.c.data_key_id, cases.c.id.label("case_id"), cases.c.closed_at)
        .join(cases, cases.c.id == case_outcomes.c.case_id)
        .where(cases.c.closed_at.is_not(None), cases.c.id.not_in(held))).all()
    # Calendar arithmetic in Python (Duration.after), not SQL: never a day early.
    return [(r.id, r.data_key_id, r.case_id) for r in rows if keep.after(r.closed_at) <= as_of]


def purge_outcomes(connection: Connection, audit: AuditLog, keep: Duration, as_of: datetime, now: datetime) -> int:
    """Erase due outcomes in the caller's write transaction; audit the count, never content."""
    due = due_outcomes(connection, keep, as_of)
    if not due:
        return 0
    ledger.record(connection, [ledger.LedgerEntry(key_id, case_id, OUTCOME_CLASS, "retention", now)
                               for _id, key_id, case_id in due])
    erased = connection.execute(delete(case_outcomes).where(case_outcomes.c.id.in_([d[0] for d in due]))).rowcount
    audit.append(connection, AuditEvent(action=Action.ERASURE, outcome="erased", actor_role="retention",
                                        object_type="case_outcomes", field_class=OUTCOME_CLASS,
                                        detail={"reason": "retention", "fields": erased, "data_keys": erased}))
    return int(erased)
