"""How a hidden figure is explained on the insight page: once per table, in words, with the real threshold.

A figure is hidden when fewer people than the service's threshold stand behind it
(``suppression``); nothing and a few look alike on purpose, so the words say
"possibly none" and never tell the two apart.
"""

from __future__ import annotations

from collections.abc import Iterable

HIDDEN = "Hidden"


def note(threshold: int) -> str:
    """Said once under a table with hidden cells."""
    return (f"Fewer than {threshold} people (the threshold declared in this service's policy), possibly none "
            "— hidden to protect them.")


def everything(threshold: int, what: str = "month") -> str:
    """Said instead of a table whose every figure is hidden."""
    return (f"Nothing to show here yet: every {what} in this period had fewer than {threshold} people "
            "(the threshold declared in this service's policy), possibly none — hidden to protect them.")


def nothing_to_draw(empty: str, threshold: int) -> str:
    """Said instead of a chart with no figure to draw."""
    return (f"{empty}. Any figure for fewer than {threshold} people is hidden to protect them, "
            "so this can also mean only a few so far.")


def some(values: Iterable[object]) -> bool:
    """Whether any of these figures is hidden."""
    return any(v is None for v in values)


def every(values: Iterable[object]) -> bool:
    """Whether all of these figures are hidden (an empty table counts as hidden too)."""
    return all(v is None for v in values)
