"""organisation.toml: rules that hold across every service, not within one.

How long staff sessions last, how break-glass works, and who reads a case's
recorded outcomes. Every key is optional (the defaults are in ``model``); the
limits below stop a typo from quietly weakening them.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from casefeedback.policy.assisted_loader import ASSISTED_KEYS, read_assisted
from casefeedback.policy.legal_hold_loader import read_legal_hold
from casefeedback.policy.model import (
    WEEKDAYS,
    AuditRules,
    BackupRules,
    BreakGlassRules,
    KeyRules,
    OrganisationPolicy,
    OutcomeRules,
    StaffSessionRules,
    WorkingHours,
)
from casefeedback.policy.problems import PolicyError
from casefeedback.policy.reader import EPOCH, Reader, Table, parse_toml, quote, read_bytes
from casefeedback.policy.rota_loader import read_alert_reminders, read_rota

__all__ = ["load_organisation_file", "parse_organisation"]

_ORGANISATION_KEYS = ("staff_sessions", "break_glass", "outcomes", "working_hours", "audit", "backups", "keys", "rota",
                      "alerts", "legal_hold")
_STAFF_SESSION_KEYS = ("idle_timeout", "idle_warning", "absolute_timeout", "reauthenticate_within")
_BREAK_GLASS_KEYS = ("lasts", "read_as")
_OUTCOME_KEYS = ("read", "keep")
_WORKING_HOURS_KEYS = ("start", "end", "days", "time_zone")
_CLOCK_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
# (shortest, longest) for each duration; a session that outlives a long shift, or
# break-glass that lasts half a day, is not "limited" any more.
_ORGANISATION_LIMITS: dict[str, tuple[timedelta, timedelta]] = {
    "staff_sessions.idle_timeout": (timedelta(minutes=1), timedelta(hours=2)),
    "staff_sessions.idle_warning": (timedelta(seconds=30), timedelta(minutes=30)),
    "staff_sessions.absolute_timeout": (timedelta(minutes=5), timedelta(hours=12)),
    "staff_sessions.reauthenticate_within": (timedelta(minutes=1), timedelta(minutes=30)),
    "break_glass.lasts": (timedelta(minutes=1), timedelta(hours=4)),
    # The longest a cut of the newest audit events can go unnoticed (SECURITY.md).
    "audit.checkpoint_every": (timedelta(minutes=1), timedelta(hours=1)),
    # The erasure horizon is keep + rotate_every (SECURITY.md): a year is the longest
    # either may add to how long an erased answer survives in a copy.
    "backups.every": (timedelta(hours=1), timedelta(days=7)),
    "backups.keep": (timedelta(days=1), timedelta(days=366)),
    "keys.rotate_every": (timedelta(days=1), timedelta(days=366)),
    # A week at least: each re-key copies the whole database once.
    "keys.rekey_database_every": (timedelta(days=7), timedelta(days=3660)),
}


def load_organisation_file(path: Path) -> OrganisationPolicy:
    """Load ``organisation.toml``, or raise PolicyError listing every problem in it."""
    data = read_bytes(path)
    return parse_organisation(data, str(path))


def parse_organisation(data: bytes, source: str) -> OrganisationPolicy:
    reader = Reader(source)
    tree = parse_toml(data, source)
    reader.keys(tree, "", _ORGANISATION_KEYS + ASSISTED_KEYS)
    sessions = _staff_sessions(reader, tree)
    break_glass = _break_glass(reader, tree)
    outcomes = _outcomes(reader, tree)
    working_hours = _working_hours(reader, tree)
    audit = _audit(reader, tree)
    backups, keys = _backups(reader, tree), _keys(reader, tree)
    rota = read_rota(reader, tree, working_hours.time_zone)
    reminders = read_alert_reminders(reader, tree)
    legal_hold = read_legal_hold(reader, tree)
    assisted = read_assisted(reader, tree)
    if reader.problems:
        raise PolicyError(reader.problems)
    return OrganisationPolicy(staff_sessions=sessions, break_glass=break_glass, outcomes=outcomes,
                              working_hours=working_hours, audit=audit, backups=backups, keys=keys, rota=rota,
                              legal_hold=legal_hold,
                              alerts=reminders, assisted=assisted,
                              source=source)


def _span(r: Reader, table: Table, path: str, name: str, default: timedelta) -> timedelta:
    """A duration within its limits; the default if absent (or wrong, the problem being recorded)."""
    if name not in table:
        return default
    duration = r.duration(table, path, name)
    if duration is None:
        return default
    length = duration.after(EPOCH) - EPOCH
    shortest, longest = _ORGANISATION_LIMITS[f"{path}.{name}"]
    if not shortest <= length <= longest:
        r.problem(f"{path}.{name}", f"{quote(duration.text)} must be from {_human(shortest)} to {_human(longest)}")
        return default
    return length


def _human(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds % 86400 == 0 and seconds > 86400:
        return f"{seconds // 86400} days"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour{'s' if seconds != 3600 else ''}"
    if seconds % 60 == 0:
        return f"{seconds // 60} minute{'s' if seconds != 60 else ''}"
    return f"{seconds} seconds"


def _staff_sessions(r: Reader, tree: Table) -> StaffSessionRules:
    defaults = StaffSessionRules()
    table = r.table(tree, "", "staff_sessions", required=False)
    if table is None:
        return defaults
    path = "staff_sessions"
    r.keys(table, path, _STAFF_SESSION_KEYS)
    rules = StaffSessionRules(
        idle_timeout=_span(r, table, path, "idle_timeout", defaults.idle_timeout),
        idle_warning=_span(r, table, path, "idle_warning", defaults.idle_warning),
        absolute_timeout=_span(r, table, path, "absolute_timeout", defaults.absolute_timeout),
        reauthenticate_within=_span(r, table, path, "reauthenticate_within", defaults.reauthenticate_within),
    )
    if rules.idle_warning >= rules.idle_timeout:
        # The warning must come while there is still time to act on it.
        r.problem(f"{path}.idle_warning", "must be shorter than idle_timeout")
    if rules.idle_timeout > rules.absolute_timeout:
        r.problem(f"{path}.idle_timeout", "must not be longer than absolute_timeout")
    return rules


def _break_glass(r: Reader, tree: Table) -> BreakGlassRules:
    defaults = BreakGlassRules()
    table = r.table(tree, "", "break_glass", required=False)
    if table is None:
        return defaults
    path = "break_glass"
    r.keys(table, path, _BREAK_GLASS_KEYS)
    read_as = r.relations(table, path, "read_as") if "read_as" in table else defaults.read_as
    return BreakGlassRules(lasts=_span(r, table, path, "lasts", defaults.lasts),
                           read_as=defaults.read_as if read_as is None else read_as)


def _outcomes(r: Reader, tree: Table) -> OutcomeRules:
    defaults = OutcomeRules()
    table = r.table(tree, "", "outcomes", required=False)
    if table is None:
        return defaults
    path = "outcomes"
    r.keys(table, path, _OUTCOME_KEYS)
    read = r.relations(table, path, "read") if "read" in table else defaults.read
    keep = r.duration(table, path, "keep", default=defaults.keep.text)
    return OutcomeRules(read=defaults.read if read is None else read, keep=keep or defaults.keep)


def _audit(r: Reader, tree: Table) -> AuditRules:
    defaults = AuditRules()
    table = r.table(tree, "", "audit", required=False)
    if table is None:
        return defaults
    r.keys(table, "audit", ("checkpoint_every",))
    return AuditRules(checkpoint_every=_span(r, table, "audit", "checkpoint_every", defaults.checkpoint_every))


def _backups(r: Reader, tree: Table) -> BackupRules:
    defaults = BackupRules()
    table = r.table(tree, "", "backups", required=False)
    if table is None:
        return defaults
    r.keys(table, "backups", ("every", "keep"))
    rules = BackupRules(every=_span(r, table, "backups", "every", defaults.every),
                        keep=_span(r, table, "backups", "keep", defaults.keep))
    if rules.keep < rules.every:
        # Else a backup would be pruned before the next one is made: there would be none.
        r.problem("backups.keep", "must not be shorter than backups.every")
    return rules


def _keys(r: Reader, tree: Table) -> KeyRules:
    defaults = KeyRules()
    table = r.table(tree, "", "keys", required=False)
    if table is None:
        return defaults
    r.keys(table, "keys", ("rotate_every", "rekey_database_every"))
    rekey = (_span(r, table, "keys", "rekey_database_every", timedelta(0))
             if "rekey_database_every" in table else None)
    return KeyRules(rotate_every=_span(r, table, "keys", "rotate_every", defaults.rotate_every),
                    rekey_database_every=rekey or None)


def _working_hours(r: Reader, tree: Table) -> WorkingHours:
    """When reads are expected; the auditor's log flags a read outside them."""
    defaults = WorkingHours()
    table = r.table(tree, "", "working_hours", required=False)
    if table is None:
        return defaults
    path = "working_hours"
    r.keys(table, path, _WORKING_HOURS_KEYS)
    start = _clock_time(r, table, path, "start", defaults.start)
    end = _clock_time(r, table, path, "end", defaults.end)
    if end <= start:
        r.problem(f"{path}.end", f"{end:%H:%M} must be later than start ({start:%H:%M}) on the same day")
    return WorkingHours(start=start, end=end, days=_days(r, table, path, defaults.days),
                        time_zone=_zone(r, table, path, defaults.time_zone))


def _clock_time(r: Reader, table: Table, path: str, name: str, default: time) -> time:
    text = r.string(table, path, name, required=False)
    if text is None:
        return default
    match = _CLOCK_TIME.fullmatch(text)
    if match is None:
        r.problem(f"{path}.{name}", f"{quote(text)} is not a time of day; write it as 24-hour HH:MM, e.g. \"08:00\"")
        return default
    return time(int(match.group(1)), int(match.group(2)))


def _days(r: Reader, table: Table, path: str, default: tuple[str, ...]) -> tuple[str, ...]:
    days = r.strings(table, path, "days", required=False)
    if days is None:
        return default
    if not days:
        r.problem(f"{path}.days", "must list at least one day, or every read would be flagged")
        return default
    for i, day in enumerate(days):
        if day not in WEEKDAYS:
            r.problem(f"{path}.days[{i}]", f"{quote(day)} is not a day; expected one of: {', '.join(WEEKDAYS)}")
        elif day in days[:i]:
            r.problem(f"{path}.days[{i}]", f"{quote(day)} is listed twice")
    return tuple(d for d in WEEKDAYS if d in days)


def _zone(r: Reader, table: Table, path: str, default: str) -> str:
    name = r.string(table, path, "time_zone", required=False)
    if name is None:
        return default
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(f"{path}.time_zone", f"{quote(name)} is not a time zone this machine knows; "
                                       'use an IANA name such as "Europe/London"')
        return default
    return name
