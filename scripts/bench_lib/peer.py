"""The conventional peer in the submit benchmark: conventional_app.py served and timed as casefeedback is.

Each timed POST /send has a session of its own, prepared beforehand (GET the
form, POST the answers), sized from a warm-up, driven by the same load
generator with the same settings and number of workers as casefeedback.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

from clients import Session, _csrf, _exchange, _location, final_posts, say, sessions_needed, smoke_test
from common import BENCH_LIB, BenchError, LoadSpec, drive, gunicorn
from load import Request, Result

# Its sessions cost two cheap requests each, and running out early spoils the run: prepare plenty.
PEER_MARGIN = 3.0


def prepare_peer_session(port: int, answers: dict[str, str]) -> Session:
    """GET the form (a CSRF token in a new session), POST every answer: the session now holds them."""
    status, page, cookie, _ = _exchange(port, "GET", "/form", "")
    if status != 200:
        raise BenchError(f"the conventional peer's GET /form answered {status}")
    token = _csrf(page, "the conventional peer's GET /form")
    form = {"csrf_token": token, **{f"q_{question}": value for question, value in answers.items()}}
    status, _, cookie, location = _exchange(port, "POST", "/answers", cookie, urlencode(form))
    _location(status, location, "the conventional peer's POST /answers")
    return Session(cookie, token)


def run_conventional(args: argparse.Namespace, spec: LoadSpec, workdir: Path, given: Sequence[dict[str, str]],
                     workers: int) -> Result:
    """Serve conventional_app.py and time POST /send, each with a prepared session, as casefeedback's."""
    import conventional_app  # a sibling module; importing it only defines the app

    database = workdir / "conventional.db"
    conventional_app.create_database(str(database))

    def requests(count: int) -> list[Request]:
        pool = ThreadPoolExecutor(max_workers=args.prep_threads)
        try:
            return final_posts(list(pool.map(lambda i: prepare_peer_session(port, given[i % len(given)]),
                                             range(count))))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    with gunicorn("conventional_app:app", workers=workers, env=conventional_app.server_env(str(database)),
                  log_path=workdir / "conventional-gunicorn.log", extra_args=("--pythonpath", str(BENCH_LIB))) as port:
        say(f"the conventional peer is up on port {port}; warming up for {args.warmup:.0f} s")
        smoke_test(port, "/send", requests(1)[0])
        warmup = drive("conventional-warmup", port, "/send", requests(max(300, 40 * spec.connections)), spec,
                       workdir, cycle=False, duration_s=args.warmup)
        needed = args.sessions or sessions_needed(warmup, spec, PEER_MARGIN)
        say(f"warm-up ran {warmup.rps:.0f} req/s; preparing {needed} sessions (2 requests each)")
        timed = requests(needed)
        say(f"timed run of {spec.duration_s:.0f} s")
        return drive("conventional", port, "/send", timed, spec, workdir, cycle=False)


