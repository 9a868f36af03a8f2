"""Staff pages in words: the names people read for roles, services, relations, severities and states, and times
in the organisation's own clock.

A raw id (``duty_manager``, ``victim-support``, ``stranded``) on a screen makes a
busy person translate it in their head, and a screen reader spells it out. Each
filter here falls back to the id itself for a value it does not know (a policy
changed since the row was written), so a page never fails to render.

Times are stored in UTC; people act on them in local time. ``when`` shows the
organisation's time zone and keeps the exact UTC instant in ``<time datetime>``,
for machines and for anyone who needs it. Staff pages are English only, so these
words are not in the translation catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app, has_app_context
from markupsafe import Markup, escape

from casefeedback.policy.roles import ROLE_NAMES

DEFAULT_TIME_ZONE = "Europe/London"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sept", "Oct", "Nov", "Dec")

RELATION_NAMES = {
    "case_owner": "Case owner",
    "case_deputy": "Case deputy",
    "team_member": "Team member",
    "team_supervisor": "Team supervisor",
    "duty_manager": "Duty manager",
}
SEVERITY_NAMES = {"urgent": "Urgent", "high": "High", "routine": "Routine"}
# Every state a staff page shows, of alerts, cases, invitations, outgoing notifications and keys.
# The same word means the same thing wherever it appears, so one table serves them all.
STATE_NAMES = {
    "open": "Open",
    "stranded": "Nobody left to tell",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
    "closed": "Closed",
    "active": "Active",
    "used": "Used up",
    "expired": "Expired",
    "revoked": "Revoked",
    "pending": "Waiting to send",
    "sending": "Sending",
    "sent": "Sent",
    "failed": "Failed",
    "dead": "Could not be delivered",
    "cancelled": "Cancelled",
    "withdrawn": "Withdrawn",
    "disabled": "Disabled",
    "can be retired": "Can be retired",
    "can be retired later": "Can be retired soon",
    "old": "Old",
    "retired": "Retired",
}
TagColour = Literal["red", "green", "grey", "yellow", "blue"]
# The colour of a state's tag. Colour is never the only sign: every tag carries its words.
STATE_COLOURS: dict[str, TagColour] = {
    "open": "blue", "stranded": "red", "acknowledged": "yellow", "resolved": "green", "closed": "grey",
    "active": "green", "used": "grey", "expired": "grey", "revoked": "grey", "pending": "blue",
    "sending": "blue", "sent": "green", "failed": "red", "dead": "red", "cancelled": "grey",
    "withdrawn": "grey", "disabled": "grey", "can be retired": "yellow", "can be retired later": "blue",
    "old": "yellow", "retired": "grey",
}
SEVERITY_COLOURS: dict[str, TagColour] = {"urgent": "red", "high": "yellow", "routine": "blue"}


# Who else acts in the audit log: not staff roles, but the auditor must read them as plainly.
_OTHER_ACTORS = {"cli": "Command line", "system": "System", "retention": "Retention",
                 "receipt_holder": "The person, with their receipt code", "worker": "Worker",
                 "api_client": "API client"}


def role_label(role: str | None) -> str:
    """``duty_manager`` → "Duty manager"."""
    if not role:
        return ""
    return ROLE_NAMES.get(role) or _OTHER_ACTORS.get(role) or role.replace("_", " ").capitalize()


def service_label(service_id: str | None) -> str:
    """A service's name as its policy gives it in English; the id if no policy in force declares it."""
    if not service_id:
        return ""
    if has_app_context() and "casefeedback" in current_app.extensions:
        policy = current_app.extensions["casefeedback"].policies.service(service_id)
        if policy is not None:
            return str(policy.name.get("en") or next(iter(policy.name.values()), service_id))
    return service_id


def relation_label(relation: str | None) -> str:
    """``team_supervisor`` → "Team supervisor"."""
    if not relation:
        return ""
    return RELATION_NAMES.get(relation, relation.replace("_", " ").capitalize())


def severity_label(severity: str | None) -> str:
    if not severity:
        return ""
    return SEVERITY_NAMES.get(severity, severity.capitalize())


def state_label(state: str | None) -> str:
    """A state of an alert, case, invitation, notification or key, in words."""
    if not state:
        return ""
    return STATE_NAMES.get(state, state.replace("_", " ").capitalize())


def tag(text: str, colour: TagColour | None = None) -> Markup:
    """A tag: its words always say what its colour shows."""
    modifier = f" tag--{colour}" if colour else ""
    return Markup('<strong class="tag{}">{}</strong>').format(modifier, text)


def state_tag(state: str | None) -> Markup:
    return tag(state_label(state), STATE_COLOURS.get(state or ""))


def severity_tag(severity: str | None) -> Markup:
    return tag(severity_label(severity), SEVERITY_COLOURS.get(severity or ""))


def organisation_time_zone() -> tzinfo:
    """The organisation policy's ``[working_hours] time_zone`` (Europe/London unless it says otherwise)."""
    name = DEFAULT_TIME_ZONE
    if has_app_context() and "casefeedback" in current_app.extensions:
        name = current_app.extensions["casefeedback"].policies.organisation.working_hours.time_zone or name
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # no time zone database on this host: say UTC, never guess
        return UTC


Style = Literal["datetime", "date", "time"]


def when(moment: datetime | date | None, style: Style = "datetime") -> Markup:
    """``<time datetime="2026-12-03T14:05:00Z" class="nowrap">3 Dec 2026, 14:05</time>``, in local time.

    ``style``: "date" for the day alone, "time" for the clock time alone. A naive
    value is taken as UTC (the store only ever holds UTC); a ``date`` is shown as it is.
    """
    if moment is None:
        return Markup("")
    if not isinstance(moment, datetime):
        shown_day = f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"
        return Markup('<time datetime="{}" class="nowrap">{}</time>').format(f"{moment:%Y-%m-%d}", shown_day)
    instant = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    zone = organisation_time_zone()
    local = instant.astimezone(zone)
    day = f"{local.day} {MONTHS[local.month - 1]} {local.year}"
    clock = f"{local:%H:%M}" + (" UTC" if zone is UTC else "")
    shown = {"datetime": f"{day}, {clock}", "date": day, "time": clock}[style]
    # A day is the local day (a date has no time zone); an instant is exact, in UTC.
    machine = f"{local:%Y-%m-%d}" if style == "date" else f"{instant:%Y-%m-%dT%H:%M:%SZ}"
    return Markup('<time datetime="{}" class="nowrap">{}</time>').format(machine, escape(shown))


FILTERS: dict[str, Callable[..., object]] = {
    "role_label": role_label,
    "service_label": service_label,
    "relation_label": relation_label,
    "severity_label": severity_label,
    "state_label": state_label,
    "state_tag": state_tag,
    "severity_tag": severity_tag,
    "tag": tag,
    "when": when,
}


def install(app: Flask) -> None:
    """Every label filter on the app's templates (``{{ member.role|role_label }}``, ``{{ alert.raised_at|when }}``)."""
    for name, function in FILTERS.items():
        app.add_template_filter(function, name)
