"""The log a page at a time, newest first, with how many events match in all.

The count and the paging are done in SQL. Flags are not: they are worked out
in Python (the policy's working hours, bursts of reads, who holds the case now),
so a flagged-only search scans the rows that could carry a flag, in batches.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from casefeedback.audit.review import READ_ACTIONS, Filters, ReviewRow, flag, match_clauses, review_rows
from casefeedback.policy.model import WorkingHours
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events

PAGE = 50
FLAG_BATCH = 1000


@dataclass(frozen=True)
class LogPage:
    """One page of the log as the auditor pages through it; ``first``/``last`` count from 1."""

    rows: list[ReviewRow]
    total: int
    number: int
    size: int
    up_to_seq: int | None

    @property
    def first(self) -> int:
        return (self.number - 1) * self.size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number * self.size < self.total


def search_page(found: Services, filters: Filters, *, page: int = 1, up_to_seq: int | None = None,
                size: int = PAGE) -> LogPage:
    """One page of matching events, newest first, and how many match in all.

    The pages are cut at ``up_to_seq`` (the newest event when page 1 was shown)
    so that events logged while the auditor pages on do not shift every row
    down a page; the count is the same for every page.
    """
    hours = found.policies.organisation.working_hours
    with read(found.engine) as connection:
        where = match_clauses(connection, filters)
        if up_to_seq is None:
            up_to_seq = connection.execute(select(func.max(audit_events.c.seq))).scalar()
        if up_to_seq is not None:
            where.append(audit_events.c.seq <= up_to_seq)
        if filters.flagged_only:
            return _flagged_page(connection, where, page, size, up_to_seq, hours)
        total = connection.execute(select(func.count()).select_from(audit_events).where(*where)).scalar_one()
        number = _clamp(page, total, size)
        rows = review_rows(connection.execute(select(audit_events).where(*where).order_by(audit_events.c.seq.desc())
                                        .limit(size).offset((number - 1) * size)))
        flag(connection, rows, hours)
        return LogPage(rows, total, number, size, up_to_seq)


def _clamp(page: int, total: int, size: int) -> int:
    return min(max(page, 1), max(1, -(-total // size)))


def _flagged_page(connection: Connection, where: list[ColumnElement[bool]], page: int, size: int,
                  up_to_seq: int | None, hours: WorkingHours) -> LogPage:
    # Flags are worked out in Python (the policy's working hours, bursts, who holds
    # the case now), so SQL cannot count them. SQL narrows the scan to rows that
    # could carry a flag; each batch is flagged and only the flagged seqs kept.
    flagged: list[int] = []
    cursor: int | None = None
    while True:
        query = select(audit_events).where(*where, _may_be_flagged())
        if cursor is not None:
            query = query.where(audit_events.c.seq < cursor)
        batch = review_rows(connection.execute(query.order_by(audit_events.c.seq.desc()).limit(FLAG_BATCH)))
        if not batch:
            break
        flag(connection, batch, hours)
        flagged += [r.seq for r in batch if r.flags]
        cursor = batch[-1].seq
    number = _clamp(page, len(flagged), size)
    wanted = flagged[(number - 1) * size:number * size]
    rows = review_rows(connection.execute(select(audit_events).where(audit_events.c.seq.in_(wanted))
                                    .order_by(audit_events.c.seq.desc())))
    flag(connection, rows, hours)
    return LogPage(rows, len(flagged), number, size, up_to_seq)


def _may_be_flagged() -> ColumnElement[bool]:
    """A superset of the rows ``flag`` can flag (break-glass, or an allowed read)."""
    return or_(audit_events.c.action.startswith("break_glass."), audit_events.c.detail.contains("break_glass"),
               and_(audit_events.c.action.in_(READ_ACTIONS), audit_events.c.outcome == "allowed"))
