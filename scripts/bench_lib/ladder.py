# bench: where the submit cost goes, layer by layer, each against the bare baseline
"""Where the final feedback POST's cost goes: a ladder of rungs, each against the bare baseline.

Every rung is served by gunicorn with the same --workers and driven by the
same load (connections, duration, load generator, a warm-up before each
timed run), one after another: never two servers at once. Each rung isolates
one part of what the final POST pays for (rung 2 against rung 1 is encryption
alone; rungs 3 and 4 are the app with no database write at all):

  1. baseline              baseline_app.py, POST /submit: bare Flask and stdlib
                           sqlite3 (WAL, synchronous=NORMAL) storing the same
                           answers submit.py sends, one row each. The yardstick.
  2. baseline + SQLCipher  the same app and bodies, the file opened with
                           SQLCipher under a random raw 256-bit key: what
                           page encryption alone costs a write.
  3. casefeedback GET /health
                           casefeedback's smallest route ({"status": "ok"}),
                           through all its request hooks (security headers,
                           session, limiter; limits off). No template and no
                           database: the floor of the app around any view.
  4. casefeedback GET /feedback/victim-support
                           the form's first page, without a cookie: Jinja
                           templates, Welsh/English i18n, a CSRF token and a
                           new session cookie. No database write.
  5. casefeedback POST .../send
                           the final submission exactly as `scripts/bench
                           submit` times it (a prepared session per request).

Rungs 3 to 5 share one casefeedback instance. The target is rung 5 >=
0.60 x rung 1; a rung that writes nothing and is already below that shows the
target is under the floor of the stack. Figures are printed and written to
bench-results/ladder.json; nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from common import (
    ROOT,
    BenchError,
    LoadSpec,
    drive,
    format_table,
    generator_label,
    http_status,
    install_signal_handlers,
    write_json,
)
from load import Request, Result
from submit import (
    SERVICE,
    TARGET_RATIO,
    answers_body,
    answers_of,
    checked_args,
    in_workdir,
    load_options,
    load_spec,
    measure_send,
    print_caveats,
    results_header,
    run_baseline,
    say,
    serve_casefeedback,
)

# The baseline rungs cycle through this many bodies: enough that no single
# body is special, few enough to make in an instant.
BODY_COUNT = 1000
SEED = 20261102  # submit.py's: the same answers on every run


@dataclass(frozen=True)
class Rung:
    key: str  # its name for --rungs, and for the files it leaves in the work directory
    label: str  # its name in the printed tables
    writes: bool  # whether each request writes to the database


RUNGS = (
    Rung("baseline", "baseline", writes=True),
    Rung("sqlcipher", "baseline + SQLCipher", writes=True),
    Rung("health", "casefeedback GET /health", writes=False),
    Rung("form", f"casefeedback GET /feedback/{SERVICE}", writes=False),
    Rung("send", "casefeedback POST …/send", writes=True),
)
CASEFEEDBACK_RUNGS = frozenset({"health", "form", "send"})


# ---------------------------------------------------------------- the rungs


def measure_get(key: str, port: int, path: str, args: argparse.Namespace, spec: LoadSpec, workdir: Path,
                ) -> Result:
    """Warm up, then time GET ``path`` with no cookie, cycling: a GET can be repeated at will."""
    status = http_status(port, path, timeout=30)
    if status != 200:
        # Checked by hand first: a broken setup fails here, in words, not as 100 % errors.
        raise BenchError(f"a single GET {path} answered {status}; the benchmark would only measure errors")
    requests = [Request(body="")]
    say(f"{key}: warming up on GET {path} for {args.warmup:.0f} s")
    drive(f"{key}-warmup", port, path, requests, spec, workdir, cycle=True, duration_s=args.warmup, method="GET")
    say(f"{key}: timed run of {spec.duration_s:.0f} s")
    return drive(key, port, path, requests, spec, workdir, cycle=True, method="GET")


def run_casefeedback_rungs(args: argparse.Namespace, spec: LoadSpec, workdir: Path, rng: random.Random,
                           ) -> dict[str, Result]:
    # One instance for rungs 3-5: `casefeedback init` and start-up cost time, not figures.
    results: dict[str, Result] = {}
    with serve_casefeedback(args.workers, workdir) as port:
        if "health" in args.rungs:
            results["health"] = measure_get("health", port, "/health", args, spec, workdir)
        if "form" in args.rungs:
            results["form"] = measure_get("form", port, f"/feedback/{SERVICE}", args, spec, workdir)
        if "send" in args.rungs:
            results["send"], _ = measure_send(args, spec, workdir, rng, port)
    return results


def run_rungs(args: argparse.Namespace, spec: LoadSpec, workdir: Path) -> dict[str, Result]:
    rng = random.Random(SEED)
    bodies = [answers_body(answers_of(rng)) for _ in range(BODY_COUNT)]
    results: dict[str, Result] = {}
    if "baseline" in args.rungs:
        results["baseline"] = run_baseline(args, spec, workdir, bodies)
    if "sqlcipher" in args.rungs:
        # A fresh random key per run: nothing depends on it outliving the run.
        results["sqlcipher"] = run_baseline(args, spec, workdir, bodies, name="sqlcipher",
                                            key_hex=secrets.token_hex(32))
    if CASEFEEDBACK_RUNGS & set(args.rungs):
        results.update(run_casefeedback_rungs(args, spec, workdir, rng))
    return results


# ---------------------------------------------------------------- reporting


def worker_ms(workers: int, result: Result) -> float | None:
    """Worker-milliseconds per request: workers × 1000 ÷ req/s.

    Under this load every worker is always busy (more connections than workers),
    so this is the time a worker is occupied per request. It is wall time, not
    pure CPU: on a small machine it includes waiting for a core.
    """
    return workers * 1000 / result.rps if result.rps else None


def _ratio(result: Result, baseline: Result | None) -> float | None:
    return result.rps / baseline.rps if baseline and baseline.rps else None


def _figure(value: float | None, width: int, sign: str = "-") -> str:
    """``value`` to 2 places, right-aligned in ``width``, or "n/a" (no baseline in this run, or 0 req/s)."""
    return f"{value:>{sign}{width}.2f}" if value is not None else f"{'n/a':>{width}}"


def layer_table(args: argparse.Namespace, results: Mapping[str, Result]) -> str:
    baseline = results.get("baseline")
    base_ms = worker_ms(args.workers, baseline) if baseline else None
    shown = [r for r in RUNGS if r.key in results]
    width = max(len(r.label) for r in shown) + 2  # as format_table's, so the two tables line up
    lines = [f"{'':<{width}} {'× baseline':>10} {'worker-ms/req':>14} {'+ms vs baseline':>16} {'writes':>7}"]
    for rung in shown:
        ms = worker_ms(args.workers, results[rung.key])
        extra = ms - base_ms if ms is not None and base_ms is not None else None
        lines.append(f"{rung.label:<{width}} {_figure(_ratio(results[rung.key], baseline), 10)} "
                     f"{_figure(ms, 14)} {_figure(extra, 16, sign='+')} {'yes' if rung.writes else 'no':>7}")
    return "\n".join(lines)


def findings(results: Mapping[str, Result]) -> list[str]:
    """What the figures show about the target, rung by rung: computed, never assumed."""
    baseline = results.get("baseline")
    if baseline is None or not baseline.rps:
        return ["no baseline figure in this run, so no rung can be set against the target"]
    lines = []
    for rung in (r for r in RUNGS if r.key in CASEFEEDBACK_RUNGS and r.key in results):
        ratio = results[rung.key].rps / baseline.rps
        if rung.writes:
            verdict = "meets" if ratio >= TARGET_RATIO else "misses"
            lines.append(f"{rung.label}: {ratio:.2f} × baseline, so it {verdict} the target")
        elif ratio < TARGET_RATIO:
            # The Send does this rung's kind of work too (request hooks, session, a CSRF-checked
            # form, a rendered page: intake/done.html) and then writes: it cannot be cheaper.
            lines.append(f"{rung.label} writes nothing, yet runs at {ratio:.2f} × baseline, below "
                         f"{TARGET_RATIO:.2f}: the submit POST does this kind of work too (hooks, session, CSRF, "
                         "a rendered page) and then writes, so the target is under the floor of this stack")
        else:
            lines.append(f"{rung.label} writes nothing and runs at {ratio:.2f} × baseline, at or above "
                         f"{TARGET_RATIO:.2f}: on its own it does not put the target under the floor")
    return lines


def report(args: argparse.Namespace, spec: LoadSpec, results: Mapping[str, Result]) -> int:
    labelled = [replace(results[r.key], name=r.label) for r in RUNGS if r.key in results]
    print(format_table(f"ladder, {args.workers} gunicorn workers, {spec.connections} connections, "
                       f"{spec.duration_s:.0f} s per rung, {generator_label(spec)}", labelled))
    print()
    print(layer_table(args, results))
    print(f"worker-ms/req = {args.workers} workers × 1000 ÷ req/s: how long a worker is occupied per request "
          f"while {spec.connections} connections keep every worker busy; wall time (including waiting for a "
          "core), not pure CPU. req/s counts 200 responses only.")
    print()
    print(f"target for the submit POST: >= {TARGET_RATIO:.2f} × baseline; a rung that writes nothing "
          "already below it shows the target is under the floor of the stack.")
    for line in findings(results):
        print(f"  {line}")
    problems = print_caveats(labelled, spec.duration_s)
    path = write_json("ladder", {
        **results_header("ladder", args, spec, rungs=list(args.rungs)),
        "rungs": [_rung_json(rung, results, args.workers) for rung in RUNGS if rung.key in results],
        "target_ratio": TARGET_RATIO,
        "findings": findings(results),
        "problems": problems,
    })
    print(f"(written to {path.relative_to(ROOT)})")
    # As submit.py: errors make the figures untrustworthy; a rung below target is a finding.
    return 1 if any(r.error_count or r.ok == 0 for r in results.values()) else 0


def _rung_json(rung: Rung, results: Mapping[str, Result], workers: int) -> dict[str, Any]:
    ratio, ms = _ratio(results[rung.key], results.get("baseline")), worker_ms(workers, results[rung.key])
    return {"key": rung.key, "label": rung.label, "writes_database": rung.writes,
            "ratio_to_baseline": round(ratio, 3) if ratio is not None else None,
            "worker_ms_per_request": round(ms, 3) if ms is not None else None,
            "result": results[rung.key].as_json()}


# ---------------------------------------------------------------- the run


def _rung_list(text: str) -> tuple[str, ...]:
    keys = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [key for key in keys if key not in {r.key for r in RUNGS}]
    if unknown or not keys:
        raise argparse.ArgumentTypeError(f"rungs are a comma list of: {', '.join(r.key for r in RUNGS)}")
    return keys


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    # submit's options (the send rung is submit's own measurement), plus the choice of rungs.
    parser = load_options("scripts/bench ladder", __doc__, duration=10)
    parser.add_argument("--rungs", type=_rung_list, default=tuple(r.key for r in RUNGS),
                        help=f"comma list of rungs to run (default all: {','.join(r.key for r in RUNGS)})")
    # At least 2 s: wrk counts whole seconds, and 1 s barely warms a fresh worker.
    return checked_args(parser, argv, min_warmup=2)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    spec = load_spec(args)
    results = in_workdir("casefeedback-ladder-", args.keep, lambda workdir: run_rungs(args, spec, workdir))
    return report(args, spec, results) if results else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
