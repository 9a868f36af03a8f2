"""The periods "You said, we did" is published for: a month ("2026-11") or a quarter ("2026-Q4").

Parsed strictly, so that a typing slip is a clear message rather than a change
filed under the wrong time, and shown in the reader's language: month names
from the locale data (Flask-Babel), quarters as whole sentences, because Welsh
mutates the month after "i" ("Hydref i Ragfyr").
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import flask_babel  # type: ignore[import-untyped]

from casefeedback.language import _

_MONTH = re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})")
_QUARTER = re.compile(r"(?P<year>\d{4})-[Qq](?P<quarter>[1-4])")
FIRST_YEAR = 2000


class PeriodError(ValueError):
    """Not a period a change can be published for; the message says what is wanted."""


def parse_period(text: str, now: datetime) -> tuple[str, datetime]:
    """(the period as stored, the moment it starts), or PeriodError. A period that has not started is refused:
    what a service did cannot be written before the time it is about."""
    typed = text.strip()
    month = _MONTH.fullmatch(typed)
    quarter = _QUARTER.fullmatch(typed)
    if month is not None and 1 <= int(month["month"]) <= 12:
        year, first_month, canonical = int(month["year"]), int(month["month"]), typed
    elif quarter is not None:
        year, first_month = int(quarter["year"]), 3 * int(quarter["quarter"]) - 2
        canonical = f"{year}-Q{quarter['quarter']}"
    else:
        raise PeriodError("Enter a month, like 2026-11, or a quarter, like 2026-Q4.")
    starts = datetime(year, first_month, 1, tzinfo=UTC)
    if year < FIRST_YEAR or starts > now:
        raise PeriodError(f"Enter a month or quarter from {FIRST_YEAR} up to now: a change is published for a "
                          "time that has already begun.")
    return canonical, starts


def period_text(period: str) -> str:
    """The period in the page's language: "November 2026", "October to December 2026"."""
    quarter = _QUARTER.fullmatch(period)
    if quarter is not None:
        year = int(quarter["year"])
        return {
            "1": _("January to March %(year)s", year=year),
            "2": _("April to June %(year)s", year=year),
            "3": _("July to September %(year)s", year=year),
            "4": _("October to December %(year)s", year=year),
        }[quarter["quarter"]]
    month = _MONTH.fullmatch(period)
    if month is None:
        return period
    return str(flask_babel.format_date(date(int(month["year"]), int(month["month"]), 1), "LLLL y"))
