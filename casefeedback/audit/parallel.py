"""Walking a long audit chain on every core.

Each event's MAC covers the previous event's stored MAC, so an event can be
checked knowing only its predecessor's row: the chain splits into ranges, each
process walks one from the stored MAC just before it, and every link is still
checked exactly once — a range's first event against the last event of the
range before, which that range's own walk verifies. Only worth it for long
logs: starting a process costs about as much as walking 50,000 events.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from casefeedback.audit.log import GENESIS_MAC, WALK_SQL, VerifyReport, walk_from

# Below this many events one process is faster than starting others.
PARALLEL_FROM = 200_000
_RANGE_SQL = WALK_SQL.replace("ORDER BY seq", "WHERE seq BETWEEN ? AND ? ORDER BY seq")


def workers() -> int:
    """The cores this process may use (at most 8), or CASEFEEDBACK_VERIFY_PROCESSES (1: one walk)."""
    setting = os.environ.get("CASEFEEDBACK_VERIFY_PROCESSES", "")
    if setting.isdigit() and int(setting) > 0:
        return int(setting)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(8, cores))


def walk_in_parallel(database: Path, database_key: bytes, chain_key: bytes, anchors: Mapping[int, str],
                     last_seq: int, head: tuple[int, str], processes: int) -> VerifyReport:
    """The same verdict as ``walk`` over the whole log, with ranges walked in ``processes`` processes."""
    size = -(-last_seq // (processes * 2))  # two ranges per process evens out uneven progress
    bounds = [(lo, min(last_seq, lo + size - 1)) for lo in range(1, last_seq + 1, size)]
    jobs = [(str(database), database_key, chain_key, lo, hi, {s: m for s, m in anchors.items() if lo <= s <= hi})
            for lo, hi in bounds]
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        reports = list(pool.map(_walk_range, jobs))
    checked, previous = 0, GENESIS_MAC
    for (_lo, hi), report in zip(bounds, reports, strict=True):
        if not report.ok:
            return VerifyReport(False, checked + report.checked, report.first_bad_seq, report.problem, report.kind,
                                report.last_seq, report.last_mac)
        if report.last_seq != hi:  # the range ended early: its last events are gone
            return VerifyReport(False, checked + report.checked, report.last_seq + 1,
                                f"event {report.last_seq + 1} is missing (deleted)", "deleted", report.last_seq,
                                report.last_mac)
        checked, previous = checked + report.checked, report.last_mac
    # The end of the log against its head and every anchor, exactly as the single walk ends.
    end = walk_from(chain_key, [], anchors, head=head, start=(last_seq, previous))
    return VerifyReport(end.ok, checked, end.first_bad_seq, end.problem, end.kind, end.last_seq, end.last_mac)


def _walk_range(job: tuple[str, bytes, bytes, int, int, dict[int, str]]) -> VerifyReport:
    database, database_key, chain_key, lo, hi, anchors = job
    from casefeedback.storage.dialect import open_readonly

    connection = open_readonly(Path(database), database_key)
    try:
        start: tuple[int, str] | None = None
        if lo > 1:
            before = connection.execute("SELECT mac FROM audit_events WHERE seq = ?", (lo - 1,)).fetchone()
            if before is None:
                return VerifyReport(False, 0, lo - 1, f"event {lo - 1} is missing (deleted)", "deleted", lo - 2)
            start = (lo - 1, str(before[0]))
        cursor = connection.execute(_RANGE_SQL, (lo, hi))
        return walk_from(chain_key, _rows(cursor), anchors, head=None, start=start)
    finally:
        connection.close()


def _rows(cursor: Any) -> Iterator[Sequence[Any]]:
    while batch := cursor.fetchmany(10_000):
        yield from batch
