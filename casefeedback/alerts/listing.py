"""Alerts as staff see them in a list: what each means, how urgent, how long is left, and in what order.

An alert is shown by the rule's ``title`` (what it means) and severity in words,
never by its rule id: a person on duty at night must know at a glance what to do
first. So the list puts overdue alerts first (acknowledgement due and nobody has,
or nobody left to tell), then open ones by how soon they are due, then
acknowledged, then resolved.

Who may see an alert at all is decided in ``policy/alert_access.py`` from the
rule's declared ``act``, or having been told of it; ``may_see`` asks it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, RowMapping, exists, func, select

from casefeedback.alerts.overdue import in_words, overdue_since
from casefeedback.auth.sessions import StaffMember
from casefeedback.policy.alert_access import ALWAYS_ACT, may_act_on_alert
from casefeedback.policy.decisions import Actor
from casefeedback.policy.model import AlertRule
from casefeedback.reading import case_facts
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import alert_recipients, alerts, cases, staff

# A rule taken out of the policy since its alert was raised still needs words.
UNKNOWN_TITLE = "An alert from a rule no longer in the policy"
UNKNOWN_GUIDANCE = "Open the feedback it was raised on, and act as your service's procedures say."


@dataclass(frozen=True)
class AlertView:
    id: str
    reference: str
    severity: str
    service_id: str
    rule_id: str  # for the code only: no page shows it
    submission_id: str
    case_id: str | None
    case_reference: str | None
    raised_at: datetime
    deadline_at: datetime | None  # this step's deadline: escalation moves it on
    due_at: datetime | None  # when acknowledgement was first due: escalation does not move it
    exhausted_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    chain: list[str]
    step: int
    title: str
    guidance: str
    checked_at: datetime  # the app's clock when this view was read: what "time left" counts from

    @property
    def state(self) -> str:
        """open, stranded (nobody left in its chain to tell, still unacknowledged), acknowledged or resolved."""
        if self.resolved_at:
            return "resolved"
        if self.acknowledged_at:
            return "acknowledged"
        # Not one more open row: nobody else will be told, so whoever reads it must act.
        return "stranded" if self.exhausted_at else "open"

    @property
    def awaits_acknowledgement(self) -> bool:
        return self.state in ("open", "stranded")

    @property
    def acknowledge_by(self) -> datetime | None:
        """When acknowledgement is (or was) due, while nobody has acknowledged it."""
        if not self.awaits_acknowledgement:
            return None
        if self.state == "stranded":  # nobody left to tell: overdue now, if its time had not yet come
            return overdue_since(self.due_at, self.exhausted_at, self.raised_at)
        return self.due_at or self.deadline_at

    @property
    def overdue(self) -> bool:
        due = self.acknowledge_by
        return self.state == "stranded" or (due is not None and due <= self.checked_at)

    @property
    def seconds_left(self) -> int | None:
        """Seconds until acknowledgement is due (negative: overdue by that much); None once acknowledged."""
        due = self.acknowledge_by
        return None if due is None else int((due - self.checked_at).total_seconds())

    @property
    def time_text(self) -> str:
        """"12 minutes left to acknowledge" or "Overdue by 12 minutes" (static/alert-countdown.js says the same)."""
        left = self.seconds_left
        if left is None:
            return ""
        if left > 0:
            return f"{in_words(timedelta(seconds=left))} left to acknowledge"
        return f"Overdue by {in_words(timedelta(seconds=-left))}"

    def sort_key(self) -> tuple[int, float]:
        if self.overdue:
            due = self.acknowledge_by or self.raised_at
            return 0, due.timestamp()  # the longest overdue first
        if self.state == "open":
            return 1, (self.acknowledge_by or self.raised_at).timestamp()
        if self.state == "acknowledged":
            return 2, -(self.acknowledged_at or self.raised_at).timestamp()
        return 3, -(self.resolved_at or self.raised_at).timestamp()


def ordered(views: list[AlertView]) -> list[AlertView]:
    return sorted(views, key=AlertView.sort_key)


def rule_of(found: Services, service_id: str, rule_id: str) -> AlertRule | None:
    policy = found.policies.service(service_id)
    return next((r for r in policy.alerts if r.id == rule_id), None) if policy else None


def views(found: Services, connection: Connection, *where: ColumnElement[bool]) -> list[AlertView]:
    acknowledger, resolver = staff.alias("ack"), staff.alias("res")
    rows = connection.execute(
        select(alerts, cases.c.reference.label("case_reference"), acknowledger.c.display_name.label("ack_name"),
               resolver.c.display_name.label("res_name"))
        .outerjoin(cases, cases.c.id == alerts.c.case_id)
        .outerjoin(acknowledger, acknowledger.c.id == alerts.c.acknowledged_by)
        .outerjoin(resolver, resolver.c.id == alerts.c.resolved_by)
        .where(*where).order_by(alerts.c.raised_at.desc())).all()
    now = found.clock()
    return [_view(found, row._mapping, now) for row in rows]


def _view(found: Services, r: RowMapping, now: datetime) -> AlertView:
    rule = rule_of(found, r["service_id"], r["rule_id"])
    return AlertView(
        r["id"], r["reference"], r["severity"], r["service_id"], r["rule_id"], r["submission_id"], r["case_id"],
        r["case_reference"], r["raised_at"], r["deadline_at"], r.get("due_at"), r["exhausted_at"],
        r["acknowledged_at"], r["ack_name"], r["resolved_at"], r["res_name"], json.loads(r["chain"]), r["step"],
        rule.title if rule and rule.title else UNKNOWN_TITLE,
        rule.guidance if rule and rule.guidance else UNKNOWN_GUIDANCE, now)


def told_clause(member_id: str) -> ColumnElement[bool]:
    return exists().where(alert_recipients.c.alert_id == alerts.c.id, alert_recipients.c.staff_id == member_id)


def actor_of(member: StaffMember) -> Actor:
    return Actor(member.id, member.role, member.team_id)


def may_see(found: Services, connection: Connection, member: StaffMember, view: AlertView, *,
            told: bool | None = None) -> bool:
    if told is None:
        told = connection.execute(select(alert_recipients.c.staff_id).where(
            alert_recipients.c.alert_id == view.id, alert_recipients.c.staff_id == member.id)).first() is not None
    return may_act_on_alert(actor_of(member), case_facts(connection, view.case_id), act_of(found, view), told=told)


def act_of(found: Services, view: AlertView) -> tuple[str, ...]:
    """The rule's declared ``act``; a rule since removed from the policy keeps only those who always act."""
    rule = rule_of(found, view.service_id, view.rule_id)
    return rule.act if rule else ALWAYS_ACT


def inbox(found: Services, member: StaffMember) -> list[AlertView]:
    """Every alert this person was told of and may act on: overdue first, then by when it is due."""
    with read(found.engine) as connection:
        mine = views(found, connection, told_clause(member.id))
        return ordered([view for view in mine if may_see(found, connection, member, view, told=True)])


def for_case(found: Services, case_id: str) -> list[AlertView]:
    """The case's alerts, in the inbox's order, for the case page (call only for a case the reader may see)."""
    with read(found.engine) as connection:
        return ordered(views(found, connection, alerts.c.case_id == case_id))


def open_count(found: Services, member_id: str) -> int:
    """Alerts this person was told of that nobody has acknowledged yet: the count on every staff page."""
    with read(found.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(alerts).where(
            alerts.c.acknowledged_at.is_(None), told_clause(member_id))).scalar_one())


def open_by_case(connection: Connection, case_ids: list[str]) -> Mapping[str, int]:
    if not case_ids:
        return {}
    rows = connection.execute(select(alerts.c.case_id, func.count()).where(
        alerts.c.case_id.in_(case_ids), alerts.c.acknowledged_at.is_(None)).group_by(alerts.c.case_id)).all()
    return {row[0]: int(row[1]) for row in rows}
