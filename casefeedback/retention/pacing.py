"""Pacing a long job's writes so that people sending feedback never wait behind it.

The instance has one write lock (``storage.engine.write``). A person sending
feedback waits for whoever holds it, so a background job that writes a lot
(the retention purge, the ciphertext sweep) writes in transactions sized to
hold the lock for a few milliseconds each, measured and adjusted as it goes,
and between them lets in every writer already waiting. That matters as much
as the size: the lock (an flock) is not first come, first served, and a job
that asked again at once would win it again and again over a sender already
waiting. The lock says who waits (``writers_waiting``), so with nobody
waiting the job carries straight on, and with someone waiting it steps aside
until they have the lock. On PostgreSQL, with no such lock, it pauses a
little after each transaction instead.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine

from casefeedback.storage.engine import last_hold, write, writers_waiting

# What a transaction may hold the lock for at most, and what the sizing aims at
# for a typical one: below the limit, so that the spread around it (a page to
# allocate, the machine busy elsewhere for a moment) still stays within it.
MOST_HOLD = 0.005
AIM_HOLD = 0.003
# PostgreSQL's pause after each transaction: at least this, and at least
# PAUSE_SHARE of the time the transaction held its locks.
LEAST_PAUSE = 0.001
PAUSE_SHARE = 0.5
# On SQLCipher, stepping aside for waiting writers: look this often whether they
# have the lock yet, and give up after this long (a steady stream of senders
# must not stop the purge for good; each of them waits one transaction at most).
LET_IN_STEP = 0.0005
LET_IN_AT_MOST = 0.05
_RECENT = 5


@dataclass
class Pacer:
    """Sizes and spaces one job's write transactions; keeps how long each held the lock.

    ``size`` is how many items (keys, rows: whatever the caller counts) the
    next transaction should take; ``held`` records each transaction's time
    with the lock, in seconds, from BEGIN IMMEDIATE to the commit and release.
    A transaction costs a fixed part (statements, commit) and a part per item,
    so the size follows the median of the last few transactions (one slow one,
    the machine busy elsewhere, says little about the next) and is halved at
    once after one far over the limit.
    """

    size: int = 16
    least: int = 1
    most: int = 4096
    aim: float = AIM_HOLD
    pause: float = LEAST_PAUSE
    pause_share: float = PAUSE_SHARE
    held: list[float] = field(default_factory=list)
    stepped_aside: int = 0  # times it found a writer waiting and let them in

    @contextmanager
    def transaction(self, engine: Engine, items: int) -> Iterator[Connection]:
        """One write transaction of ``items`` items, timed; then every writer waiting is let in first."""
        began = 0.0
        with write(engine) as connection:
            began = time.perf_counter()
            yield connection
        waiting = writers_waiting(engine)  # None: PostgreSQL, with no writer lock
        # The lock's own measure where there is one (not the checkpoint write() may run after letting it go).
        held = last_hold() if waiting is not None else time.perf_counter() - began
        self.held.append(held)
        self._learn(held, items)
        if waiting is None:
            time.sleep(max(self.pause, held * self.pause_share))
            return
        given_up = time.perf_counter() + LET_IN_AT_MOST
        while waiting and time.perf_counter() < given_up:
            self.stepped_aside += 1
            time.sleep(LET_IN_STEP)
            waiting = writers_waiting(engine)

    def _learn(self, held: float, items: int) -> None:
        if held > 2 * MOST_HOLD:
            size = items // 2
        else:
            typical = statistics.median(self.held[-_RECENT:] or [held])
            if typical > 0.8 * MOST_HOLD:
                size = int(self.size * 0.8)
            elif typical < self.aim:
                size = int(self.size * 1.15) + 1
            else:
                size = self.size
        self.size = max(self.least, min(self.most, size))

    def summary(self) -> dict[str, float]:
        """Transactions; the median, 99th percentile and longest time holding the lock, in milliseconds;
        and the share of transactions within ``MOST_HOLD``."""
        held = sorted(self.held)
        if not held:
            return {"transactions": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "within_limit": 1.0}
        p99 = statistics.quantiles(held, n=100)[98] if len(held) >= 100 else held[-1]
        return {"transactions": len(held), "p50_ms": round(statistics.median(held) * 1000, 2),
                "p99_ms": round(p99 * 1000, 2), "max_ms": round(held[-1] * 1000, 2),
                "within_limit": round(sum(h <= MOST_HOLD for h in held) / len(held), 3)}
