"""How long write transactions hold the writer lock: off unless CASEFEEDBACK_WRITE_STATS names a directory.

Every write serialises the whole instance (one SQLite writer, and the kernel
lock in ``dialect.WriterLock`` in front of it), so the time spent inside it
caps how far a second worker can help. The benchmarks switch this on to show
that time beside the CPU each request costs. Each process keeps running totals
and overwrites one fixed-width record in a file of its own (``<pid>.stats``)
after every write: one ``pwrite`` of 84 bytes, no log line, nothing per
request that grows. Only counts and durations are recorded, never what was
written.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["STATS_ENV", "LockTotals", "WriteStats", "from_environment", "read_totals"]

STATS_ENV = "CASEFEEDBACK_WRITE_STATS"
_FIELDS = 4
_WIDTH = 20  # digits per field: nanoseconds for centuries


@dataclass(frozen=True)
class LockTotals:
    """Sums over write transactions: how many, time holding the lock, CPU inside it, and the process's CPU."""

    writes: int = 0
    held_ns: int = 0
    held_cpu_ns: int = 0
    process_cpu_ns: int = 0

    def __add__(self, other: LockTotals) -> LockTotals:
        return LockTotals(self.writes + other.writes, self.held_ns + other.held_ns,
                          self.held_cpu_ns + other.held_cpu_ns, self.process_cpu_ns + other.process_cpu_ns)

    def __sub__(self, other: LockTotals) -> LockTotals:
        return LockTotals(self.writes - other.writes, self.held_ns - other.held_ns,
                          self.held_cpu_ns - other.held_cpu_ns, self.process_cpu_ns - other.process_cpu_ns)


class WriteStats:
    """Running totals for one process, written to ``directory/<pid>.stats`` after each write."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._guard = threading.Lock()
        self._pid = 0
        self._fd = -1
        self._totals = LockTotals()

    def add(self, held_ns: int, held_cpu_ns: int) -> None:
        with self._guard:
            if self._pid != os.getpid():
                # A forked child starts from nothing, in a file of its own.
                self._pid, self._totals = os.getpid(), LockTotals()
                self._fd = os.open(self._directory / f"{self._pid}.stats", os.O_WRONLY | os.O_CREAT, 0o600)
            t = self._totals + LockTotals(1, held_ns, held_cpu_ns, 0)
            self._totals = LockTotals(t.writes, t.held_ns, t.held_cpu_ns, time.process_time_ns())
            record = " ".join(f"{value:0{_WIDTH}d}" for value in (t.writes, t.held_ns, t.held_cpu_ns,
                                                                   self._totals.process_cpu_ns))
            os.pwrite(self._fd, (record + "\n").encode("ascii"), 0)


def from_environment() -> WriteStats | None:
    directory = os.environ.get(STATS_ENV)
    return WriteStats(Path(directory)) if directory else None


def read_totals(directory: Path) -> LockTotals:
    """The sum over every process that wrote a record in ``directory`` (a torn record is skipped)."""
    total = LockTotals()
    for path in sorted(directory.glob("*.stats")):
        fields = path.read_text(encoding="ascii").split()
        if len(fields) == _FIELDS and all(len(f) == _WIDTH and f.isdigit() for f in fields):
            total = total + LockTotals(*(int(f) for f in fields))
    return total
