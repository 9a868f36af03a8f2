"""Walking long audit chains on every core.

Chains are independent, and within one an event can be checked knowing only
its predecessor's stored MAC: so the log splits into (chain, position range)
jobs, each process walks one from the stored MAC just before it, and every link
is still checked exactly once — a range's first event against the last event
of the range before, which that range's own walk verifies. Only worth it for
long logs: a new process spends about as long importing the app as walking
100,000 events (this one walks jobs meanwhile, so none waits for it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from casefeedback.audit.walk import (
    RANGE_SQL,
    WALK_SQL,
    Heads,
    KeyedMac,
    Link,
    ProgressHook,
    VerifyReport,
    batches,
    encoded_range_sql,
    events_in,
    exact_rows,
    finish,
    walk_chain,
    walk_log,
)

# Below this many events one process is faster than starting others.
PARALLEL_FROM = 200_000
_SPANS = "SELECT chain, min(chain_seq), max(chain_seq) FROM audit_events GROUP BY chain ORDER BY chain"
# Jobs are small enough that the processes finish close together on a shared machine, and large enough
# that opening the database for each (a few milliseconds) is noise.
RANGES_PER_PROCESS = 8
SMALLEST_RANGE = 20_000
Job = tuple[str, bytes, bytes, int, int, int, dict[int, str]]
Result = tuple[VerifyReport | None, Link, int]


def workers() -> int:
    """The cores this process may use (at most 8), or CASEFEEDBACK_VERIFY_PROCESSES (1: one walk)."""
    setting = os.environ.get("CASEFEEDBACK_VERIFY_PROCESSES", "")
    if setting.isdigit() and int(setting) > 0:
        return int(setting)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(8, cores))


def range_size(total: int, processes: int) -> int:
    """How many positions of a chain one job walks."""
    return max(1, SMALLEST_RANGE, -(-total // (processes * RANGES_PER_PROCESS)))


def _clean(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def walk_in_parallel(database: Path, database_key: bytes, chain_key: bytes, anchors: Mapping[int, Mapping[int, str]],
                     heads: Heads, processes: int, progress: ProgressHook | None = None) -> VerifyReport:
    """The same verdict as ``walk_log`` over the whole log, with (chain, range) jobs in ``processes`` processes.

    ``progress``: told (events verified, events in the chains) as each job ends, here or in a worker."""
    from casefeedback.storage.dialect import forgiving_text, open_readonly

    connection = open_readonly(database, database_key)
    try:
        # Forgiving here: a chain stored as text that is not UTF-8 is named by the single walk, not a crash.
        with forgiving_text(connection):
            spans = connection.execute(_SPANS).fetchall()
            if not all(_clean(c) and _clean(lo) and _clean(hi) and lo >= 1 for c, lo, hi in spans):
                # Something stored a chain or position that no writer makes: the single walk names it exactly.
                return walk_log(chain_key, batches(connection.execute(WALK_SQL), progress, events_in(heads)),
                                heads, anchors)
    finally:
        connection.close()
    total = sum(hi for _c, _lo, hi in spans)
    size = range_size(total, processes)
    jobs: list[Job] = []
    for chain, _lo, last in spans:
        marks = anchors.get(chain, {})
        for lo in range(1, last + 1, size):
            hi = min(last, lo + size - 1)
            jobs.append((str(database), database_key, chain_key, chain, lo, hi,
                         {p: m for p, m in marks.items() if lo <= p <= hi}))
    # A spawned process spends its first half second importing the app: so this one walks too, from the far
    # end of the list, every job no worker has taken yet, and no core waits for another's start.
    with ProcessPoolExecutor(processes - 1, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_walk_range, job) for job in jobs]
        own: dict[int, Result] = {}
        if progress is not None:
            progress(0, total)
        for index in reversed(range(len(jobs))):
            if not futures[index].cancel():  # a worker has it (and, queued in order, every job before it)
                break
            own[index] = _walk_range(jobs[index])
            if progress is not None:
                progress(_walked(own, futures), total)
        if progress is not None:  # told here, in this process, as the workers' jobs end: never from a thread
            for _ended in as_completed(futures[index] for index in range(len(jobs)) if index not in own):
                progress(_walked(own, futures), total)
        results = [own[index] if index in own else futures[index].result() for index in range(len(jobs))]
    checked = 0
    ends: dict[int, Link] = {}
    for job, (broken, end, done) in zip(jobs, results, strict=True):
        chain, hi = job[3], job[5]
        checked += done
        if broken is not None:
            return VerifyReport(False, checked, broken.first_bad_seq, broken.problem, broken.kind,
                                chain=broken.chain, position=broken.position)
        if end.position != hi:  # the range ended early: its last events are gone
            return VerifyReport(False, checked, None, f"chain {chain}: its event {end.position + 1} is missing "
                                "(deleted)", "deleted", chain=chain, position=end.position + 1)
        ends[chain] = end
    # Every chain's end against its head and every anchor, exactly as the single walk ends.
    return finish(ends, heads, anchors, checked)


def _walked(own: Mapping[int, Result], futures: list[Future[Result]]) -> int:
    """Events verified by the jobs ended so far (one sum a job, so a few dozen a walk)."""
    ended = (future.result() for future in futures
             if future.done() and not future.cancelled() and future.exception() is None)
    return sum(result[2] for result in own.values()) + sum(result[2] for result in ended)


def _walk_range(job: Job) -> Result:
    database, database_key, chain_key, chain, lo, hi, anchors = job
    from casefeedback.storage.dialect import forgiving_text, open_readonly, undecodable_text

    connection = open_readonly(Path(database), database_key)
    try:
        try:
            return _walk_range_on(connection, chain_key, chain, lo, hi, anchors)
        except Exception as error:
            if not undecodable_text(error):
                raise
        with forgiving_text(connection):  # text that is not UTF-8 was stored: walk again to name where
            return _walk_range_on(connection, chain_key, chain, lo, hi, anchors)
    finally:
        connection.close()


def _walk_range_on(connection: Any, chain_key: bytes, chain: int, lo: int, hi: int, anchors: dict[int, str]
                   ) -> Result:
    from casefeedback.storage.dialect import audit_mac_input_columns

    start: Link | None = None
    if lo > 1:
        before = connection.execute("SELECT mac, seq FROM audit_events WHERE chain = ? AND chain_seq = ?",
                                    (chain, lo - 1)).fetchone()
        if before is None:
            return (VerifyReport(False, 0, None, f"chain {chain}: its event {lo - 1} is missing (deleted)",
                                 "deleted", chain=chain, position=lo - 1), Link(lo - 2, ""), 0)
        start = Link(lo - 1, str(before[0]), int(before[1]) if _clean(before[1]) else 0)
    columns = audit_mac_input_columns("sqlite")  # open_readonly opens SQLCipher files only
    if columns is None:
        cursor = connection.execute(RANGE_SQL, (chain, lo, hi))
        return walk_chain(KeyedMac(chain_key), chain, batches(cursor), anchors, start)
    cursor = connection.execute(encoded_range_sql(columns), (chain, lo, hi))
    return walk_chain(KeyedMac(chain_key), chain, batches(cursor), anchors, start, exact_rows(connection))
