# bench: retention purge of 100 000 expired answers while feedback keeps arriving (rate, submission p99)
"""Benchmark the retention purge against live submissions.

A throwaway instance is filled with --fields expired answers, sent a second
apart and stored through intake's own ``record_submissions`` (a data key per
class, AES-GCM per answer, consent receipt, audit event), half of them from
people who consented to share_insight, whose de-identified contributions are
written then, as at any send (so the purge finds them kept already). Then:

1. submissions alone: a separate process records submissions back to back for
   --baseline-seconds — each through the same service, one transaction each
   (seal, store answers and keys, consent receipt, audit event) — and their
   latencies are measured;
2. the purge (the worker's job: planned outside the write lock, then data keys
   destroyed in paced transactions of a few milliseconds, then the ciphertext
   removed the same way) runs while that process keeps submitting; purge rate,
   submission latencies during the purge, and how long each purge transaction
   held the write lock (longest, 99th percentile) are measured.

The ratio of the submissions' p99 during the purge to their p99 alone is the
figure to watch (senders should barely notice a purge); on a shared machine
compare ratios, not milliseconds, and note the load average printed with them.
--runs repeats the whole (seed, alone, purge) on a fresh instance each time.

Figures are printed and written to bench-results/purge.json; nothing is asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import ROOT, BenchError, init_instance, install_signal_handlers, machine, write_json

SERVICE = "victim-support"
ANSWERS = {"treated": "4", "listened": "yes", "safe_now": "yes",
           "safer": "I feel a little safer now that I know who to call.",
           "anything_else": "The support worker called me back after a few days and explained what happens next."}
BATCH = 500


def _services(instance: Path):  # type: ignore[no-untyped-def]
    os.environ["CASEFEEDBACK_INSTANCE"] = str(instance)
    os.environ["CASEFEEDBACK_POLICIES"] = str(ROOT / "policies")
    sys.path.insert(0, str(ROOT))
    from casefeedback.cli.common import open_services

    return open_services()


def _sent(policy, when: datetime, share: bool):  # type: ignore[no-untyped-def]
    from casefeedback.intake.submissions import ConsentGiven, Sent

    consent = ConsentGiven(policy.consent.version, "en", {"store": True, "share_insight": share})
    return Sent(str(uuid.uuid4()), ANSWERS, consent, consent_given_at=when, submitted_at=when, language="en")


def _record(found, sent) -> None:  # type: ignore[no-untyped-def]
    from casefeedback.intake.submissions import record_submissions

    record_submissions(found, found.policies.service(SERVICE), sent)


def seed(instance: Path, fields: int) -> int:
    found = _services(instance)
    policy = found.policies.service(SERVICE)
    when = datetime.now(UTC) - timedelta(days=3 * 366)  # every class is due (P2Y at most)
    per = len(ANSWERS)
    count = fields // per
    # One transaction per batch, a second apart: feedback arrives over time (and is stored in that order).
    for start in range(0, count, BATCH):
        _record(found, [_sent(policy, when + timedelta(seconds=i), share=i % 2 == 0)
                        for i in range(start, min(start + BATCH, count))])
    found.engine.dispose()
    return count * per


def p99(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values, default=0.0)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench purge", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fields", type=int, default=100_000, help="expired answers to purge (default 100000)")
    parser.add_argument("--baseline-seconds", type=float, default=15.0, help="submissions alone, for comparison")
    parser.add_argument("--runs", type=int, default=1, help="repeat on a fresh instance (default 1)")
    args = parser.parse_args(argv)
    install_signal_handlers()
    runs = [one_run(args.fields, args.baseline_seconds) for _ in range(max(1, args.runs))]
    results = {"machine": machine(), "runs": runs}
    print()
    for number, run in enumerate(runs, start=1):
        print(f"run {number}: {_run_line(run)}")
    if len(runs) > 1:  # the key figures over the runs, min / median (the machine is shared: compare these)
        for key, label in (("purge_fields_per_s", "whole purge, answers/s"),
                           ("unreadable_fields_per_s", "made unreadable, answers/s"),
                           ("p99_ratio", "submission p99 during ÷ alone")):
            values = [float(run[key]) for run in runs if run[key] is not None]  # type: ignore[arg-type]
            if values:
                print(f"{label}: min {min(values):.2f}, median {statistics.median(values):.2f} over {len(values)} runs")
    print(f"written to {write_json('purge', results)}")
    return 0


def one_run(fields: int, baseline_seconds: float) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="casefeedback-bench-purge-"))
    instance = workdir / "instance"
    init_instance(instance, workdir / "init.log")
    print(f"Seeding {fields} expired answers (sealed as intake seals them) ...", flush=True)
    began = time.perf_counter()
    seeded = seed(instance, fields)
    print(f"  seeded {seeded} in {time.perf_counter() - began:.1f} s", flush=True)

    load_before = os.getloadavg()
    print(f"Submissions alone for {baseline_seconds:.0f} s ...", flush=True)
    alone = _submissions_while(instance, lambda: time.sleep(baseline_seconds))

    found = _services(instance)
    from casefeedback.retention.purge import PurgeReport, purge

    print("Purging while submissions continue ...", flush=True)
    outcome: dict[str, object] = {}

    def run_purge() -> None:
        began = time.perf_counter()
        outcome["report"] = purge(found, datetime.now(UTC), trigger="bench")
        outcome["seconds"] = time.perf_counter() - began

    during = _submissions_while(instance, run_purge)
    load_after = os.getloadavg()
    found.engine.dispose()
    report, seconds = outcome["report"], float(outcome["seconds"])  # type: ignore[arg-type]
    assert isinstance(report, PurgeReport)  # noqa: S101 — set by run_purge above
    run = {
        "fields_purged": report.fields, "data_keys_destroyed": report.data_keys,
        "submissions_purged": report.submissions, "contributions_kept": report.contributions,
        "ciphertext_rows_removed": report.ciphertext_removed,
        "purge_seconds": round(seconds, 2), "purge_fields_per_s": round(report.fields / seconds, 1),
        "unreadable_fields_per_s": _rate(report.fields, report.seconds.get("plan_and_shred", 0.0)),
        "sweep_fields_per_s": _rate(report.ciphertext_removed, report.seconds.get("sweep", 0.0)),
        "purge_steps_seconds": {step: round(s, 2) for step, s in report.seconds.items()},
        "purge_lock_hold": report.lock,
        "submissions_alone": alone, "submissions_during_purge": during,
        "p99_ratio": round(during["p99_ms"] / alone["p99_ms"], 2) if alone["p99_ms"] else None,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }
    print(f"purge: {report.fields} answers ({report.data_keys} data keys, {report.submissions} submissions) in "
          f"{seconds:.1f} s = {report.fields / seconds:.0f} answers/s; "
          f"{report.contributions} insight contributions kept")
    print(f"  made unreadable (planned, keys destroyed, ledger and audit written): "
          f"{run['unreadable_fields_per_s']:.0f} answers/s; "
          f"ciphertext then removed: {run['sweep_fields_per_s']:.0f} answers/s")
    print("  steps: " + ", ".join(f"{step} {s:.1f} s" for step, s in report.seconds.items()))
    print(f"  write lock held per purge transaction: {report.lock.get('transactions', 0):.0f} transactions, "
          f"p50 {report.lock.get('p50_ms', 0):.2f} ms, p99 {report.lock.get('p99_ms', 0):.2f} ms, "
          f"max {report.lock.get('max_ms', 0):.2f} ms, {report.lock.get('within_limit', 0):.1%} within 5 ms")
    print(f"submission latency alone:        {_line(alone)}")
    print(f"submission latency during purge: {_line(during)}")
    print(f"load average (1, 5, 15 min) before {_load(load_before)}, after {_load(load_after)}", flush=True)
    return run


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def _load(values: tuple[float, float, float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def _run_line(run: dict[str, object]) -> str:
    lock = run["purge_lock_hold"]
    alone, during = run["submissions_alone"], run["submissions_during_purge"]
    assert isinstance(lock, dict) and isinstance(alone, dict) and isinstance(during, dict)  # noqa: S101
    return (f"{run['purge_fields_per_s']:.0f} answers/s (made unreadable {run['unreadable_fields_per_s']:.0f}/s, "
            f"swept {run['sweep_fields_per_s']:.0f}/s); submission p99 {during['p99_ms']:.1f} ms during ÷ "
            f"{alone['p99_ms']:.1f} ms alone = {run['p99_ratio']}×; lock held p50 {lock.get('p50_ms', 0):.2f} ms, "
            f"p99 {lock.get('p99_ms', 0):.2f} ms, max {lock.get('max_ms', 0):.2f} ms, "
            f"{lock.get('within_limit', 0):.1%} within 5 ms; load {run['load_average_before'][0]}→"  # type: ignore[index]
            f"{run['load_average_after'][0]}")  # type: ignore[index]


def _submissions_while(instance: Path, action) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Run ``action`` here while another process records submissions back to back; their latencies."""
    done = multiprocessing.Event()
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    process = multiprocessing.Process(target=_submit_until, args=(str(instance), done, queue))
    process.start()
    time.sleep(1.0)  # let the submitter get going
    try:
        action()
    finally:
        done.set()
    latencies = queue.get()
    process.join()
    return _summary(latencies)


def _submit_until(instance: str, done, out) -> None:  # type: ignore[no-untyped-def]
    found = _services(Path(instance))
    policy = found.policies.service(SERVICE)
    latencies = []
    while not done.is_set():
        began = time.perf_counter()
        _record(found, [_sent(policy, datetime.now(UTC), share=False)])
        latencies.append((time.perf_counter() - began) * 1000)
    found.engine.dispose()
    out.put(latencies)


def _summary(latencies: Sequence[float]) -> dict[str, float]:
    return {"count": len(latencies), "p50_ms": round(statistics.median(latencies), 2) if latencies else 0.0,
            "p99_ms": round(p99(latencies), 2), "max_ms": round(max(latencies, default=0.0), 2)}


def _line(summary: dict[str, float]) -> str:
    return (f"{int(summary['count'])} submissions, p50 {summary['p50_ms']:.1f} ms, p99 {summary['p99_ms']:.1f} ms, "
            f"max {summary['max_ms']:.1f} ms")


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as error:
        print(f"scripts/bench purge: {error}", file=sys.stderr)
        sys.exit(1)
