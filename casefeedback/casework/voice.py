"""Failure demand and the voice of staff: what staff record about the service itself, never about a person.

Failure demand is marked on a case (a member of staff must be able to see the
case), but what is stored is only the service, the category from the policy,
the channel and the day: not the case, not the member of staff, no words. The
staff voice is the same, with how much it got in the way. Both are counted in
insight with the same small-number suppression as what service users said.
The audit event (who marked what, on which case) is the accountability; the
tables are the de-identified record.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import insert

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import NotAllowed, case_event, case_or_not_found
from casefeedback.intake.whole_checks import Invalid
from casefeedback.policy.assisted import WEB_CHANNEL, AssistedRules, may_record_staff_voice
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import failure_demand, staff_voice

__all__ = ["Invalid", "case_to_mark", "mark_failure_demand", "record_staff_voice", "voice_rules"]

# How far back a contact can be recorded: long enough for a week's catching up, short enough to be remembered.
LONGEST_AGO = timedelta(days=90)


def voice_rules(found: Services, member: StaffMember) -> AssistedRules:
    """The organisation's categories; NotAllowed for a role that does not serve the public."""
    rules = found.policies.organisation.assisted
    if not may_record_staff_voice(rules, member.role):
        raise NotAllowed()
    return rules


def case_to_mark(found: Services, member: StaffMember, case_id: str) -> str:
    """The reference of a case this member may mark failure demand on (normal access only); else CaseNotFound."""
    voice_rules(found, member)
    with read(found.engine) as connection:
        return case_or_not_found(connection, member, case_id).reference


def mark_failure_demand(found: Services, member: StaffMember, case_id: str, *, category: str,
                        channel: str | None, day: date | None) -> None:
    """Record one failure-demand contact on a case this member may see (normal access); Invalid by field."""
    rules = voice_rules(found, member)
    errors: dict[str, str] = {}
    if rules.failure_demand_category(category) is None:
        errors["category"] = "Choose what kind of failure demand it was."
    _check_channel(rules, channel, errors)
    occurred = _day(found, day, errors)
    with write(found.engine) as connection:
        # Normal access only (no ``now``): break-glass is for reading, never for recording.
        case = case_or_not_found(connection, member, case_id)
        if errors:
            raise Invalid(errors)
        connection.execute(insert(failure_demand).values(
            id=str(uuid.uuid4()), service_id=case.service_id, category=category, channel=channel or None,
            occurred_at=occurred))
        found.audit.append(connection, case_event(member, Action.FAILURE_DEMAND_MARK, case_id,
                                                  category=category, channel=channel or None))


def record_staff_voice(found: Services, member: StaffMember, *, service_id: str, category: str, impact: str,
                       channel: str | None, day: date | None) -> None:
    """Record what got in the way of serving someone, for a service; Invalid by field."""
    rules = voice_rules(found, member)
    errors: dict[str, str] = {}
    if found.policies.service(service_id) is None:
        errors["service"] = "Choose a service."
    if rules.staff_voice_category(category) is None:
        errors["category"] = "Choose what got in the way."
    if rules.impact(impact) is None:
        errors["impact"] = "Choose how much it got in the way."
    _check_channel(rules, channel, errors)
    occurred = _day(found, day, errors)
    if errors:
        raise Invalid(errors)
    with write(found.engine) as connection:
        connection.execute(insert(staff_voice).values(
            id=str(uuid.uuid4()), service_id=service_id, category=category, impact=impact,
            channel=channel or None, occurred_at=occurred))
        found.audit.append(connection, AuditEvent(
            action=Action.STAFF_VOICE, outcome="recorded", actor_id=member.id, actor_role=member.role,
            object_type="service", object_id=service_id,
            detail={"category": category, "impact": impact, "channel": channel or None}))


def _check_channel(rules: AssistedRules, channel: str | None, errors: dict[str, str]) -> None:
    if channel and channel != WEB_CHANNEL and rules.channel(channel) is None:
        errors["channel"] = "Choose one of the channels listed, or leave it as not recorded."


def _day(found: Services, day: date | None, errors: dict[str, str]) -> datetime:
    """The day as midnight UTC: a day, never a moment, so a row cannot be matched to a log line by its time."""
    today = found.clock().astimezone(UTC).date()
    chosen = day or today
    if chosen > today:
        errors["day"] = "The day cannot be in the future."
    elif today - chosen > LONGEST_AGO:
        errors["day"] = f"The day must be within the last {LONGEST_AGO.days} days."
    return datetime.combine(chosen, time(0), tzinfo=UTC)
