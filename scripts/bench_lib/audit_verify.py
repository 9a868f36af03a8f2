# bench: `casefeedback audit verify` over 1 000 000 audit events (events/s)
"""Benchmark verifying the audit log.

A throwaway instance gets --events audit events, chained under its audit key
exactly as AuditLog.append chains them (bulk-inserted, so that building the log
does not take longer than the measurement), with a signed checkpoint every
--checkpoint-every events. Then the real command, `casefeedback audit verify`,
runs in its own process (twice: the first run also warms the page cache), and
so does `--from-checkpoint` with the newest checkpoint exported.

Figures are printed and written to bench-results/audit_verify.json; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import ROOT, BenchError, init_instance, install_signal_handlers, machine, write_json

ACTIONS = (("field.open", "allowed", "answer", "casework"), ("field.withhold", "denied", "answer", "casework"),
           ("staff.sign_in", "success", None, None), ("submission.receive", "stored", "submission", None))


def build(instance: Path, events: int, checkpoint_every: int) -> None:
    os.environ["CASEFEEDBACK_INSTANCE"] = str(instance)
    os.environ["CASEFEEDBACK_POLICIES"] = str(ROOT / "policies")
    sys.path.insert(0, str(ROOT))
    from casefeedback.audit.checkpoints import Signer, write_checkpoint
    from casefeedback.audit.log import AuditLog, event_mac
    from casefeedback.cli.common import open_services
    from casefeedback.storage.engine import write
    from casefeedback.storage.tables import audit_events, audit_head

    found = open_services()
    key = found.config.secrets.audit_chain.value
    signer = Signer(found.config.secrets.audit_signing.value)
    with write(found.engine) as connection:
        head = connection.execute(audit_head.select()).first()
    seq, previous = (head.seq, head.mac) if head else (0, "0" * 64)
    start = datetime.now(UTC) - timedelta(days=365)
    batch = []
    while seq < events:
        seq += 1
        action, outcome, object_type, purpose = ACTIONS[seq % len(ACTIONS)]
        at = (start + timedelta(seconds=seq * 20)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        row = {"seq": seq, "at": at, "actor_id": f"staff-{seq % 97:04d}-0000-0000-0000-000000000000",
               "actor_role": "caseworker", "action": action, "object_type": object_type,
               "object_id": f"{seq:036d}" if object_type else None, "field_class": "rating" if object_type else None,
               "purpose": purpose, "outcome": outcome,
               "detail": json.dumps({"reason": "relation case_owner", "submission": f"{seq // 5:036d}"},
                                    sort_keys=True, separators=(",", ":"))}
        values = [row[name] for name in ("seq", "at", "actor_id", "actor_role", "action", "object_type",
                                         "object_id", "field_class", "purpose", "outcome", "detail")]
        row["mac"] = previous = event_mac(key, previous, values)
        batch.append(row)
        if len(batch) == 50_000 or seq == events or seq % checkpoint_every == 0:
            with write(found.engine) as connection:
                connection.execute(audit_events.insert(), batch)
                connection.execute(audit_head.update().values(seq=seq, mac=previous))
                if seq % checkpoint_every == 0 or seq == events:
                    write_checkpoint(connection, AuditLog(key, lambda: datetime.now(UTC)), signer)
            batch = []
    found.engine.dispose()


def timed(args: Sequence[str], env: dict[str, str]) -> tuple[float, str]:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "casefeedback", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, check=False)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise BenchError(f"casefeedback {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return seconds, done.stdout.strip()


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
    cold, _ = timed(["audit", "verify"], env)
    warm, said = timed(["audit", "verify"], env)
    checkpoint = workdir / "checkpoint.json"
    timed(["audit", "checkpoint", "--export", str(checkpoint)], env)
    anchored, _ = timed(["audit", "verify", "--from-checkpoint", str(checkpoint)], env)
    results = {"machine": machine(), "events": args.events, "first_run_s": round(cold, 2),
               "verify_s": round(warm, 2), "events_per_s": round(args.events / warm),
               "from_checkpoint_s": round(anchored, 2), "output": said}
    print()
    print(f"audit verify: {args.events} events in {warm:.2f} s = {args.events / warm:,.0f} events/s "
          f"(first run {cold:.2f} s; with --from-checkpoint {anchored:.2f} s; process start-up included)")
    print(f"  {said}")
    print(f"written to {write_json('audit_verify', results)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as error:
        print(f"scripts/bench audit_verify: {error}", file=sys.stderr)
        sys.exit(1)
