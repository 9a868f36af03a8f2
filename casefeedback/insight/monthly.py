"""Submission and consent counts per (team, month): counted live, or read from the monthly cache.

Counting every submission of a service on each page view took seconds at
200 000 submissions. Months that are over change rarely (a withdrawal, a
consent change), so their base counts are kept in ``insight_submission_counts``
and recounted once they are a day old; the current month is kept for five
minutes (counted through the (service, time) index); later months are
counted live. Only base counts are kept: suppression happens after reading,
exactly as for live counts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, func, select

from casefeedback.insight.counts import Scope
from casefeedback.insight.filters import month_index, month_text, months_between
from casefeedback.storage import dialect
from casefeedback.storage.dialect import insert_or_update
from casefeedback.storage.tables import (
    cases,
    consent_receipts,
    insight_submission_counts,
    insight_submission_months,
    submissions,
)

STALE_AFTER = timedelta(days=1)
# The current month is cached too, but only for minutes: new feedback shows soon,
# and a busy month is counted once per few minutes, not on every page view.
CURRENT_STALE_AFTER = timedelta(minutes=5)
# (team id or "", month) -> (received, shared, asked)
Bases = dict[tuple[str, str], tuple[int, int, int]]


def _start(month: str) -> datetime:
    return datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)


def live(connection: Connection, service_id: str, team_id: str | None, first: str, last: str) -> Bases:
    team = func.coalesce(cases.c.team_id, "")
    month = dialect.month_of(submissions.c.submitted_at)
    query = (select(team.label("team"), month.label("month"), consent_receipts.c.choices, func.count().label("n"))
             .select_from(submissions.outerjoin(cases, cases.c.id == submissions.c.case_id)
                          .outerjoin(consent_receipts, consent_receipts.c.submission_id == submissions.c.id))
             .where(submissions.c.service_id == service_id, submissions.c.submitted_at >= _start(first),
                    submissions.c.submitted_at < _start(month_text(month_index(last) + 1)))
             .group_by(team, month, consent_receipts.c.choices))
    if team_id is not None:
        query = query.where(cases.c.team_id == team_id)
    found: Bases = {}
    for row in connection.execute(query):
        key, n = (str(row.team), str(row.month)), int(row.n)
        received, shared, asked = found.get(key, (0, 0, 0))
        if row.choices is not None:
            asked += n
            shared += n if _shares(row.choices) else 0
        found[key] = (received + n, shared, asked)
    return found


def refresh(connection: Connection, service_id: str, scope_months: list[str], now: datetime) -> int:
    """Recount the months of the scope that are over and missing or a day old. Returns months recounted."""
    stale = _stale(connection, service_id, scope_months, now)
    if not stale:
        return 0
    counted = live(connection, service_id, None, min(stale), max(stale))
    connection.execute(delete(insight_submission_counts).where(
        insight_submission_counts.c.service_id == service_id, insight_submission_counts.c.month.in_(stale)))
    rows = [{"service_id": service_id, "month": m, "team_id": t, "received": r, "shared": s, "asked": a}
            for (t, m), (r, s, a) in counted.items() if m in stale]
    if rows:
        connection.execute(insight_submission_counts.insert(), rows)
    connection.execute(insert_or_update(insight_submission_months, ("service_id", "month"),
                                        lambda offered: {"refreshed_at": offered.refreshed_at},
                                        dialect_name=connection.dialect.name),
                       [{"service_id": service_id, "month": m, "refreshed_at": now} for m in stale])
    return len(stale)


def bases(connection: Connection, scope: Scope, now: datetime | None) -> Bases:
    """Base counts for the scope: cached months from the cache, every other month live (all live if now is None)."""
    months = months_between(scope.first_month, scope.last_month)
    cached: set[str] = set()
    if now is not None:
        cached = set(connection.execute(
            select(insight_submission_months.c.month)
            .where(insight_submission_months.c.service_id == scope.service_id,
                   insight_submission_months.c.month.in_(months))).scalars())
    found: Bases = {}
    if cached:
        query = select(insight_submission_counts).where(insight_submission_counts.c.service_id == scope.service_id,
                                                        insight_submission_counts.c.month.in_(cached))
        if scope.team_id is not None:
            query = query.where(insight_submission_counts.c.team_id == scope.team_id)
        for row in connection.execute(query):
            found[(row.team_id, row.month)] = (int(row.received), int(row.shared), int(row.asked))
    for first, last in _runs([m for m in months if m not in cached]):
        found.update(live(connection, scope.service_id, scope.team_id, first, last))
    return found


def _runs(months: list[str]) -> list[tuple[str, str]]:
    """Consecutive months as (first, last) spans, so each live count is one range read."""
    spans: list[tuple[str, str]] = []
    for month in months:
        if spans and month_index(month) == month_index(spans[-1][1]) + 1:
            spans[-1] = (spans[-1][0], month)
        else:
            spans.append((month, month))
    return spans


def _shares(choices: str) -> bool:
    try:
        found = json.loads(choices)
    except ValueError:
        return False
    return isinstance(found, dict) and found.get("share_insight") is True



def _stale(connection: Connection, service_id: str, months: list[str], now: datetime) -> list[str]:
    """The months up to this one that are missing from the cache or older than they may be."""
    this_month = now.strftime("%Y-%m")
    wanted = [m for m in months if m <= this_month]
    if not wanted:
        return []
    refreshed = {r.month: r.refreshed_at for r in connection.execute(
        select(insight_submission_months.c.month, insight_submission_months.c.refreshed_at)
        .where(insight_submission_months.c.service_id == service_id,
               insight_submission_months.c.month.in_(wanted)))}
    return [m for m in wanted if m not in refreshed
            or refreshed[m] <= now - (STALE_AFTER if m < this_month else CURRENT_STALE_AFTER)]


def needs_refresh(connection: Connection, scope: Scope, now: datetime) -> bool:
    """Whether any month of the scope up to now is missing from the cache or too old."""
    return bool(_stale(connection, scope.service_id, months_between(scope.first_month, scope.last_month), now))
