"""Insight by channel, and what staff said beside what service users said: failure demand they marked, and what
got in the way of serving someone. Suppressed exactly like every other figure (``suppression``).

Base counts are at the finest grain there is — (team, month, channel) for
feedback received; (month, category) for failure demand; (month, category,
impact) for the staff voice — and only published bases are ever summed, so no
figure here can be differenced back to a small number. Failure demand and the
staff voice are stored without a team (they name no case and no person), so a
view of one team does not show them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, func, select

from casefeedback.insight import suppression
from casefeedback.insight.counts import Scope
from casefeedback.insight.filters import month_index, month_text
from casefeedback.insight.report import Row
from casefeedback.policy.assisted import WEB_CHANNEL, AssistedRules, Category
from casefeedback.storage import dialect
from casefeedback.storage.tables import cases, failure_demand, staff_voice, submission_channels, submissions


@dataclass(frozen=True)
class ChannelInsight:
    threshold: int
    by_channel: tuple[Row, ...]  # feedback received through each channel
    channel_total: int | None
    # None when the scope is one team: these are stored without a team.
    failure_demand: tuple[Row, ...] | None
    failure_total: int | None
    staff_voice: tuple[Row, ...] | None
    staff_voice_impact: tuple[Row, ...] | None
    staff_voice_total: int | None


def build_channels(connection: Connection, rules: AssistedRules, scope: Scope, threshold: int) -> ChannelInsight:
    start, end = _bounds(scope)
    channels = _received_by_channel(connection, scope, start, end, threshold)
    labels = {WEB_CHANNEL: "Online form", **{c.id: c.label["en"] for c in rules.channels}}
    by_channel = tuple(Row(key, label, suppression.shown(channels.get(key, 0), threshold))
                       for key, label in labels.items())
    channel_total = suppression.shown(suppression.total_of(r.value for r in by_channel), threshold)
    if scope.team_id is not None:
        return ChannelInsight(threshold, by_channel, channel_total, None, None, None, None, None)
    failure = _published(connection, failure_demand, scope, start, end, threshold)
    failure_rows = _rows(rules.failure_demand, suppression.roll_up(failure, lambda key: key[1]), threshold)
    voice = _published(connection, staff_voice, scope, start, end, threshold, staff_voice.c.impact)
    voice_rows = _rows(rules.staff_voice, suppression.roll_up(voice, lambda key: key[1]), threshold)
    impact_rows = _rows(rules.impacts, suppression.roll_up(voice, lambda key: key[2]), threshold)
    return ChannelInsight(
        threshold, by_channel, channel_total, failure_rows,
        suppression.shown(suppression.total_of(r.value for r in failure_rows), threshold), voice_rows, impact_rows,
        suppression.shown(suppression.total_of(r.value for r in voice_rows), threshold))


def _received_by_channel(connection: Connection, scope: Scope, start: datetime, end: datetime,
                         threshold: int) -> dict[str, int]:
    """Feedback still held, per channel, from published (team, month, channel) bases."""
    team = func.coalesce(cases.c.team_id, "")
    month = dialect.month_of(submissions.c.submitted_at)
    channel = func.coalesce(submission_channels.c.channel, WEB_CHANNEL)
    query = (select(team.label("team"), month.label("month"), channel.label("channel"), func.count().label("n"))
             .select_from(submissions.outerjoin(cases, cases.c.id == submissions.c.case_id)
                          .outerjoin(submission_channels, submission_channels.c.submission_id == submissions.c.id))
             .where(submissions.c.service_id == scope.service_id, submissions.c.status == "active",
                    submissions.c.submitted_at >= start, submissions.c.submitted_at < end)
             .group_by(team, month, channel))
    if scope.team_id is not None:
        query = query.where(cases.c.team_id == scope.team_id)
    base = {(str(r.team), str(r.month), str(r.channel)): int(r.n) for r in connection.execute(query)}
    return suppression.roll_up(suppression.publish(base, threshold), lambda key: key[2])


def _published(connection: Connection, table: Table, scope: Scope, start: datetime, end: datetime,
               threshold: int, *extra: Any) -> dict[tuple[str, ...], int]:
    """Published (month, category[, extra]) base counts of a de-identified table."""
    columns = table.c
    month = dialect.month_of(columns.occurred_at)
    grouped = [month, columns.category, *extra]
    query = (select(*grouped, func.count().label("n"))
             .where(columns.service_id == scope.service_id, columns.occurred_at >= start, columns.occurred_at < end)
             .group_by(*grouped))
    base = {tuple(str(value) for value in row[:-1]): int(row[-1]) for row in connection.execute(query)}
    return suppression.publish(base, threshold)


def _rows(categories: tuple[Category, ...], counts: Mapping[str, int], threshold: int) -> tuple[Row, ...]:
    return tuple(Row(c.id, c.label, suppression.shown(counts.get(c.id, 0), threshold)) for c in categories)


def _bounds(scope: Scope) -> tuple[datetime, datetime]:
    start = datetime.strptime(scope.first_month, "%Y-%m").replace(tzinfo=UTC)
    end = datetime.strptime(month_text(month_index(scope.last_month) + 1), "%Y-%m").replace(tzinfo=UTC)
    return start, end
