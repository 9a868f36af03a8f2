"""Turning what is in the address bar into a checked scope, or a clear message.

Filters come from a query string anyone signed in can edit. Everything is
matched against known values (services from the policy, teams from the
database, months as YYYY-MM in a sane range); anything else is refused with a
message that does not repeat what was sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from casefeedback.insight.counts import Scope

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_MONTHS = 120  # ten years: enough for any trend, small enough to draw
DEFAULT_MONTHS = 24


class FilterError(ValueError):
    """A filter that cannot be used; the message says what to change, in plain words."""


@dataclass(frozen=True)
class Choices:
    """What a filter may be: service id -> name, team id -> name."""

    services: Mapping[str, str]
    teams: Mapping[str, str]


def month_index(month: str) -> int:
    year, number = int(month[:4]), int(month[5:7])
    return year * 12 + number - 1


def month_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    return [month_text(i) for i in range(month_index(first), month_index(last) + 1)]


def _month(value: str, label: str) -> str:
    match = MONTH.match(value)
    if not match or not (FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR) or not 1 <= int(match.group(2)) <= 12:
        raise FilterError(f"The {label} month must be a real month written as year-month, for example 2026-03.")
    return value


def parse(args: Mapping[str, str], choices: Choices, now: datetime) -> Scope:
    """The scope these arguments ask for, or FilterError."""
    if not choices.services:
        raise FilterError("There are no services to show insight for.")
    service_id = args.get("service", "").strip() or sorted(choices.services)[0]
    if service_id not in choices.services:
        raise FilterError("We do not know that service. Choose one from the list.")
    team_id = args.get("team", "").strip() or None
    if team_id is not None and team_id not in choices.teams:
        raise FilterError("We do not know that team. Choose one from the list, or all teams.")
    this_month = now.strftime("%Y-%m")
    last = _month(args.get("to", "").strip() or this_month, "last")
    first = _month(args.get("from", "").strip() or month_text(month_index(last) - DEFAULT_MONTHS + 1), "first")
    if month_index(first) > month_index(last):
        raise FilterError("The first month must be on or before the last month.")
    if month_index(last) - month_index(first) + 1 > MAX_MONTHS:
        raise FilterError(f"Choose a period of at most {MAX_MONTHS // 12} years.")
    return Scope(service_id=service_id, team_id=team_id, first_month=first, last_month=last)
