# bench: the final feedback POST, casefeedback against a bare Flask + sqlite3 baseline
"""Benchmark the final submission POST of the feedback form.

casefeedback is served by gunicorn from a throwaway instance; every timed
request is the last POST of a real person's journey — "Send" on "Check your
answers", after consent was given and each question answered on its own page
(each answer saved, sealed, in the person's draft) — with its own session and
CSRF token, since each draft can be sent once. Those sessions are prepared
before the timed phase, through the same forms a browser posts, following the
app's own redirects from question to question. Only the final POST is timed:
it opens the draft, seals the answers afresh, stores the submission and its
consent receipt and erases the draft, in one transaction. Then the bare
baseline (baseline_app.py) is served the same way and sent the same answers in
one POST. The two servers never run at once.

Figures are printed and written to bench-results/submit.json; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import math
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from common import (
    BENCH_LIB,
    ROOT,
    BenchError,
    LoadSpec,
    choose_generator,
    drive,
    format_table,
    generator_label,
    gunicorn,
    init_instance,
    install_signal_handlers,
    machine,
    problems_of,
    write_json,
    wrk_version,
)
from load import Request, Result

SERVICE = "victim-support"
TARGET_RATIO = 0.60
# Prepare 60 % more sessions than the warm-up rate suggests: a warmed-up server
# runs faster than during the warm-up, and preparing costs far less than submitting.
SESSION_MARGIN = 1.6
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
COOKIE_NAMES = ("casefeedback", "__Host-casefeedback")
T = TypeVar("T")

# Plain, calm words: the free text must not look like the danger or self-harm
# phrases that policies raise alerts on, so every request takes the same path.
WORDS = ("the", "support", "worker", "called", "me", "back", "after", "a", "few", "days", "and", "explained",
         "what", "would", "happen", "next", "with", "court", "date", "I", "was", "grateful", "for", "help",
         "letters", "phone", "calls", "were", "clear", "kind", "it", "took", "time", "to", "get", "through",
         "office", "but", "once", "did", "they", "listened", "properly", "my", "family", "felt", "better")


@dataclass(frozen=True)
class Session:
    """One person's journey up to the final POST: their session cookie and CSRF token."""

    cookie: str
    csrf_token: str


def answers_of(rng: random.Random) -> dict[str, str]:
    """One person's answers, by question id."""
    return {"treated": "4", "listened": "yes", "informed": "sometimes", "easy_to_reach": "yes", "chased": "no",
            "safe_now": "yes", "safer": _text(rng, 200), "anything_else": _text(rng, 500)}


def answers_body(answers: dict[str, str]) -> str:
    """The baseline's single POST: every answer at once, url-encoded."""
    return urlencode({f"q_{question}": value for question, value in answers.items()})


def _text(rng: random.Random, length: int) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append(rng.choice(WORDS))
    return (" ".join(words)[: length - 1] + ".").capitalize()


# ---------------------------------------------------------------- preparing sessions


def _session_cookie(response: http.client.HTTPResponse, current: str) -> str:
    for header in response.headers.get_all("Set-Cookie") or []:
        pair = header.split(";", 1)[0]
        if pair.split("=", 1)[0] in COOKIE_NAMES:
            return pair
    return current


def _exchange(port: int, method: str, path: str, cookie: str, body: str | None = None,
              ) -> tuple[int, str, str, str | None]:
    """One request; return (status, body text, session cookie after it, Location if any)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Cookie": cookie} if cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", errors="replace")
        return response.status, text, _session_cookie(response, cookie), response.getheader("Location")
    finally:
        connection.close()


def _csrf(page: str, where: str) -> str:
    match = CSRF.search(page)
    if not match:
        raise BenchError(f"no CSRF token in {where}")
    return match.group(1) or match.group(2)


def _location(status: int, location: str | None, where: str) -> str:
    """The path a 303 leads to (the app's next page)."""
    if status != 303 or not location:
        raise BenchError(f"{where} answered {status} (expected 303 to the next page)")
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def prepare_session(port: int, answers: dict[str, str]) -> Session:
    """Open the form, give consent, answer each question on its own page: exactly what a browser posts.

    The CSRF token is the session's, so the one from the first page serves every
    form; each POST's redirect names the next page (a question, or the content
    warning before a sensitive section), until "Check your answers".
    """
    base = f"/feedback/{SERVICE}"
    status, page, cookie, _ = _exchange(port, "GET", base, "")
    if status != 200:
        raise BenchError(f"GET {base} answered {status}")
    token = _csrf(page, f"GET {base}")
    status, _, cookie, path = _exchange(port, "POST", f"{base}/consent", cookie,
                                        urlencode({"csrf_token": token, "choice_store": "y"}))
    if not cookie:
        raise BenchError(f"POST {base}/consent gave no session cookie")
    path = _location(status, path, f"POST {base}/consent")
    for _ in range(100):
        if path.startswith(f"{base}/check"):
            return Session(cookie, token)
        if path.startswith(f"{base}/section/"):
            form = {"csrf_token": token, "action": "continue"}
        else:
            form = {"csrf_token": token, "action": "continue", "answer": answers[path.rsplit("/", 1)[-1]]}
        status, _, cookie, location = _exchange(port, "POST", path, cookie, urlencode(form))
        path = _location(status, location, f"POST {path}")
    raise BenchError("the journey never reached Check your answers")


def prepare_sessions(port: int, answers: Sequence[dict[str, str]], threads: int) -> list[Session]:
    pool = ThreadPoolExecutor(max_workers=threads)
    try:
        return list(pool.map(lambda given: prepare_session(port, given), answers))
    finally:
        # On Ctrl-C or an error, drop the sessions not yet started instead of preparing them all.
        pool.shutdown(wait=True, cancel_futures=True)


def casefeedback_requests(sessions: Sequence[Session]) -> list[Request]:
    """The final "Send": the answers are already in each session's draft, so the body is the token alone."""
    return [Request(body=urlencode({"csrf_token": s.csrf_token}), cookie=s.cookie) for s in sessions]


def smoke_test(port: int, path: str, request: Request) -> None:
    """One request by hand before the load: a broken setup fails here, in words, not as 100 % errors."""
    status, page, _, _ = _exchange(port, "POST", path, request.cookie, request.body)
    if status != 200 or "receipt-code" not in page:
        raise BenchError(f"a single POST {path} answered {status} without a receipt code; "
                         "the benchmark would only measure errors")


# ---------------------------------------------------------------- the run


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def serve_casefeedback(workers: int, workdir: Path) -> Iterator[int]:
    """A throwaway instance of casefeedback served by gunicorn until the block ends; yield the port."""
    env = init_instance(workdir / "instance", workdir / "init.log")
    with gunicorn("casefeedback.wsgi:app", workers=workers, env=env,
                  log_path=workdir / "casefeedback-gunicorn.log") as port:
        yield port


def measure_send(args: argparse.Namespace, spec: LoadSpec, workdir: Path, rng: random.Random, port: int,
                 ) -> tuple[Result, list[dict[str, str]]]:
    """Time the final Send on the casefeedback at ``port``; also return the answers the timed run sent."""
    path = f"/feedback/{SERVICE}/send"
    say(f"casefeedback is up on port {port}; checking one submission by hand")
    smoke_test(port, path, casefeedback_requests(prepare_sessions(port, [answers_of(rng)], 1))[0])

    warm_count = args.sessions_warmup or max(300, 40 * spec.connections)
    warm = casefeedback_requests(prepare_sessions(port, [answers_of(rng) for _ in range(warm_count)],
                                                  args.prep_threads))
    say(f"warming up for {args.warmup:.0f} s (also measures the rate, to size the timed run)")
    warmup = drive("casefeedback-warmup", port, path, warm, spec, workdir, cycle=False,
                   duration_s=args.warmup)
    rate = max(warmup.rps, 1.0)
    needed = args.sessions or math.ceil(rate * spec.duration_s * SESSION_MARGIN) + 4 * spec.connections
    started = time.monotonic()
    given = [answers_of(rng) for _ in range(needed)]
    say(f"warm-up ran {warmup.rps:.0f} req/s; preparing {needed} sessions (about 11 requests each) ...")
    sessions = prepare_sessions(port, given, args.prep_threads)
    say(f"prepared them in {time.monotonic() - started:.0f} s; timed run of {spec.duration_s:.0f} s")
    return drive("casefeedback", port, path, casefeedback_requests(sessions), spec, workdir, cycle=False), given


def run_casefeedback(args: argparse.Namespace, spec: LoadSpec, workdir: Path, rng: random.Random,
                     ) -> tuple[Result, list[str]]:
    with serve_casefeedback(args.workers, workdir) as port:
        result, given = measure_send(args, spec, workdir, rng, port)
    return result, [answers_body(answers) for answers in given]


def run_baseline(args: argparse.Namespace, spec: LoadSpec, workdir: Path, bodies: Sequence[str], *,
                 name: str = "baseline", key_hex: str | None = None) -> Result:
    """Serve baseline_app.py (stdlib sqlite3, or SQLCipher under ``key_hex``) and time POST /submit."""
    import baseline_app  # a sibling module; importing it only defines the app

    database = workdir / f"{name}.db"
    baseline_app.create_database(str(database), key_hex)
    requests = [Request(body=body) for body in bodies]
    with gunicorn("baseline_app:app", workers=args.workers, env=baseline_app.server_env(str(database), key_hex),
                  log_path=workdir / f"{name}-gunicorn.log",
                  extra_args=("--pythonpath", str(BENCH_LIB))) as port:
        say(f"{name} is up on port {port}; warming up for {args.warmup:.0f} s")
        smoke_test(port, "/submit", requests[0])
        # The baseline needs no sessions, so it cycles through the same bodies for the full duration.
        drive(f"{name}-warmup", port, "/submit", requests, spec, workdir, cycle=True, duration_s=args.warmup)
        say(f"timed run of {spec.duration_s:.0f} s")
        return drive(name, port, "/submit", requests, spec, workdir, cycle=True)


def load_options(prog: str, description: str | None, *, duration: float) -> argparse.ArgumentParser:
    """The options of a benchmark that drives servers with submit's load (ladder.py uses them too)."""
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=duration,
                        help=f"seconds of each timed run (default {duration:.0f})")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for every server (default 2)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per server (default 3)")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator: wrk if installed (auto, the default), or the Python fallback")
    parser.add_argument("--prep-threads", type=int, default=4, help="threads preparing sessions (default 4)")
    parser.add_argument("--sessions", type=int, default=0,
                        help="sessions to prepare for the timed run (default: sized from the warm-up rate)")
    parser.add_argument("--sessions-warmup", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    return parser


def checked_args(parser: argparse.ArgumentParser, argv: Sequence[str], *, min_warmup: float) -> argparse.Namespace:
    args = parser.parse_args(argv)
    for name in ("duration", "connections", "workers", "prep_threads"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.warmup < min_warmup:
        parser.error(f"--warmup must be at least {min_warmup:.0f} s")
    return args


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    return checked_args(load_options("scripts/bench submit", __doc__, duration=20), argv, min_warmup=1)


def load_spec(args: argparse.Namespace) -> LoadSpec:
    return LoadSpec(connections=args.connections, duration_s=args.duration, generator=choose_generator(args.loadgen))


def in_workdir(prefix: str, keep: bool, work: Callable[[Path], T]) -> T | None:
    """``work`` in a fresh temporary directory, removed afterwards unless ``keep``.

    A BenchError is said and gives None; the directory is then kept, since its logs say why.
    """
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return work(workdir)
    except BenchError as error:
        say(f"{error}\n(logs are in {workdir})")
        keep = True
        return None
    finally:
        if keep:
            say(f"kept {workdir}")
        else:
            _remove(workdir)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    spec = load_spec(args)
    rng = random.Random(20261102)  # the same answers on every run

    def both(workdir: Path) -> tuple[Result, Result]:
        ours, bodies = run_casefeedback(args, spec, workdir, rng)
        return ours, run_baseline(args, spec, workdir, bodies)

    measured = in_workdir("casefeedback-bench-", args.keep, both)
    return report(args, spec, *measured) if measured else 1


def report(args: argparse.Namespace, spec: LoadSpec, ours: Result, baseline: Result) -> int:
    ratio = ours.rps / baseline.rps if baseline.rps else 0.0
    title = (f"submit POST, {args.workers} gunicorn workers, {spec.connections} connections, "
             f"{spec.duration_s:.0f} s, {generator_label(spec)}")
    print(format_table(title, [ours, baseline]))
    print(f"ratio (casefeedback / baseline): {ratio:.2f}  (target >= {TARGET_RATIO:.2f})")
    print("req/s counts 200 responses only; latencies cover every response. The baseline is bare Flask + "
          "stdlib sqlite3 (WAL, synchronous=NORMAL, as casefeedback) with no CSRF, session, encryption "
          "or audit log.")
    problems = print_caveats([ours, baseline], spec.duration_s)
    path = write_json("submit", {
        **results_header("submit", args, spec),
        "results": {"casefeedback": ours.as_json(), "baseline": baseline.as_json()},
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
        "problems": problems,
    })
    print(f"(written to {path.relative_to(ROOT)})")
    # Errors make the figures untrustworthy: say so in the exit status too. A
    # ratio below target is a finding, not a failure of the benchmark.
    return 1 if any(r.error_count or r.ok == 0 for r in (ours, baseline)) else 0


def print_caveats(results: Sequence[Result], duration_s: float) -> list[str]:
    """Print what makes the figures less comparable or trustworthy; return the problems, for the JSON."""
    cpus = os.cpu_count()
    if cpus != 2:
        print(f"note: this machine has {cpus} CPUs; the target is set for a 2-core machine.")
    problems = problems_of(results, duration_s)
    for problem in problems:
        print(f"WARNING: {problem}")
    if problems:
        print("WARNING: this run had problems (above); do not compare its figures with clean runs.")
    return problems


def results_header(name: str, args: argparse.Namespace, spec: LoadSpec, **settings: Any) -> dict[str, Any]:
    """The opening of a load benchmark's JSON: what ran, when, where, and with which settings (plus ``settings``)."""
    return {
        "benchmark": name,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {"workers": args.workers, "connections": spec.connections, "duration_s": spec.duration_s,
                     "warmup_s": args.warmup, "loadgen": spec.generator, **settings,
                     "wrk_version": wrk_version() if spec.generator == "wrk" else None},
    }


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
