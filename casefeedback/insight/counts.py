"""The pre-aggregated counts insight reads, and how contributions add to them.

Why pre-aggregate: 200 000 submissions over two years are about a million
contribution rows; grouping them on every page view would be slow. The counts
are a few thousand rows and change only when retention writes contributions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from casefeedback.storage.dialect import insert_or_update
from casefeedback.storage.tables import insight_counts

# (service id, team id or "", month YYYY-MM, question id, answer)
CountKey = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class Scope:
    """Which counts to read: one service, optionally one team, a month range (inclusive)."""

    service_id: str
    team_id: str | None
    first_month: str
    last_month: str


def add_counts(connection: Connection, keys: Iterable[CountKey]) -> None:
    """Add one to the count of each key (in the caller's transaction)."""
    tally = Counter(keys)
    if not tally:
        return
    rows = [{"service_id": s, "team_id": t, "month": m, "question_id": q, "answer": a, "n": n}
            for (s, t, m, q, a), n in tally.items()]
    connection.execute(insert_or_update(insight_counts, ("service_id", "team_id", "month", "question_id", "answer"),
                                        lambda offered: {"n": insight_counts.c.n + offered.n},
                                        dialect_name=connection.dialect.name), rows)


def read_counts(connection: Connection, scope: Scope) -> dict[CountKey, int]:
    """Every base count in scope. The primary key's order (service first) makes this a range read."""
    query = (select(insight_counts)
             .where(insight_counts.c.service_id == scope.service_id,
                    insight_counts.c.month >= scope.first_month, insight_counts.c.month <= scope.last_month))
    if scope.team_id is not None:
        query = query.where(insight_counts.c.team_id == scope.team_id)
    return {(r.service_id, r.team_id, r.month, r.question_id, r.answer): int(r.n)
            for r in connection.execute(query)}

