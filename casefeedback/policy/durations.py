"""Strict ISO-8601 durations, as written in policy files (``P2Y``, ``P180D``, ``PT15M``).

Strict on purpose: a retention period is a legal promise, so ``P18OD`` (a letter O
for a zero), ``p1d`` or ``P1.5D`` must be refused, never guessed at.
"""

from __future__ import annotations

import json
import re

from casefeedback.policy.model import Duration

# Designators in the only order ISO-8601 allows; weeks may be combined with the
# others (the extended form). [0-9] rather than \d so that other scripts' digits
# ("P١D") are refused.
_DURATION = re.compile(
    r"P(?:(?P<years>[0-9]+)Y)?(?:(?P<months>[0-9]+)M)?(?:(?P<weeks>[0-9]+)W)?(?:(?P<days>[0-9]+)D)?"
    r"(?:T(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+)S)?)?"
)
_DATE_PARTS = ("years", "months", "weeks", "days")
_TIME_PARTS = ("hours", "minutes", "seconds")

# Long enough for any real period, short enough that int() never sees a huge number.
_MAX_TEXT = 40


def parse_duration(text: str) -> Duration:
    """Parse ``PnYnMnWnDTnHnMnS`` (integers, at least one part) or raise ValueError."""
    match = _DURATION.fullmatch(text) if len(text) <= _MAX_TEXT else None
    if match is None:
        raise ValueError(_not_a_duration(text))
    parts = match.groupdict()
    has_time = any(parts[name] is not None for name in _TIME_PARTS)
    has_date = any(parts[name] is not None for name in _DATE_PARTS)
    # "P" and "PT" match the pattern but say nothing; a "T" must introduce a time part.
    if not (has_date or has_time) or ("T" in text and not has_time):
        raise ValueError(_not_a_duration(text))

    def part(name: str) -> int:
        value = parts[name]
        return 0 if value is None else int(value)

    return Duration(
        years=part("years"),
        months=part("months"),
        weeks=part("weeks"),
        days=part("days"),
        hours=part("hours"),
        minutes=part("minutes"),
        seconds=part("seconds"),
        text=text,
    )


def _not_a_duration(text: str) -> str:
    return f"{json.dumps(text, ensure_ascii=False)} is not an ISO-8601 duration"
