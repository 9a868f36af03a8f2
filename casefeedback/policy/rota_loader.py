"""organisation.toml's ``[[rota]]`` (who is on duty, declared) and ``[alerts]`` (how often overdue alerts repeat).

A declared shift names a service, a username and two local times in the
organisation's time zone (``[working_hours] time_zone``), turned into UTC here,
so a rota written for "08:00" means eight o'clock in summer and winter alike.
Whether the service exists is checked against the service files
(``loader.load_policies``); whether the username is a person who may be on
the rota can only be known from the database, and the rota screen says so.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from casefeedback.policy.model import AlertReminders, DeclaredShift, OrganisationPolicy
from casefeedback.policy.problems import PolicyProblem
from casefeedback.policy.reader import EPOCH, Reader, Table, expected, quote

__all__ = ["check_rota_services", "read_alert_reminders", "read_rota"]

_ROTA_KEYS = ("service", "username", "from", "to")
_ALERTS_KEYS = ("remind_overdue_every",)
_USERNAME = re.compile(r"[^\s]{1,64}")
# A reminder more often than a minute is noise people learn to ignore; less often than
# a day is not a reminder. (An hour's silence on an urgent alert is already long.)
_REMIND_LIMITS = (timedelta(minutes=1), timedelta(hours=24))
# Longer than any real shift: a typo in the year, not a plan.
_LONGEST_SHIFT = timedelta(days=366)


def read_rota(r: Reader, tree: Table, time_zone: str) -> tuple[DeclaredShift, ...]:
    """Every ``[[rota]]`` entry, its times in UTC; entries with problems are recorded and left out."""
    zone = _zone(time_zone)
    shifts: list[DeclaredShift] = []
    for path, entry in r.tables(tree, "", "rota", required=False):
        r.keys(entry, path, _ROTA_KEYS)
        service = r.identifier(entry, path, "service")
        username = r.string(entry, path, "username")
        if username is not None and not _USERNAME.fullmatch(username):
            r.problem(f"{path}.username", f"{quote(username)} is not a username (up to 64 characters, no spaces)")
            username = None
        starts = _moment(r, entry, path, "from", zone)
        ends = _moment(r, entry, path, "to", zone)
        if starts is not None and ends is not None:
            if ends <= starts:
                r.problem(f"{path}.to", "must be after from")
                continue
            if ends - starts > _LONGEST_SHIFT:
                r.problem(f"{path}.to", "must be within a year of from; check the year")
                continue
        if service is None or username is None or starts is None or ends is None:
            continue
        shift = DeclaredShift(service, username, starts, ends)
        if shift in shifts:
            r.problem(path, f"the same shift for {quote(username)} is declared twice")
            continue
        shifts.append(shift)
    return tuple(shifts)


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # reported by [working_hours] itself
        return UTC


def _moment(r: Reader, entry: Table, path: str, name: str, zone: tzinfo) -> datetime | None:
    """A date and time: TOML's own (``2026-12-01T08:00:00``) or a string (``"2026-12-01T08:00"``).
    Without an offset it is local time in ``zone``."""
    key = f"{path}.{name}"
    value = r.value(entry, path, name, required=True)
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
        if moment is None or ("T" not in value and " " not in value.strip()):
            r.problem(key, f'{quote(value)} is not a date and time; write it like "2026-12-01T08:00"')
            return None
    elif name in entry:
        r.problem(key, 'must be a date and time, like "2026-12-01T08:00"')
        return None
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


def read_alert_reminders(r: Reader, tree: Table) -> AlertReminders:
    defaults = AlertReminders()
    table = r.table(tree, "", "alerts", required=False)
    if table is None:
        return defaults
    r.keys(table, "alerts", _ALERTS_KEYS)
    if "remind_overdue_every" not in table:
        return defaults
    duration = r.duration(table, "alerts", "remind_overdue_every")
    if duration is None:
        return defaults
    length = duration.after(EPOCH) - EPOCH
    shortest, longest = _REMIND_LIMITS
    if not shortest <= length <= longest:
        r.problem("alerts.remind_overdue_every", f"{quote(duration.text)} must be from 1 minute to 24 hours")
        return defaults
    return AlertReminders(remind_overdue_every=length)


def check_rota_services(organisation: OrganisationPolicy, services: set[str]) -> list[PolicyProblem]:
    """A declared shift for a service no policy file declares is a typo: nobody would be on duty."""
    source = organisation.source or "organisation.toml"
    return [PolicyProblem(source, f"rota[{i}].service",
                          f"{quote(shift.service_id)} is not a service; {expected(sorted(services))}")
            for i, shift in enumerate(organisation.rota) if shift.service_id not in services]
