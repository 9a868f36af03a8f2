"""organisation.toml: rules that hold across every service, not within one.

How long staff sessions last, how break-glass works, and who reads a case's
recorded outcomes. Every key is optional (the defaults are in ``model``); the
limits below stop a typo from quietly weakening them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from casefeedback.policy.model import BreakGlassRules, OrganisationPolicy, OutcomeRules, StaffSessionRules
from casefeedback.policy.problems import PolicyError
from casefeedback.policy.reader import EPOCH, Reader, Table, parse_toml, quote, read_bytes

__all__ = ["load_organisation_file", "parse_organisation"]

_ORGANISATION_KEYS = ("staff_sessions", "break_glass", "outcomes")
_STAFF_SESSION_KEYS = ("idle_timeout", "idle_warning", "absolute_timeout", "reauthenticate_within")
_BREAK_GLASS_KEYS = ("lasts", "read_as")
_OUTCOME_KEYS = ("read", "keep")
# (shortest, longest) for each duration; a session that outlives a long shift, or
# break-glass that lasts half a day, is not "limited" any more.
_ORGANISATION_LIMITS: dict[str, tuple[timedelta, timedelta]] = {
    "staff_sessions.idle_timeout": (timedelta(minutes=1), timedelta(hours=2)),
    "staff_sessions.idle_warning": (timedelta(seconds=30), timedelta(minutes=30)),
    "staff_sessions.absolute_timeout": (timedelta(minutes=5), timedelta(hours=12)),
    "staff_sessions.reauthenticate_within": (timedelta(minutes=1), timedelta(minutes=30)),
    "break_glass.lasts": (timedelta(minutes=1), timedelta(hours=4)),
}


def load_organisation_file(path: Path) -> OrganisationPolicy:
    """Load ``organisation.toml``, or raise PolicyError listing every problem in it."""
    data = read_bytes(path)
    return parse_organisation(data, str(path))


def parse_organisation(data: bytes, source: str) -> OrganisationPolicy:
    reader = Reader(source)
    tree = parse_toml(data, source)
    reader.keys(tree, "", _ORGANISATION_KEYS)
    sessions = _staff_sessions(reader, tree)
    break_glass = _break_glass(reader, tree)
    outcomes = _outcomes(reader, tree)
    if reader.problems:
        raise PolicyError(reader.problems)
    return OrganisationPolicy(staff_sessions=sessions, break_glass=break_glass, outcomes=outcomes, source=source)


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
