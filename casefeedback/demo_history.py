"""Two years of de-identified history for the demo, so /insight and the audit log show something real.

A newcomer who opens /insight on an empty instance sees nothing but "hidden"
cells; this seeds what two years of a real service would have left behind,
shaped exactly as the pipeline leaves it and nothing more:

* submission rows and their consent receipts (counted for "Feedback received"
  and "Agreeing to share"), with **no answers**: nobody's words are made up,
  and no ciphertext exists that a key could open;
* for people who agreed to share, the de-identified contributions and the
  pre-aggregated counts ``insight.contributions`` writes when someone sends
  (service, month, question, answer: no person, no time finer than the month);
* alerts raised by the "feel unsafe" rule, acknowledged and resolved by the
  duty manager minutes later, and the audit events those steps leave, each
  marked ``demo_history`` so an auditor can tell demo data from real use.

Seasonal (more feedback in winter), with a dated service change nine months
ago after which satisfaction dips and partly recovers. Deterministic (one
seeded random generator) and written with executemany, in the caller's
transaction, so it takes a second or two.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert

from casefeedback.alerts.routing import effective_chain
from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.actions import Action
from casefeedback.insight.counts import CountKey, add_counts
from casefeedback.insight.filters import month_index, month_text
from casefeedback.insight.report import insight_questions
from casefeedback.policy.model import (
    PREFER_NOT_TO_SAY,
    WEEKDAYS,
    AlertRule,
    Question,
    ServicePolicy,
    WorkingHours,
)
from casefeedback.services import Services
from casefeedback.storage.tables import (
    alerts,
    consent_receipts,
    insight_contributed,
    insight_contributions,
    submissions,
)

MONTHS = 24
SERVICE_CHANGE_MONTHS_AGO = 9
SERVICE_CHANGE = "one phone line for every team"
PER_MONTH = 125  # an average month; winter brings more, summer fewer
SEED = 20241
SHARE_INSIGHT = 0.78  # of everyone who gave feedback, how many agreed to share it
WELSH = 0.07
IN_HOURS = 0.8  # of feedback (and so of alerts), how much arrives in working hours
_REFERENCE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class History:
    """What was seeded, for the demo's sign-in text and its tests."""

    service_change: date
    first_month: str
    last_month: str
    submissions: int = 0
    sharing: int = 0
    contributions: int = 0
    alerts: int = 0


@dataclass
class _Rows:
    submissions: list[dict[str, object]] = field(default_factory=list)
    receipts: list[dict[str, object]] = field(default_factory=list)
    contributed: list[dict[str, object]] = field(default_factory=list)
    contributions: list[dict[str, object]] = field(default_factory=list)
    counts: list[CountKey] = field(default_factory=list)
    alerts: list[dict[str, object]] = field(default_factory=list)
    events: list[tuple[datetime, AuditEvent]] = field(default_factory=list)


def seed_history(found: Services, connection: Connection, *, service_id: str, duty_manager_id: str,
                 now: datetime) -> History:
    """Seed two years of history for one service, in the caller's write transaction."""
    policy = found.policies.service(service_id)
    if policy is None:
        raise ValueError(f"no service policy {service_id!r} to seed a history for")
    rng = random.Random(SEED)  # noqa: S311 - demo data, not a secret
    hours = found.policies.organisation.working_hours
    this_month = month_index(now.strftime("%Y-%m"))
    change = month_text(this_month - SERVICE_CHANGE_MONTHS_AGO)
    rule = _unsafe_rule(policy)
    rows = _Rows()
    for index in range(this_month - MONTHS + 1, this_month + 1):
        month = month_text(index)
        for moment in _moments(rng, month, now, hours):
            _submission(rng, rows, policy, moment, _dip(index - month_index(change)), rule, duty_manager_id, hours)
    _write(found, connection, rows)
    return History(service_change=date(int(change[:4]), int(change[5:]), 1),
                   first_month=month_text(this_month - MONTHS + 1), last_month=month_text(this_month),
                   submissions=len(rows.submissions), sharing=len(rows.contributed),
                   contributions=len(rows.contributions), alerts=len(rows.alerts))


def _dip(months_since_change: int) -> float:
    """How far satisfaction has fallen (0 none, 1 the worst): sharply after the change, then partly back."""
    if months_since_change < 0:
        return 0.0
    return (1.0, 1.0, 1.0, 0.9, 0.75, 0.6)[months_since_change] if months_since_change < 6 else 0.45


def _season(month: str) -> float:
    """More feedback in winter (January the most), fewer in summer."""
    return 1 + 0.3 * math.cos(2 * math.pi * (int(month[5:]) - 1) / 12)


def _moments(rng: random.Random, month: str, now: datetime, hours: WorkingHours) -> list[datetime]:
    """When each piece of feedback this month arrived: mostly in working hours, never in the last day."""
    first = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = min(datetime.strptime(month_text(month_index(month) + 1), "%Y-%m").replace(tzinfo=UTC),
              now - timedelta(days=1))
    if end <= first:
        return []
    days = [first.date() + timedelta(days=d) for d in range((end - first).days)]
    expected = PER_MONTH * _season(month) * len(days) / 30.4
    count = max(0, round(rng.gauss(expected, expected * 0.06)))
    zone = ZoneInfo(hours.time_zone)
    working = [d for d in days if WEEKDAYS[d.weekday()] in hours.days] or days
    start_minute, end_minute = hours.start.hour * 60 + hours.start.minute, hours.end.hour * 60 + hours.end.minute
    moments = []
    for _ in range(count):
        if rng.random() < IN_HOURS:
            day, minute = rng.choice(working), rng.randrange(start_minute, max(end_minute - 45, start_minute + 1))
        else:  # an evening or a weekend
            day, minute = rng.choice(days), rng.randrange(18 * 60, 22 * 60 + 30)
        local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, rng.randrange(60), tzinfo=zone)
        moments.append(local.astimezone(UTC))
    return sorted(m for m in moments if first <= m < end)


def _unsafe_rule(policy: ServicePolicy) -> AlertRule | None:
    """The rule that fires on one answer to an option question ("Do you feel safe right now?" "No")."""
    return next((r for r in policy.alerts if r.when.question and r.when.equals), None)


def _new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _submission(rng: random.Random, rows: _Rows, policy: ServicePolicy, at: datetime, dip: float,
                rule: AlertRule | None, duty_manager_id: str, hours: WorkingHours) -> None:
    sid = _new_id(rng)
    shares = rng.random() < SHARE_INSIGHT
    language = "cy" if rng.random() < WELSH and "cy" in policy.languages else policy.languages[0]
    rows.submissions.append({"id": sid, "service_id": policy.id, "policy_version": policy.version, "case_id": None,
                             "language": language, "submitted_at": at, "status": "active",
                             "receipt_hash": f"{rng.getrandbits(256):064x}"})
    choices = {"store": True, "contact_me": rng.random() < 0.4, "share_insight": shares}
    rows.receipts.append({"id": _new_id(rng), "submission_id": sid, "consent_version": policy.consent.version,
                          "language": language, "choices": json.dumps(choices), "given_at": at,
                          "withdrawn_at": None})
    month = at.strftime("%Y-%m")
    if shares:
        rows.contributed.append({"submission_id": sid})
        for question in insight_questions(policy):
            answer = _answer(rng, question, dip)
            if answer is not None:
                rows.contributions.append({"id": _new_id(rng), "service_id": policy.id, "month": month,
                                           "question_id": question.id, "answer": answer})
                rows.counts.append((policy.id, "", month, question.id, answer))
    if rule is not None and rng.random() < 0.085 * (0.7 + 0.3 * _season(month)):
        _alert(rng, rows, policy, rule, sid, at, duty_manager_id, hours)


def _answer(rng: random.Random, question: Question, dip: float) -> str | None:
    """One answer, or None (skipped). Options are best first, except where "yes" means we failed."""
    roll = rng.random()
    if roll < 0.04:
        return None
    if roll < 0.07 and question.prefer_not_to_say:
        return PREFER_NOT_TO_SAY
    ranked = [o for o in question.option_ids() if o != PREFER_NOT_TO_SAY]
    if question.kind == "rating":
        ranked.reverse()  # the top of the scale is the best answer
    elif question.failure_demand:
        ranked.sort(key=lambda o: o == "yes")  # having to chase us is the worse answer
    # Each worse answer is ``ratio`` times as likely as the one before: 0.4 when all is well, 0.85 at the worst.
    ratio = 0.4 + 0.45 * dip
    return rng.choices(ranked, weights=[ratio ** i for i in range(len(ranked))])[0]


def _alert(rng: random.Random, rows: _Rows, policy: ServicePolicy, rule: AlertRule, sid: str, at: datetime,
           duty_manager_id: str, hours: WorkingHours) -> None:
    raised = at + timedelta(seconds=rng.randrange(1, 5))
    # The duty manager answers within the rule's deadline (15 minutes), a little slower out of hours.
    slow = not hours.includes(raised)
    acknowledged = raised + timedelta(minutes=rng.uniform(4, 24) if slow else rng.uniform(2, 14))
    resolved = acknowledged + timedelta(minutes=rng.uniform(20, 240))
    alert_id = _new_id(rng)
    seconds = max(int((rule.acknowledge_within.after(raised) - raised).total_seconds()), 1)
    chain = effective_chain(rule.escalate, None)
    rows.alerts.append({
        "id": alert_id, "reference": "A-" + "".join(rng.choice(_REFERENCE_LETTERS) for _ in range(8)),
        "service_id": policy.id, "rule_id": rule.id, "severity": rule.severity, "submission_id": sid,
        "case_id": None, "raised_at": raised, "chain": json.dumps(chain), "acknowledge_seconds": seconds,
        "max_attempts": 8, "step": 0, "deadline_at": None, "due_at": raised + timedelta(seconds=seconds),
        "acknowledged_at": acknowledged, "acknowledged_by": duty_manager_id, "resolved_at": resolved,
        "resolved_by": duty_manager_id})
    demo: dict[str, str | int | bool | None] = {"demo_history": True}
    manager = {"actor_id": duty_manager_id, "actor_role": "duty_manager"}
    rows.events += [
        (raised, AuditEvent(action=Action.ALERT_RAISE, outcome="raised", actor_role="system", object_type="alert",
                            object_id=alert_id, detail={"rule": rule.id, "severity": rule.severity,
                                                        "submission": sid, "case": "", "service": policy.id,
                                                        **demo})),
        (raised, AuditEvent(action=Action.ALERT_NOTIFY, outcome="told", actor_role="system", object_type="alert",
                            object_id=alert_id, detail={"step": 0, "relation": chain[0],
                                                        "staff": duty_manager_id, **demo})),
        (acknowledged, AuditEvent(action=Action.FIELD_OPEN, outcome="allowed", **manager,
                                  object_type="submission", object_id=sid, field_class="safety",
                                  purpose="casework", detail={"submission": sid, "reason": "duty_manager",
                                                              **demo})),
        (acknowledged, AuditEvent(action=Action.ALERT_ACKNOWLEDGE, outcome="acknowledged", **manager,
                                  object_type="alert", object_id=alert_id, detail={"case": "", "step": 0, **demo})),
        (resolved, AuditEvent(action=Action.ALERT_RESOLVE, outcome="resolved", **manager, object_type="alert",
                              object_id=alert_id, detail={"case": "", **demo})),
    ]


class _Backdated:
    """A clock the history's audit events are stamped by: each at the moment it happened, in order."""

    def __init__(self) -> None:
        self.at = datetime.min.replace(tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


def _write(found: Services, connection: Connection, rows: _Rows) -> None:
    if rows.submissions:
        connection.execute(insert(submissions), rows.submissions)
        connection.execute(insert(consent_receipts), rows.receipts)
    if rows.contributed:
        connection.execute(insert(insight_contributed), rows.contributed)
    if rows.contributions:
        # Stored in random order, as the pipeline stores them: no row's place says whose it was.
        random.Random(SEED + 1).shuffle(rows.contributions)  # noqa: S311 - demo data, not a secret
        connection.execute(insert(insight_contributions), rows.contributions)
        add_counts(connection, rows.counts)
    if rows.alerts:
        connection.execute(insert(alerts), rows.alerts)
    _append_backdated(found, connection, rows.events)


def _append_backdated(found: Services, connection: Connection,
                      events: list[tuple[datetime, AuditEvent]]) -> None:
    """Chain the history's events into the one audit log, each stamped when it happened."""
    clock = _Backdated()
    log = AuditLog(found.config.secrets.audit_chain.value, clock)
    batch: list[AuditEvent] = []
    for moment, event in sorted(events, key=lambda pair: pair[0]):  # stable: same-moment events keep order
        if batch and moment != clock.at:
            log.append_many(connection, batch)
            batch = []
        clock.at = moment
        batch.append(event)
    if batch:
        log.append_many(connection, batch)
