# bench: the final feedback POST, casefeedback against a conventional Flask app and a bare baseline
"""Benchmark the final submission POST of the feedback form, with 1 and with 2 gunicorn workers.

casefeedback is served by gunicorn from a throwaway instance; every timed
request is the last POST of a real person's journey — "Send" on "Check your
answers", after consent was given and each question answered on its own page
(each answer saved, sealed, in the person's draft) — with its own session and
CSRF token, since each draft can be sent once. Those sessions are prepared
before the timed phase, through the same forms a browser posts, following the
app's own redirects from question to question. Only the final POST is timed:
it opens the draft, seals the answers afresh, then stores the submission and
its consent receipt and erases the draft in one write transaction. Then the
conventional peer (conventional_app.py: Flask-WTF, a cookie session holding
the answers, a Jinja page, SQLAlchemy on plain SQLite) is sent the same
answers the same way — a prepared session per timed request — and the bare
baseline (baseline_app.py) the same answers in one POST. No two servers run at
once. All three run with 1 worker, then with --workers (default 2).

--engine postgres (or both) serves casefeedback on PostgreSQL too (or instead),
a fresh database per measured row on a throwaway server scripts/bench starts
(scripts/_services.sh, as the tests'), beside the SQLCipher row and the peer.
--instances N adds, on PostgreSQL, N instances of casefeedback (directories
sharing the first one's secrets and the one database, each on its own port,
each with the same workers) with the load generator's connections spread over
them, and prints N instances ÷ 1 instance.

casefeedback's workers count how long each write holds the instance's writer
lock (casefeedback.storage.lock_stats, switched on by the environment), so the
report gives the lock's share of a send's CPU: the part a second worker cannot
run alongside. The load average at the end of each timed run says how busy the
(shared) machine was.

Figures are printed and written to bench-results/submit.json; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import submit_report
from clients import (
    Session,
    _csrf,
    _exchange,
    _location,
    final_posts,
    say,
    sessions_needed,
    smoke_test,
)
from common import (
    BENCH_LIB,
    ROOT,
    BenchError,
    LoadSpec,
    choose_generator,
    copy_instance_secrets,
    drive,
    drive_spread,
    fresh_database,
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
from peer import run_conventional
from submit_report import LockFigures, Measured, WorkersRun

from casefeedback.storage.lock_stats import STATS_ENV, LockTotals, read_totals

SERVICE = "victim-support"
TARGET_RATIO = 0.60
SETTLE_S = 0.5
T = TypeVar("T")

# Plain, calm words: the free text must not look like the danger or self-harm
# phrases that policies raise alerts on, so every request takes the same path.
WORDS = ("the", "support", "worker", "called", "me", "back", "after", "a", "few", "days", "and", "explained",
         "what", "would", "happen", "next", "with", "court", "date", "I", "was", "grateful", "for", "help",
         "letters", "phone", "calls", "were", "clear", "kind", "it", "took", "time", "to", "get", "through",
         "office", "but", "once", "did", "they", "listened", "properly", "my", "family", "felt", "better")


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


def prepare_session(port: int, answers: dict[str, str]) -> Session:
    """Open the form, give consent, answer each question on its own page: exactly what a browser posts.

    The CSRF token is the session's, so the one from the first page serves every
    form; each POST's redirect names the next page (a question, or the content
    warning before a sensitive section), until "Check your answers".
    """
    base = f"/feedback/{SERVICE}"
    # The service's address is a door (intake/arrival.py): it marks the browser as come in and redirects.
    status, _, cookie, location = _exchange(port, "GET", base, "")
    consent_page = _location(status, location, f"GET {base}")
    status, page, cookie, _ = _exchange(port, "GET", consent_page, cookie)
    if status != 200:
        raise BenchError(f"GET {consent_page} answered {status}")
    token = _csrf(page, f"GET {consent_page}")
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


def prepare_sessions(port: int | Sequence[int], answers: Sequence[dict[str, str]], threads: int,
                     ) -> list[Session]:
    """A session per answers; given several ports (instances sharing a database), the i-th through port i mod N."""
    ports = [port] if isinstance(port, int) else list(port)
    pool = ThreadPoolExecutor(max_workers=threads)
    try:
        return list(pool.map(lambda i: prepare_session(ports[i % len(ports)], answers[i]), range(len(answers))))
    finally:
        # On Ctrl-C or an error, drop the sessions not yet started instead of preparing them all.
        pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------- the run


@contextlib.contextmanager
def serve_casefeedback(workers: int, workdir: Path, stats_dir: Path | None = None) -> Iterator[int]:
    """A throwaway instance of casefeedback served by gunicorn until the block ends; yield the port.

    With ``stats_dir``, its workers count the writer lock's hold time there (lock_stats).
    """
    with serve_instances(workers, workdir, stats_dir) as ports:
        yield ports[0]


@contextlib.contextmanager
def serve_instances(workers: int, workdir: Path, stats_dir: Path | None = None, *, database_url: str | None = None,
                    count: int = 1) -> Iterator[list[int]]:
    """``count`` instances of casefeedback, each served by gunicorn with ``workers``; yield their ports.

    With ``database_url`` they keep their data in that PostgreSQL database, else the first instance's
    SQLCipher file (then ``count`` must be 1). Every instance after the first is a directory of its own
    holding a copy of the first one's secrets, as an operator adds one: `casefeedback init` there only
    checks the shared database.
    """
    if count > 1 and database_url is None:
        raise BenchError("several instances need a shared database: PostgreSQL (--engine postgres)")
    extra = {"CASEFEEDBACK_DATABASE_URL": database_url} if database_url else {}
    if stats_dir is not None:
        stats_dir.mkdir(exist_ok=True)
    first = workdir / "instance"
    with contextlib.ExitStack() as servers:
        ports = []
        for number in range(1, count + 1):
            suffix = "" if number == 1 else f"-{number}"
            instance = workdir / f"instance{suffix}"
            if number > 1:
                copy_instance_secrets(first, instance)
            env = init_instance(instance, workdir / f"init{suffix}.log", extra)
            if stats_dir is not None:  # the servers' writes are counted, not init's
                env[STATS_ENV] = str(stats_dir)
            ports.append(servers.enter_context(gunicorn(
                "casefeedback.wsgi:app", workers=workers, env=env,
                log_path=workdir / f"casefeedback{suffix}-gunicorn.log")))
        yield ports


def prepare_send(args: argparse.Namespace, spec: LoadSpec, workdir: Path, rng: random.Random,
                 port: int | Sequence[int]) -> tuple[list[Request], list[dict[str, str]]]:
    """Check one Send by hand, warm up, and prepare enough sessions for the timed run (and their answers).

    Given several ports (instances sharing a database), each is checked with a session made through
    another, warmed up, and given its share of the sessions to prepare.
    """
    ports = [port] if isinstance(port, int) else list(port)
    path = f"/feedback/{SERVICE}/send"
    say(f"casefeedback is up on port{'s' if len(ports) > 1 else ''} {', '.join(map(str, ports))}; "
        "checking one submission by hand")
    for index, target in enumerate(ports):
        smoke_test(target, path, final_posts(prepare_sessions(ports[index - 1], [answers_of(rng)], 1))[0])

    warm_count = args.sessions_warmup or max(300, 40 * spec.connections)
    warm = final_posts(prepare_sessions(ports, [answers_of(rng) for _ in range(warm_count)],
                                                  args.prep_threads))
    say(f"warming up for {args.warmup:.0f} s (also measures the rate, to size the timed run)")
    warmup = drive_spread("casefeedback-warmup", ports, path, warm, spec, workdir, cycle=False,
                          duration_s=args.warmup)
    needed = args.sessions or sessions_needed(warmup, spec)
    started = time.monotonic()
    given = [answers_of(rng) for _ in range(needed)]
    say(f"warm-up ran {warmup.rps:.0f} req/s; preparing {needed} sessions (about 11 requests each) ...")
    sessions = prepare_sessions(ports, given, args.prep_threads)
    say(f"prepared them in {time.monotonic() - started:.0f} s; timed run of {spec.duration_s:.0f} s")
    return final_posts(sessions), given


def measure_send(args: argparse.Namespace, spec: LoadSpec, workdir: Path, rng: random.Random, port: int,
                 ) -> tuple[Result, list[dict[str, str]]]:
    """Time the final Send on the casefeedback at ``port``; also return the answers the timed run sent."""
    requests, given = prepare_send(args, spec, workdir, rng, port)
    return drive("casefeedback", port, f"/feedback/{SERVICE}/send", requests, spec, workdir, cycle=False), given


def run_casefeedback(args: argparse.Namespace, spec: LoadSpec, workdir: Path, rng: random.Random, workers: int,
                     ) -> tuple[Result, list[str], LockFigures]:
    """The timed Send with ``workers``, the bodies it sent (for the others), and the writer lock over the run."""
    stats_dir = workdir / "lock-stats"
    with serve_casefeedback(workers, workdir, stats_dir) as port:
        requests, given = prepare_send(args, spec, workdir, rng, port)
        before = read_totals(stats_dir)
        result = drive("casefeedback", port, f"/feedback/{SERVICE}/send", requests, spec, workdir, cycle=False)
        time.sleep(SETTLE_S)  # requests still in flight when the run stopped finish and are counted
        spent = read_totals(stats_dir) - before
    return result, [answers_body(answers) for answers in given], _lock_figures(spent)


def run_on_postgres(args: argparse.Namespace, spec: LoadSpec, workdir: Path, rng: random.Random, workers: int,
                    instances: int) -> tuple[Result, list[str]]:
    """The timed Send on PostgreSQL: ``instances`` instances with ``workers`` each, a fresh database of their own.

    No writer-lock figures: PostgreSQL orders its writers itself (lock_stats counts the SQLCipher lock).
    """
    workdir.mkdir()
    name = "casefeedback-postgres" + (f"-{instances}i" if instances > 1 else "")
    with fresh_database(f"{workers}w_{instances}i") as url, \
            serve_instances(workers, workdir, database_url=url, count=instances) as ports:
        requests, given = prepare_send(args, spec, workdir, rng, ports)
        result = drive_spread(name, ports, f"/feedback/{SERVICE}/send", requests, spec, workdir, cycle=False)
    return result, [answers_body(answers) for answers in given]


def _lock_figures(spent: LockTotals) -> LockFigures:
    return LockFigures(spent.writes, spent.held_ns, spent.held_cpu_ns, spent.process_cpu_ns)


def run_baseline(args: argparse.Namespace, spec: LoadSpec, workdir: Path, bodies: Sequence[str], *,
                 name: str = "baseline", key_hex: str | None = None, workers: int | None = None) -> Result:
    """Serve baseline_app.py (stdlib sqlite3, or SQLCipher under ``key_hex``) and time POST /submit."""
    import baseline_app  # a sibling module; importing it only defines the app

    database = workdir / f"{name}.db"
    baseline_app.create_database(str(database), key_hex)
    requests = [Request(body=body) for body in bodies]
    with gunicorn("baseline_app:app", workers=workers or args.workers,
                  env=baseline_app.server_env(str(database), key_hex), log_path=workdir / f"{name}-gunicorn.log",
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


ENGINES = ("sqlcipher", "postgres", "both")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = load_options("scripts/bench submit", __doc__, duration=20)
    parser.add_argument("--engine", choices=ENGINES, default="sqlcipher",
                        help="casefeedback's database: its SQLCipher file (the default), PostgreSQL, or both "
                             "one after another in the same run")
    parser.add_argument("--instances", type=int, default=1,
                        help="also serve casefeedback on PostgreSQL as this many instances sharing the database, "
                             "the connections spread over them (needs --engine postgres or both; default 1)")
    args = checked_args(parser, argv, min_warmup=1)
    if args.instances < 1:
        parser.error("--instances must be positive")
    if args.instances > 1 and args.engine == "sqlcipher":
        parser.error("--instances needs --engine postgres or both: instances share a PostgreSQL database")
    if args.instances > args.connections:
        parser.error(f"--instances {args.instances} needs at least as many --connections")
    return args


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

    def every_count(workdir: Path) -> list[WorkersRun]:
        return [measure_with(args, spec, workdir / f"{workers}-workers", rng, workers)
                for workers in sorted({1, args.workers})]

    started = os.getloadavg()
    measured = in_workdir("casefeedback-bench-", args.keep, every_count)
    return report(args, spec, measured, started) if measured else 1


def measure_with(args: argparse.Namespace, spec: LoadSpec, workdir: Path, rng: random.Random, workers: int,
                 ) -> WorkersRun:
    """casefeedback (on each engine asked for), the conventional peer and the bare baseline, one after
    another, each with ``workers``."""
    workdir.mkdir()
    say(f"--- {workers} gunicorn worker{'s' if workers > 1 else ''} for every server")

    def measured(result: Result) -> Measured:
        # The 1-minute load average as the run ends, beside it.
        return Measured(dataclasses.replace(result, name=f"{result.name} ({workers}w)"), os.getloadavg()[0])

    ours = lock = postgres = spread = None
    bodies: list[str] = []
    if args.engine in ("sqlcipher", "both"):
        result, bodies, lock = run_casefeedback(args, spec, workdir, rng, workers)
        ours = measured(result)
    if args.engine in ("postgres", "both"):
        say("casefeedback on PostgreSQL, one instance")
        result, sent = run_on_postgres(args, spec, workdir / "postgres", rng, workers, 1)
        postgres, bodies = measured(result), bodies or sent
        if args.instances > 1:
            say(f"casefeedback on PostgreSQL, {args.instances} instances sharing the database")
            result, _ = run_on_postgres(args, spec, workdir / f"postgres-{args.instances}-instances", rng, workers,
                                        args.instances)
            spread = measured(result)
    given = [answers_of(rng) for _ in range(1000)]
    peer = measured(run_conventional(args, spec, workdir, given, workers))
    baseline = measured(run_baseline(args, spec, workdir, bodies, workers=workers))
    return WorkersRun(workers, ours, peer, baseline, lock, postgres, spread, args.instances)


def report(args: argparse.Namespace, spec: LoadSpec, runs: Sequence[WorkersRun],
           load_at_start: tuple[float, float, float]) -> int:
    title = (f"submit POST, {spec.connections} connections, {spec.duration_s:.0f} s per timed run, "
             f"{generator_label(spec)}; load average at the start {' '.join(f'{x:.2f}' for x in load_at_start)}")
    if args.engine != "sqlcipher":
        title += f"; engine {args.engine}" + (f", {args.instances} instances" if args.instances > 1 else "")
    print(submit_report.table(title, runs))
    for line in submit_report.summary(runs, TARGET_RATIO):
        print(line)
    print("req/s counts 200 responses only; latencies cover every response; load1 is the 1-minute load average "
          "at the end of that timed run (the machine is shared: compare ratios, not absolute figures). The "
          "conventional peer is Flask + Flask-WTF CSRF + a cookie session + Jinja + SQLAlchemy on plain SQLite; "
          "the bare baseline is Flask + stdlib sqlite3 with no CSRF, session, encryption or audit log.")
    if args.engine != "sqlcipher":
        print("cf PostgreSQL is casefeedback on PostgreSQL (a fresh database per row, on a throwaway local server "
              "reached by its Unix socket, fsync off, as the tests'); its sealed fields are encrypted as on "
              "SQLCipher, the rest is not (encryption at rest is the operator's there)."
              + (f" cf PostgreSQL ×{args.instances} is {args.instances} instances sharing that database, each "
                 "with the row's workers, the connections spread over them (with wrk: one wrk per instance, run "
                 "together, summed; p50/p99 the highest of theirs)." if args.instances > 1 else ""))
    results = [measured.result for run in runs for _, measured in submit_report.rows(run)]
    problems = print_caveats(results, spec.duration_s)
    most = runs[-1]
    path = write_json("submit", {
        **results_header("submit", args, spec, load_average_at_start=list(load_at_start), engine=args.engine,
                         instances=args.instances),
        "results": {"casefeedback": most.ours.result.as_json() if most.ours else None,
                    **({"casefeedback_postgres": most.postgres.result.as_json()} if most.postgres else {}),
                    **({"casefeedback_postgres_instances": most.spread.result.as_json()} if most.spread else {}),
                    "conventional": most.peer.result.as_json(), "baseline": most.baseline.result.as_json()},
        "ratio": round(most.vs_baseline, 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": most.vs_baseline >= TARGET_RATIO,
        **submit_report.as_json(runs),
        "problems": problems,
    })
    print(f"(written to {path.relative_to(ROOT)})")
    # Errors make the figures untrustworthy: say so in the exit status too. A
    # ratio below target is a finding, not a failure of the benchmark.
    return 1 if any(r.error_count or r.ok == 0 for r in results) else 0


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
