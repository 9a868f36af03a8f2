# bench: retention purge of 100 000 expired answers while feedback keeps arriving (rate, submission p99)
"""Benchmark the retention purge against live submissions.

A throwaway instance is filled with --fields expired answers (sealed exactly as
intake seals them: a data key per class, AES-GCM per answer), half of them from
people who consented to share_insight, so the purge also keeps de-identified
contributions. Then:

1. submissions alone: a separate process records submissions back to back for
   --baseline-seconds — each the same one-transaction write the intake service
   makes (seal, store answers and keys, consent receipt, audit event) — and
   their latencies are measured;
2. the purge (the worker's job: batches of submissions per transaction) runs
   while that process keeps submitting; purge rate and submission latencies
   during the purge are measured.

Figures are printed and written to bench-results/purge.json; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
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


def _services(instance: Path):  # type: ignore[no-untyped-def]
    os.environ["CASEFEEDBACK_INSTANCE"] = str(instance)
    os.environ["CASEFEEDBACK_POLICIES"] = str(ROOT / "policies")
    sys.path.insert(0, str(ROOT))
    from casefeedback.cli.common import open_services

    return open_services()


def _rows(found, when: datetime, share: bool):  # type: ignore[no-untyped-def]
    from casefeedback.intake.submissions import seal_answers

    policy = found.policies.service(SERVICE)
    submission_id = str(uuid.uuid4())
    keys, answers = seal_answers(found, policy, submission_id, ANSWERS, when)
    submission = {"id": submission_id, "service_id": SERVICE, "policy_version": policy.version, "case_id": None,
                  "language": "en", "submitted_at": when, "status": "active",
                  "receipt_hash": uuid.uuid4().hex + uuid.uuid4().hex}
    receipt = {"id": str(uuid.uuid4()), "submission_id": submission_id, "consent_version": policy.consent.version,
               "language": "en", "choices": json.dumps({"store": True, "share_insight": share}),
               "given_at": when, "withdrawn_at": None}
    return submission, receipt, keys, answers


def _store(found, batch) -> None:  # type: ignore[no-untyped-def]
    from casefeedback.audit import AuditEvent
    from casefeedback.storage.engine import write
    from casefeedback.storage.tables import answers, consent_receipts, data_keys, submissions

    with write(found.engine) as connection:
        connection.execute(submissions.insert(), [b[0] for b in batch])
        connection.execute(consent_receipts.insert(), [b[1] for b in batch])
        connection.execute(data_keys.insert(), [k for b in batch for k in b[2]])
        connection.execute(answers.insert(), [a for b in batch for a in b[3]])
        for b in batch:
            found.audit.append(connection, AuditEvent(action="submission.receive", outcome="stored",
                                                      actor_role="service_user", object_type="submission",
                                                      object_id=b[0]["id"], detail={"answered": len(b[3])}))


def seed(instance: Path, fields: int) -> int:
    found = _services(instance)
    when = datetime.now(UTC) - timedelta(days=3 * 366)  # every class is due (P2Y at most)
    per = len(ANSWERS)
    count = fields // per
    batch = []
    for i in range(count):
        batch.append(_rows(found, when, share=i % 2 == 0))
        if len(batch) == 500:
            _store(found, batch)
            batch = []
    if batch:
        _store(found, batch)
    found.engine.dispose()
    return count * per


def p99(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values, default=0.0)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench purge", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fields", type=int, default=100_000, help="expired answers to purge (default 100000)")
    parser.add_argument("--baseline-seconds", type=float, default=15.0, help="submissions alone, for comparison")
    args = parser.parse_args(argv)
    install_signal_handlers()
    workdir = Path(tempfile.mkdtemp(prefix="casefeedback-bench-purge-"))
    instance = workdir / "instance"
    init_instance(instance, workdir / "init.log")
    print(f"Seeding {args.fields} expired answers (sealed as intake seals them) ...", flush=True)
    began = time.perf_counter()
    seeded = seed(instance, args.fields)
    print(f"  seeded {seeded} in {time.perf_counter() - began:.1f} s", flush=True)

    print(f"Submissions alone for {args.baseline_seconds:.0f} s ...", flush=True)
    alone = _submissions_while(instance, lambda: time.sleep(args.baseline_seconds))

    found = _services(instance)
    from casefeedback.retention.purge import PurgeReport, purge

    print("Purging while submissions continue ...", flush=True)
    outcome: dict[str, object] = {}

    def run_purge() -> None:
        began = time.perf_counter()
        outcome["report"] = purge(found, datetime.now(UTC), trigger="bench")
        outcome["seconds"] = time.perf_counter() - began

    during = _submissions_while(instance, run_purge)
    found.engine.dispose()
    report, seconds = outcome["report"], float(outcome["seconds"])  # type: ignore[arg-type]
    assert isinstance(report, PurgeReport)  # noqa: S101 — set by run_purge above
    results = {
        "machine": machine(), "fields_purged": report.fields, "data_keys_destroyed": report.data_keys,
        "submissions_purged": report.submissions, "contributions_kept": report.contributions,
        "purge_seconds": round(seconds, 2), "purge_fields_per_s": round(report.fields / seconds, 1),
        "submissions_alone": alone, "submissions_during_purge": during,
    }
    print()
    print(f"purge: {report.fields} answers ({report.data_keys} data keys, {report.submissions} submissions) in "
          f"{seconds:.1f} s = {report.fields / seconds:.0f} answers/s; "
          f"{report.contributions} insight contributions kept")
    print(f"submission latency alone:        {_line(alone)}")
    print(f"submission latency during purge: {_line(during)}")
    print(f"written to {write_json('purge', results)}")
    return 0


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
    latencies = []
    while not done.is_set():
        began = time.perf_counter()
        _store(found, [_rows(found, datetime.now(UTC), share=False)])
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
