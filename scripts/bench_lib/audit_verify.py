# bench: `casefeedback audit verify` over 1 000 000 audit events (events/s)
"""Benchmark verifying the audit log.

A throwaway instance gets --events audit events, appended through the audit
log's own ``append_many`` (up to 50 000 in one transaction, so that building the
log does not take longer than the measurement), with a signed checkpoint every
--checkpoint-every events. Then the real command, `casefeedback audit verify`,
runs in its own process (twice: the first run also warms the page cache), and
so does `--from-checkpoint` with the newest checkpoint exported.

Figures are printed and written to bench-results/audit_verify.json; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from common import ROOT, BenchError, init_instance, install_signal_handlers, machine, write_json

from casefeedback.audit.actions import Action

ACTIONS = ((Action.FIELD_OPEN, "allowed", "answer", "casework"),
           (Action.FIELD_WITHHOLD, "denied", "answer", "casework"),
           (Action.STAFF_SIGN_IN, "success", None, None), (Action.SUBMISSION_RECEIVE, "stored", "submission", None))
BATCH = 50_000


def build(instance: Path, events: int, checkpoint_every: int) -> None:
    os.environ["CASEFEEDBACK_INSTANCE"] = str(instance)
    os.environ["CASEFEEDBACK_POLICIES"] = str(ROOT / "policies")
    sys.path.insert(0, str(ROOT))
    from casefeedback.audit.checkpoints import Signer, write_checkpoint
    from casefeedback.audit.walk import last_seq_of
    from casefeedback.cli.common import open_services
    from casefeedback.storage.engine import read, write

    found = open_services()
    signer = Signer(found.config.secrets.audit_signing.value)
    with read(found.engine) as connection:
        seq = last_seq_of(connection)  # `casefeedback init` has appended a few already
    while seq < events:
        # One transaction up to the next checkpoint, the end, or BATCH events, whichever comes first.
        stop = min(events, seq + BATCH, (seq // checkpoint_every + 1) * checkpoint_every)
        with write(found.engine) as connection:
            found.audit.append_many(connection, [_event(n) for n in range(seq + 1, stop + 1)])
            if stop % checkpoint_every == 0 or stop == events:
                write_checkpoint(connection, found.audit, signer)
        seq = stop
    found.engine.dispose()


def _event(n: int):  # type: ignore[no-untyped-def]
    from casefeedback.audit import AuditEvent

    action, outcome, object_type, purpose = ACTIONS[n % len(ACTIONS)]
    return AuditEvent(action=action, outcome=outcome, actor_id=f"staff-{n % 97:04d}-0000-0000-0000-000000000000",
                      actor_role="caseworker", object_type=object_type,
                      object_id=f"{n:036d}" if object_type else None, field_class="rating" if object_type else None,
                      purpose=purpose, detail={"reason": "relation case_owner", "submission": f"{n // 5:036d}"})


def timed(args: Sequence[str], env: dict[str, str]) -> tuple[float, str, float]:
    """(wall seconds, what it printed, CPU seconds of the command and every process it started)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "casefeedback", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, check=False)
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise BenchError(f"casefeedback {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    # On a shared machine the wall time says as much about the neighbours as about the walk: the CPU time
    # (the walkers are waited for, so they count) is the part that is ours.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, done.stdout.strip(), cpu


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench audit_verify", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--checkpoint-every", type=int, default=100_000)
    args = parser.parse_args(argv)
    install_signal_handlers()
    workdir = Path(tempfile.mkdtemp(prefix="casefeedback-bench-audit-"))
    instance = workdir / "instance"
    env = {**os.environ, **init_instance(instance, workdir / "init.log")}
    print(f"Building a chained log of {args.events} events ...", flush=True)
    began = time.perf_counter()
    build(instance, args.events, args.checkpoint_every)
    size = (instance / "casefeedback.db").stat().st_size / 1e6
    print(f"  built in {time.perf_counter() - began:.1f} s; database {size:.0f} MB", flush=True)
    load = os.getloadavg()[0]
    cold, _, _ = timed(["audit", "verify"], env)
    warm, said, warm_cpu = timed(["audit", "verify"], env)
    # The same command walking in one process: the baseline the parallel walk is measured against.
    serial, _, serial_cpu = timed(["audit", "verify"], {**env, "CASEFEEDBACK_VERIFY_PROCESSES": "1"})
    checkpoint = workdir / "checkpoint.json"
    timed(["audit", "checkpoint", "--export", str(checkpoint)], env)
    anchored, _, _ = timed(["audit", "verify", "--from-checkpoint", str(checkpoint)], env)
    results = {"machine": machine(), "events": args.events, "first_run_s": round(cold, 2),
               "verify_s": round(warm, 2), "events_per_s": round(args.events / warm),
               "verify_cpu_s": round(warm_cpu, 2), "from_checkpoint_s": round(anchored, 2),
               "one_process_s": round(serial, 2), "one_process_events_per_s": round(args.events / serial),
               "one_process_cpu_s": round(serial_cpu, 2), "load_average_before": round(load, 2),
               "load_average_after": round(os.getloadavg()[0], 2), "output": said}
    print()
    print(f"audit verify: {args.events} events in {warm:.2f} s = {args.events / warm:,.0f} events/s "
          f"(first run {cold:.2f} s; with --from-checkpoint {anchored:.2f} s; process start-up included)")
    print(f"  one process: {serial:.2f} s = {args.events / serial:,.0f} events/s; "
          f"ratio parallel vs one process: {serial / warm:.2f} (load average {load:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after)")
    print(f"  CPU time (every process): {warm_cpu:.2f} s on every core, {serial_cpu:.2f} s in one process = "
          f"{args.events / serial_cpu:,.0f} events per CPU-second in one process")
    print(f"  {said}")
    print(f"written to {write_json('audit_verify', results)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as error:
        print(f"scripts/bench audit_verify: {error}", file=sys.stderr)
        sys.exit(1)
