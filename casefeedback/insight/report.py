"""The insight report: every figure a page or an export shows, already suppressed.

Reads counts only (see ``counts`` and the submission/consent counts below) and
passes every base count through ``suppression.publish`` before anything is
summed, so no figure built here can be differenced back to a small number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, select

from casefeedback.insight import monthly, suppression
from casefeedback.insight.counts import CountKey, Scope, read_counts
from casefeedback.insight.filters import month_index, month_text, months_between
from casefeedback.policy.model import PREFER_NOT_TO_SAY, Question, ServicePolicy
from casefeedback.storage import dialect
from casefeedback.storage.tables import alerts, cases

INSIGHT_KINDS = ("choice", "multi_choice", "rating")
# The answer of a failure-demand question that means "yes, we caused this demand".
FAILURE_ANSWER = "yes"


@dataclass(frozen=True)
class Row:
    """One labelled figure: ``value`` None means suppressed."""

    key: str
    label: str
    value: int | None


@dataclass(frozen=True)
class QuestionInsight:
    id: str
    text: str
    kind: str
    failure_demand: bool
    answers: tuple[Row, ...]  # the distribution over the whole period
    months: tuple[Row, ...]  # responses per month
    total: int | None  # the sum of the answers shown (None, suppressed, when none is)
    mean: float | None  # ratings only: the mean of the ratings shown
    # Ratings only, one per month (None: no rating shown that month): the mean of that
    # month's ratings shown, so a change in satisfaction shows as a change over time.
    monthly_means: tuple[float | None, ...] = ()
    scale: tuple[int, int] | None = None  # ratings only: the lowest and highest point

    def share(self, answer: str) -> float | None:
        """The share of the answers shown that were ``answer`` (None when it is suppressed)."""
        value = next((r.value for r in self.answers if r.key == answer), None)
        return value / self.total if value is not None and self.total else None


@dataclass(frozen=True)
class ConsentMonth:
    month: str
    shared: int | None
    asked: int | None

    @property
    def rate(self) -> float | None:
        return self.shared / self.asked if self.shared is not None and self.asked else None


@dataclass(frozen=True)
class AlertMonth:
    month: str
    raised: int | None
    acknowledged: int | None
    mean_minutes: float | None  # mean time to acknowledge, over the acknowledged alerts shown


@dataclass(frozen=True)
class Report:
    service_id: str
    service_name: str
    scope: Scope
    threshold: int
    questions: tuple[QuestionInsight, ...]
    volumes: tuple[Row, ...]  # submissions received per month
    volume_total: int | None
    consent: tuple[ConsentMonth, ...]
    alerts: tuple[AlertMonth, ...] | None = None  # None: this build has no alerts table

    @property
    def failure_demand(self) -> tuple[QuestionInsight, ...]:
        return tuple(q for q in self.questions if q.failure_demand)


def insight_questions(policy: ServicePolicy) -> tuple[Question, ...]:
    """Questions whose answers can become contributions: option or rating answers of aggregate classes."""
    return tuple(q for q in policy.questions if q.kind in INSIGHT_KINDS and q.field_class in policy.classes
                 and policy.classes[q.field_class].insight == "aggregate")


def build(connection: Connection, policy: ServicePolicy, scope: Scope, now: datetime | None = None) -> Report:
    """The report for a scope. With ``now``, months already over are read from the monthly cache."""
    threshold = policy.suppress_below
    published = suppression.publish(read_counts(connection, scope), threshold)
    months = months_between(scope.first_month, scope.last_month)
    questions = tuple(_question(q, published, months, threshold) for q in insight_questions(policy))
    volumes, consent = _submission_counts(connection, scope, threshold, now)
    volume_rows = tuple(Row(m, m, suppression.shown(volumes.get(m, 0), threshold)) for m in months)
    consent_rows = tuple(ConsentMonth(m, *_pair(consent.get(m), threshold)) for m in months)
    alert_rows = _alerts(connection, scope, months, threshold)
    volume_total = suppression.shown(suppression.total_of(r.value for r in volume_rows), threshold)
    return Report(service_id=policy.id, service_name=policy.name.get("en", policy.id), scope=scope,
                  threshold=threshold, questions=questions, volumes=volume_rows, volume_total=volume_total,
                  consent=consent_rows, alerts=alert_rows)


def _pair(pair: tuple[int, int] | None, threshold: int) -> tuple[int | None, int | None]:
    if pair is None:
        return None, None
    return suppression.shown(pair[0], threshold), suppression.shown(pair[1], threshold)


def _question(question: Question, published: Mapping[CountKey, int], months: list[str],
              threshold: int) -> QuestionInsight:
    mine = {key: n for key, n in published.items() if key[3] == question.id}
    by_answer = suppression.roll_up(mine, lambda key: key[4])
    by_month = suppression.roll_up(mine, lambda key: key[2])
    by_month_answer = suppression.roll_up(mine, lambda key: (key[2], key[4]))
    answers = tuple(Row(a, _label(question, a), suppression.shown(by_answer.get(a, 0), threshold))
                    for a in question.option_ids())
    return QuestionInsight(
        id=question.id, text=question.text.get("en", question.id), kind=question.kind,
        failure_demand=question.failure_demand, answers=answers,
        months=tuple(Row(m, m, suppression.shown(by_month.get(m, 0), threshold)) for m in months),
        total=suppression.shown(suppression.total_of(r.value for r in answers), threshold),
        mean=_mean(answers) if question.kind == "rating" else None,
        monthly_means=tuple(_mean(tuple(Row(a, a, n) for (m, a), n in by_month_answer.items() if m == month))
                            for month in months) if question.kind == "rating" else (),
        scale=(question.scale_min, question.scale_max) if question.kind == "rating" else None)


def _label(question: Question, answer: str) -> str:
    if answer == PREFER_NOT_TO_SAY:
        return "Prefer not to say"
    option = next((o for o in question.options if o.id == answer), None)
    return option.text.get("en", answer) if option is not None else answer


def _mean(answers: tuple[Row, ...]) -> float | None:
    rated = [(int(r.key), r.value) for r in answers if r.key.isdigit() and r.value is not None]
    count = sum(n for _v, n in rated)
    return sum(v * n for v, n in rated) / count if count else None


def _submission_counts(connection: Connection, scope: Scope, threshold: int,
                       now: datetime | None) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    """Submissions per month, and (shared, asked) consent per month, from published base counts only.

    The base is (team, month), suppressed exactly like the contribution counts:
    these are counts of every submission still held, not only sharing ones, so
    they are shown to staff but never exported (see ``export``).
    """
    found = monthly.bases(connection, scope, now)
    volume = {key: received for key, (received, _s, _a) in found.items()}
    consent = {key: (shared, asked) for key, (_r, shared, asked) in found.items() if asked}
    volumes = suppression.roll_up(suppression.publish(volume, threshold), lambda key: key[1])
    pairs = suppression.publish_pairs(consent, threshold)
    shared_by_month = suppression.roll_up({k: p[0] for k, p in pairs.items()}, lambda key: key[1])
    asked_by_month = suppression.roll_up({k: p[1] for k, p in pairs.items()}, lambda key: key[1])
    return volumes, {m: (shared_by_month[m], asked_by_month[m]) for m in asked_by_month}



def _alerts(connection: Connection, scope: Scope, months: list[str],
            threshold: int) -> tuple[AlertMonth, ...] | None:
    """Alerts raised and time to acknowledge per month: how quickly people who said they were unsafe were heard.

    Base (team, month): published only when both the alerts raised and those
    acknowledged reach the threshold; a mean is then over at least that many.
    Sums of published bases only, as everywhere else.
    """
    table = alerts
    start, end = _bounds(scope)
    team = func.coalesce(cases.c.team_id, "")
    month = dialect.month_of(table.c.raised_at)
    seconds = dialect.seconds_between(table.c.raised_at, table.c.acknowledged_at)
    query = (select(team.label("team"), month.label("month"), func.count().label("raised"),
                    func.count(table.c.acknowledged_at).label("acked"), func.sum(seconds).label("seconds"))
             .select_from(table.outerjoin(cases, cases.c.id == table.c.case_id))
             .where(table.c.service_id == scope.service_id, table.c.raised_at >= start, table.c.raised_at < end)
             .group_by(team, month))
    if scope.team_id is not None:
        query = query.where(cases.c.team_id == scope.team_id)
    kept = {(str(r.month), str(r.team)): (int(r.raised), int(r.acked), float(r.seconds or 0))
            for r in connection.execute(query) if r.raised >= threshold and r.acked >= threshold}
    rows = []
    for m in months:
        mine = [v for (month_of, _t), v in kept.items() if month_of == m]
        raised, acked, total = (sum(v[0] for v in mine), sum(v[1] for v in mine), sum(v[2] for v in mine))
        rows.append(AlertMonth(m, suppression.shown(raised, threshold), suppression.shown(acked, threshold),
                               total / acked / 60 if acked >= threshold else None))
    return tuple(rows)


def _bounds(scope: Scope) -> tuple[datetime, datetime]:
    start = datetime.strptime(scope.first_month, "%Y-%m").replace(tzinfo=UTC)
    end = datetime.strptime(month_text(month_index(scope.last_month) + 1), "%Y-%m").replace(tzinfo=UTC)
    return start, end
