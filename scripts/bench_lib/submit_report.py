"""What ``scripts/bench submit`` prints and records: the rows per worker count, the ratios, the writer lock.

Pure formatting of figures already measured; nothing here runs a server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from load import Result

PEER_TARGET = 0.60  # casefeedback ÷ the conventional peer, with the most workers run
SCALING_TARGET = 1.30  # casefeedback with 2 workers ÷ with 1
LOCK_SHARE_TARGET = 0.25  # CPU inside the writer lock ÷ the send's CPU


@dataclass(frozen=True)
class LockFigures:
    """The writer lock over one timed run of casefeedback's Send, from the workers' own counters."""

    writes: int
    held_ns: int
    held_cpu_ns: int
    cpu_ns: int  # the workers' CPU over the same span

    def per_send_ms(self, total_ns: int) -> float:
        return total_ns / self.writes / 1e6 if self.writes else 0.0

    @property
    def cpu_share(self) -> float:
        """CPU spent holding the lock ÷ all the CPU the sends cost: the part a second worker cannot overlap."""
        return self.held_cpu_ns / self.cpu_ns if self.cpu_ns else 0.0

    @property
    def wall_share(self) -> float:
        # Wall time includes being descheduled while holding it: noisier on a busy machine.
        return self.held_ns / self.cpu_ns if self.cpu_ns else 0.0

    def as_json(self) -> dict[str, Any]:
        return {"writes": self.writes, "held_ms_per_send": round(self.per_send_ms(self.held_ns), 3),
                "held_cpu_ms_per_send": round(self.per_send_ms(self.held_cpu_ns), 3),
                "cpu_ms_per_send": round(self.per_send_ms(self.cpu_ns), 3),
                "cpu_share": round(self.cpu_share, 3), "wall_share": round(self.wall_share, 3)}


@dataclass(frozen=True)
class WorkersRun:
    """The three servers measured with one number of gunicorn workers, one after another."""

    workers: int
    ours: Result
    peer: Result
    baseline: Result
    lock: LockFigures | None
    load: tuple[float, float, float]  # the 1-minute load average at the end of each timed run

    @property
    def vs_peer(self) -> float:
        return self.ours.rps / self.peer.rps if self.peer.rps else 0.0

    @property
    def vs_baseline(self) -> float:
        return self.ours.rps / self.baseline.rps if self.baseline.rps else 0.0


def _plural(workers: int) -> str:
    return f"{workers} worker" + ("" if workers == 1 else "s")


def table(title: str, runs: Sequence[WorkersRun]) -> str:
    lines = [title, f"{'workers':<8} {'server':<14} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7} "
                    f"{'load1':>6}"]
    for run in runs:
        for label, result, load in (("casefeedback", run.ours, run.load[0]), ("conventional", run.peer, run.load[1]),
                                    ("bare baseline", run.baseline, run.load[2])):
            lines.append(f"{run.workers:<8} {label:<14} {result.rps:>9.1f} {result.p50_ms:>9.2f} "
                         f"{result.p99_ms:>9.2f} {result.error_count:>7} {load:>6.2f}")
    return "\n".join(lines)


def scaling(runs: Sequence[WorkersRun], pick: str) -> float | None:
    """Throughput with the most workers ÷ with one (None when only one count ran)."""
    one = next((r for r in runs if r.workers == 1), None)
    most = max(runs, key=lambda r: r.workers)
    if one is None or most is one:
        return None
    low, high = getattr(one, pick).rps, getattr(most, pick).rps
    return high / low if low else 0.0


def summary(runs: Sequence[WorkersRun], baseline_target: float) -> list[str]:
    lines = []
    for run in runs:
        peer_target = f"  (target >= {PEER_TARGET:.2f})" if run is runs[-1] else ""
        lines.append(f"{_plural(run.workers)}: ratio vs conventional peer: {run.vs_peer:.2f}{peer_target}    "
                     f"ratio vs bare baseline: {run.vs_baseline:.2f} (target >= {baseline_target:.2f})")
    ours, peer = scaling(runs, "ours"), scaling(runs, "peer")
    if ours is not None and peer is not None:
        most = runs[-1].workers
        lines.append(f"throughput {most} workers ÷ 1 worker: casefeedback {ours:.2f} (target >= "
                     f"{SCALING_TARGET:.2f}), conventional peer {peer:.2f}")
    for run in runs:
        lock = run.lock
        if lock is None or not lock.writes:
            lines.append(f"write lock, {_plural(run.workers)}: not measured")
            continue
        lines.append(
            f"write lock per send, {_plural(run.workers)}: held {lock.per_send_ms(lock.held_ns):.2f} ms "
            f"({lock.per_send_ms(lock.held_cpu_ns):.2f} ms CPU) of {lock.per_send_ms(lock.cpu_ns):.2f} ms CPU per "
            f"send: {lock.cpu_share:.0%} of the send's CPU (target <= {LOCK_SHARE_TARGET:.0%}; wall "
            f"{lock.wall_share:.0%})")
    return lines


def as_json(runs: Sequence[WorkersRun]) -> dict[str, Any]:
    return {
        "runs": [{"workers": r.workers, "casefeedback": r.ours.as_json(), "conventional": r.peer.as_json(),
                  "baseline": r.baseline.as_json(), "ratio_vs_peer": round(r.vs_peer, 3),
                  "ratio_vs_baseline": round(r.vs_baseline, 3), "load1": list(r.load),
                  "write_lock": r.lock.as_json() if r.lock else None} for r in runs],
        "scaling": {"casefeedback": _rounded(scaling(runs, "ours")), "conventional": _rounded(scaling(runs, "peer")),
                    "target": SCALING_TARGET},
        "peer_target_ratio": PEER_TARGET,
        "lock_share_target": LOCK_SHARE_TARGET,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
