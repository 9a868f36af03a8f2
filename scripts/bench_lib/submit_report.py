"""What ``scripts/bench submit`` prints and records: the rows per worker count, the ratios, the writer lock.

The rows: casefeedback on SQLCipher and/or on PostgreSQL (``--engine``), on PostgreSQL as N instances
sharing one database (``--instances``), the conventional peer and the bare baseline.

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
INSTANCES_TARGET = 1.50  # casefeedback on PostgreSQL, 2 instances ÷ 1 (issue 13)


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
class Measured:
    """One server's timed run, with the 1-minute load average at its end."""

    result: Result
    load1: float


@dataclass(frozen=True)
class WorkersRun:
    """The servers measured with one number of gunicorn workers, one after another.

    ``ours`` is casefeedback on its SQLCipher file, ``postgres`` on PostgreSQL (one instance), ``spread``
    on PostgreSQL as ``instances`` instances sharing that database, each with ``workers`` workers; the
    ones ``--engine`` and ``--instances`` did not ask for are None.
    """

    workers: int
    ours: Measured | None
    peer: Measured
    baseline: Measured
    lock: LockFigures | None
    postgres: Measured | None = None
    spread: Measured | None = None
    instances: int = 1

    @property
    def first(self) -> Measured:
        """casefeedback's row the headline ratio is of: SQLCipher when measured, else PostgreSQL."""
        found = self.ours or self.postgres
        if found is None:
            raise ValueError("a run measures casefeedback on at least one engine")
        return found

    @property
    def vs_peer(self) -> float:
        return _ratio(self.first, self.peer)

    @property
    def vs_baseline(self) -> float:
        return _ratio(self.first, self.baseline)

    @property
    def instance_scaling(self) -> float | None:
        """Throughput of ``instances`` instances ÷ one, both on PostgreSQL with these workers each."""
        if self.spread is None or self.postgres is None:
            return None
        return _ratio(self.spread, self.postgres)


def _ratio(top: Measured, bottom: Measured) -> float:
    return top.result.rps / bottom.result.rps if bottom.result.rps else 0.0


def _plural(workers: int) -> str:
    return f"{workers} worker" + ("" if workers == 1 else "s")


def rows(run: WorkersRun) -> list[tuple[str, Measured]]:
    """The table's rows for one worker count, labelled, in the order they are printed."""
    found: list[tuple[str, Measured | None]] = [
        ("casefeedback", run.ours), ("cf PostgreSQL", run.postgres), (f"cf PostgreSQL ×{run.instances}", run.spread),
        ("conventional", run.peer), ("bare baseline", run.baseline)]
    return [(label, measured) for label, measured in found if measured is not None]


def table(title: str, runs: Sequence[WorkersRun]) -> str:
    width = max([14, *(len(label) for run in runs for label, _ in rows(run))])
    lines = [title, f"{'workers':<8} {'server':<{width}} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7} "
                    f"{'load1':>6}"]
    for run in runs:
        for label, measured in rows(run):
            result = measured.result
            lines.append(f"{run.workers:<8} {label:<{width}} {result.rps:>9.1f} {result.p50_ms:>9.2f} "
                         f"{result.p99_ms:>9.2f} {result.error_count:>7} {measured.load1:>6.2f}")
    return "\n".join(lines)


def scaling(runs: Sequence[WorkersRun], pick: str) -> float | None:
    """Throughput with the most workers ÷ with one (None when only one count ran, or ``pick`` was not run)."""
    one = next((r for r in runs if r.workers == 1), None)
    most = max(runs, key=lambda r: r.workers)
    if one is None or most is one:
        return None
    low, high = getattr(one, pick), getattr(most, pick)
    if low is None or high is None:
        return None
    return _ratio(high, low)


def summary(runs: Sequence[WorkersRun], baseline_target: float) -> list[str]:
    lines = []
    for run in runs:
        peer_target = f"  (target >= {PEER_TARGET:.2f})" if run is runs[-1] else ""
        if run.ours is not None:
            lines.append(f"{_plural(run.workers)}: ratio vs conventional peer: {run.vs_peer:.2f}{peer_target}    "
                         f"ratio vs bare baseline: {run.vs_baseline:.2f} (target >= {baseline_target:.2f})")
        if run.postgres is not None:
            lines.append(f"{_plural(run.workers)}, PostgreSQL: ratio vs conventional peer: "
                         f"{_ratio(run.postgres, run.peer):.2f}{peer_target}    ratio vs bare baseline: "
                         f"{_ratio(run.postgres, run.baseline):.2f}")
        if run.spread is not None:
            lines.append(f"{_plural(run.workers)} each, PostgreSQL ×{run.instances}: ratio vs conventional peer: "
                         f"{_ratio(run.spread, run.peer):.2f}{peer_target}    throughput {run.instances} instances "
                         f"÷ 1 instance: {run.instance_scaling:.2f} (target >= {INSTANCES_TARGET:.2f})")
    peer = scaling(runs, "peer")
    engines = [(name, value) for name, value in (("casefeedback", scaling(runs, "ours")),
                                                 ("casefeedback on PostgreSQL", scaling(runs, "postgres")))
               if value is not None]
    if engines and peer is not None:
        most = runs[-1].workers
        ours = ", ".join(f"{name} {value:.2f}" for name, value in engines)
        lines.append(f"throughput {most} workers ÷ 1 worker: {ours} (target >= {SCALING_TARGET:.2f}), "
                     f"conventional peer {peer:.2f}")
    for run in runs:
        lock = run.lock
        if run.ours is None:
            continue  # the writer lock is the SQLCipher file's; PostgreSQL orders its writers itself
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
        "runs": [_run_json(r) for r in runs],
        "scaling": {"casefeedback": _rounded(scaling(runs, "ours")),
                    "casefeedback_postgres": _rounded(scaling(runs, "postgres")),
                    "conventional": _rounded(scaling(runs, "peer")), "target": SCALING_TARGET},
        "peer_target_ratio": PEER_TARGET,
        "instances_target_ratio": INSTANCES_TARGET,
        "lock_share_target": LOCK_SHARE_TARGET,
    }


def _run_json(run: WorkersRun) -> dict[str, Any]:
    data: dict[str, Any] = {
        "workers": run.workers, "casefeedback": run.ours.result.as_json() if run.ours else None,
        "conventional": run.peer.result.as_json(),
        "baseline": run.baseline.result.as_json(),
        "ratio_vs_peer": round(_ratio(run.ours, run.peer), 3) if run.ours else None,
        "ratio_vs_baseline": round(_ratio(run.ours, run.baseline), 3) if run.ours else None,
        "load1": [m.load1 for _, m in rows(run)],
        "write_lock": run.lock.as_json() if run.lock else None}
    if run.postgres is not None:
        data["postgres"] = {**run.postgres.result.as_json(), "ratio_vs_peer": round(_ratio(run.postgres, run.peer), 3),
                            "ratio_vs_baseline": round(_ratio(run.postgres, run.baseline), 3),
                            "load1": run.postgres.load1}
    if run.spread is not None:
        data["postgres_instances"] = {**run.spread.result.as_json(), "instances": run.instances,
                                      "ratio_vs_peer": round(_ratio(run.spread, run.peer), 3),
                                      "ratio_vs_one_instance": _rounded(run.instance_scaling),
                                      "load1": run.spread.load1}
    return data


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
