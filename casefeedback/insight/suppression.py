"""Small-number suppression that differencing cannot undo.

The threat: a figure under the threshold (say 3 people in one team in March
answered "no") can point at people. Hiding the cell is not enough if a total,
another filter or another period still includes it: total minus the cells shown
gives it back. Classic secondary suppression hides more cells of one table, but
cannot stop differencing across filters and periods (all teams minus the other
teams; January–March minus January–February).

So suppression is applied once, at the finest grain there is — one base count
per service, team, month, question and answer — and every figure shown anywhere
(a distribution, a monthly total, a grand total, an export) is a sum of base
counts that were themselves published. A suppressed base count enters no
figure at all, so no sum or difference of figures contains it. Each published
base count is at least the threshold, so any figure is either 0 or at least the
threshold; 0 is shown as suppressed too, so "nobody" and "a few" look alike.
Totals are always the sum of the cells shown beside them: they reveal nothing
the cells do not.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
G = TypeVar("G", bound=Hashable)


def publish(base: Mapping[K, int], threshold: int) -> dict[K, int]:
    """The base counts that may be used at all: those at or over the threshold."""
    return {key: n for key, n in base.items() if n >= threshold}


def publish_pairs(base: Mapping[K, tuple[int, int]], threshold: int) -> dict[K, tuple[int, int]]:
    """For a rate (part, whole): publish a base only when both the part and the rest reach the threshold,
    so neither "how many said yes" nor "how many did not" is ever a small number."""
    return {key: (part, whole) for key, (part, whole) in base.items()
            if part >= threshold and whole - part >= threshold}


def roll_up(published: Mapping[K, int], group: Callable[[K], G]) -> dict[G, int]:
    """Sum published base counts by group. Never pass unpublished counts here."""
    sums: dict[G, int] = {}
    for key, n in published.items():
        g = group(key)
        sums[g] = sums.get(g, 0) + n
    return sums


def shown(total: int, threshold: int) -> int | None:
    """The figure to show, or None for "suppressed". A sum of published counts is 0 or >= threshold;
    the check is kept anyway, so a mistake upstream fails safe rather than showing a small number."""
    return total if total >= threshold else None


def total_of(figures: Iterable[int | None]) -> int:
    """The sum of the figures shown (suppressed ones count as nothing)."""
    return sum(f for f in figures if f is not None)
