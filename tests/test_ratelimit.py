"""The documented per-address limits hold exactly under gunicorn, however many workers it runs.

Each gunicorn worker is its own process: with counters in each one's memory,
two workers let a script make twice the documented number of guesses. Here a
real gunicorn serves a fresh instance with 2 and 3 sync workers (twice over), and one
address tries the three doors a guesser would try. The first 429 must come at
exactly the documented limit + 1 — the number read from the code and from
SECURITY.md/README.md, which must agree. Attempts alternate between two
gunicorn masters over the same instance, so more than one process always
answers (the access logs must show it, or the test would prove nothing).
"""

from __future__ import annotations

import functools
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from limits.storage import MemoryStorage
from sqlalchemy import select, text

from casefeedback import create_app
from casefeedback.audit.actions import Action
from casefeedback.auth.blueprint import SIGN_IN_LIMIT
from casefeedback.config import Config
from casefeedback.intake.later import RESUME_LIMIT
from casefeedback.ratelimit import limiter
from casefeedback.receipts.blueprint import CODE_LIMITS
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.ratelimits import DatabaseStorage
from casefeedback.storage.tables import audit_events, metadata, rate_limits
from tests.conftest import CSRF, POLICIES, ROOT, Clock, StaffFactory, csrf_token, make_config
from tests.services import flush_redis, redis_counters, redis_url

GUNICORN = Path(sys.executable).parent / "gunicorn"
WRONG_CODE = "ABCD-EFGH-JKMN-PQRS-TVWX"  # well formed, belongs to nobody
RESUME = "/feedback/victim-support/resume"
UNITS = {"minute", "hour", "day"}


# --- what the code and the documents say ------------------------------------------------------------


def code_limits(limit: str) -> dict[str, int]:
    """"10 per minute;50 per day" -> {"minute": 10, "day": 50}."""
    found = dict((unit, int(n)) for n, unit in re.findall(r"(\d+) per (\w+)", limit))
    assert set(found) <= UNITS and ";".join(f"{n} per {u}" for u, n in found.items()) == limit
    return found


def documented(document: str, anchor: str) -> dict[str, int]:
    """The limits stated right after ``anchor`` in ``document``, in its words ("10 a minute, 50 a day")."""
    text = " ".join((ROOT / document).read_text(encoding="utf-8").split())
    start = text.index(anchor) + len(anchor)
    statement = re.match(r"[^|.;]*", text[start:])
    assert statement is not None
    found = {unit: int(n) for n, unit in re.findall(r"(\d+) (?:attempts )?a (minute|hour|day)", statement.group())}
    assert "minute" in found, f"{document} states no per-minute limit after {anchor!r}"
    return found


@dataclass(frozen=True)
class Door:
    limit: str  # the constant the view is decorated with
    statements: tuple[tuple[str, str], ...]  # (document, the words just before its numbers)


DOORS = {
    "receipt code": Door(CODE_LIMITS, (
        ("SECURITY.md", "wrong codes are throttled per address"),
        ("README.md", "Wrong codes are throttled per address"))),
    "resume code": Door(RESUME_LIMIT, (
        ("SECURITY.md", "never opens a draft); only POST bodies; throttled per address"),)),
    "sign-in": Door(SIGN_IN_LIMIT, (
        ("SECURITY.md", "the message never says which exist); per address:"),
        ("README.md", "Each address is also"))),
}


@pytest.mark.parametrize("door", DOORS)
def test_the_documents_state_the_limits_the_code_enforces(door: str) -> None:
    enforced = code_limits(DOORS[door].limit)
    for document, anchor in DOORS[door].statements:
        stated = documented(document, anchor)
        assert all(enforced.get(unit) == n for unit, n in stated.items()), (document, stated, enforced)


# --- a real gunicorn -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """Two gunicorn masters on two ports over one instance: attempts alternate between them, so every try is
    answered by more than one process whatever the kernel does with connections (a per-process count could
    not hide behind one worker that happened to take every attempt)."""

    urls: list[str]
    access_logs: list[Path]
    redis: str | None = None  # the shared counter store, when not the instance's database

    @property
    def url(self) -> str:
        return self.urls[0]

    def workers_that_answered(self, path: str, address: str) -> set[str]:
        """Worker process ids that answered a POST to ``path`` from ``address`` (the access log's lines are
        "pid address method path status")."""
        lines = [line for log in self.access_logs for line in log.read_text(encoding="utf-8").splitlines()]
        fields = (line.split(" ") for line in lines)
        return {f[0] for f in fields if len(f) == 5 and f[1:4] == [address, "POST", path]}


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"gunicorn exited while starting:\n{log.read_text()}"
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:  # noqa: S310 (our own loopback)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"gunicorn did not answer /health within 60 s:\n{log.read_text()}")


# One server per worker count and counter store for the module: each door has its own limit, so
# they do not meet. "redis" keeps the counters in a real Redis (scripts/test starts one), as several
# hosts would: the same exact limits must hold with the counters outside every process and database.
@pytest.fixture(scope="module", params=[(2, "database"), (3, "database"), (2, "redis")],
                ids=lambda p: f"{p[0]}-workers-{p[1]}")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A fresh instance (fresh keys, its own database) served by two gunicorns with N sync workers each."""
    workers, store = request.param
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    instance = tmp_path / "instance"
    make_config(instance)
    # Nothing inherited may change the store or lift the limits.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEFEEDBACK_")} | {
        "CASEFEEDBACK_INSTANCE": str(instance), "CASEFEEDBACK_POLICIES": str(POLICIES),
        "CASEFEEDBACK_ENV": "development"}
    if store == "redis":
        url = redis_url()
        flush_redis(url)
        env["CASEFEEDBACK_RATELIMIT_STORAGE"] = url
    processes: list[subprocess.Popen[bytes]] = []
    urls, access_logs = [], []
    try:
        for n in range(2):
            port, access_log, log = _free_port(), tmp_path / f"access-{n}.log", tmp_path / f"gunicorn-{n}.log"
            command = [str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                       "--worker-class", "sync", "--access-logfile", str(access_log),
                       "--access-logformat", "%(p)s %(h)s %(m)s %(U)s %(s)s", "casefeedback.wsgi:app"]
            with log.open("wb") as output:
                processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=output,
                                                  stderr=subprocess.STDOUT, start_new_session=True))
            urls.append(f"http://127.0.0.1:{port}")
            access_logs.append(access_log)
            _wait_until_up(processes[-1], urls[-1], log)
        yield Server(urls, access_logs, env.get("CASEFEEDBACK_RATELIMIT_STORAGE"))
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)  # gunicorn's graceful stop; it reaps its own workers
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


class _From(urllib.request.HTTPHandler):
    """Connect from ``address``: any 127.x.y.z is this machine, so each is a client address of its own."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(http.client.HTTPConnection, source_address=(self.address, 0)), req)


class Browser:
    """One person's browser at one address: keeps its cookies, follows redirects on GET (never on POST),
    reads the CSRF token."""

    def __init__(self, bases: list[str], address: str) -> None:
        self.bases = bases
        self.posts = 0
        cookies = urllib.request.HTTPCookieProcessor(CookieJar())
        self.following = urllib.request.build_opener(cookies, _From(address))
        self.staying = urllib.request.build_opener(cookies, _From(address), _NoRedirect)

    def _send(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        opener, body = (self.following, None) if form is None else (self.staying, urllib.parse.urlencode(form).encode())
        # Cookies are not kept apart by port, so one browser's session is the same at either server.
        base = self.bases[0] if form is None else self.bases[self.posts % len(self.bases)]
        self.posts += form is not None
        try:
            with opener.open(f"{base}{path}", data=body, timeout=30) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode()

    def token(self, path: str) -> str:
        status, page = self._send(path)
        match = CSRF.search(page)
        assert status == 200 and match, f"no form at {path} ({status})"
        return match.group(1) or match.group(2)

    def visit(self, path: str) -> None:
        assert self._send(path)[0] == 200, path

    def post(self, path: str, form: dict[str, str]) -> int:
        return self._send(path, form)[0]


# A new client address for every try, so no try inherits another's count.
ADDRESSES = (f"127.0.0.{n}" for n in range(10, 255))
# Attempts alternate between two servers, so one try is always answered by several processes;
# the loop stays as a guard should that ever not hold.
TRIES = 2


@dataclass(frozen=True)
class Attempts:
    door: str  # the address a person is given, which lets the browser in
    form_at: str
    post_to: str
    form: dict[str, str]
    fresh: str | None = None  # a field given a new random value each time


def refused_exactly_after(server: Server, attempts: Attempts, allowed: int, before_limit: int) -> None:
    """From one address at a time: ``allowed`` attempts answered ``before_limit``, then only 429s."""
    for _ in range(TRIES):
        address = next(ADDRESSES)
        browser = Browser(server.urls, address)
        browser.visit(attempts.door)
        token = browser.token(attempts.form_at)
        statuses = []
        for _ in range(allowed + 3):
            fresh = {attempts.fresh: f"guess-{secrets.token_hex(4)}"} if attempts.fresh else {}
            statuses.append(browser.post(attempts.post_to, attempts.form | {"csrf_token": token} | fresh))
        assert 429 in statuses, f"never refused: {statuses}"
        assert statuses.index(429) == allowed, f"first 429 at attempt {statuses.index(429) + 1}, not {allowed + 1}"
        assert statuses == [before_limit] * allowed + [429] * 3, statuses
        if server.redis:
            assert redis_counters(server.redis), "the counters did not reach the shared Redis"
        if len(server.workers_that_answered(attempts.post_to, address)) > 1:
            return
    raise AssertionError(f"one worker answered every attempt in {TRIES} tries: the test proved nothing")


def test_wrong_receipt_codes_are_refused_after_exactly_the_documented_number(server: Server) -> None:
    attempts = Attempts("/feedback/receipt/", "/feedback/receipt/", "/feedback/receipt/check", {"code": WRONG_CODE})
    refused_exactly_after(server, attempts, code_limits(CODE_LIMITS)["minute"], 404)


def test_resume_codes_are_refused_after_exactly_the_documented_number(server: Server) -> None:
    attempts = Attempts("/feedback/victim-support", RESUME, RESUME, {"code": WRONG_CODE})
    refused_exactly_after(server, attempts, code_limits(RESUME_LIMIT)["minute"], 404)


def test_sign_in_is_refused_after_exactly_the_documented_number_per_address(server: Server) -> None:
    """Password spraying: a different username each time, so no per-account lock interferes.

    Every post counts, whatever it holds; these leave the password empty (400,
    the form asks for it) so that argon2 does not make the test slow — the
    in-process tests (tests/auth/test_throttle.py) try real wrong passwords.
    """
    attempts = Attempts("/staff/sign-in", "/staff/sign-in", "/staff/sign-in", {"password": ""}, fresh="username")
    refused_exactly_after(server, attempts, code_limits(SIGN_IN_LIMIT)["minute"], 400)


# --- in one process: where the counters live, what they hold, and what happens when they fail -----------


def test_the_counters_live_in_the_database_unless_a_shared_store_is_named(
        app: Flask, config: Config, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(limiter.storage, DatabaseStorage)
    assert limiter.storage.engine is app.extensions["casefeedback"].engine
    monkeypatch.setenv("CASEFEEDBACK_RATELIMIT_STORAGE", "memory://")
    several_hosts = create_app(config, clock=clock)
    try:
        assert several_hosts.config["RATELIMIT_STORAGE_URI"] == "memory://"
        assert isinstance(limiter.storage, MemoryStorage)
    finally:
        several_hosts.extensions["casefeedback"].engine.dispose()


def test_no_client_address_reaches_the_database_or_the_logs(app: Flask, client: FlaskClient, found: Services) -> None:
    address = "203.0.113.77"
    token = csrf_token(client.get("/staff/sign-in").get_data(as_text=True))
    allowed = code_limits(SIGN_IN_LIMIT)["minute"]
    statuses = [client.post("/staff/sign-in", data={"username": f"user-{n}", "password": "", "csrf_token": token},
                            environ_base={"REMOTE_ADDR": address}).status_code for n in range(allowed + 1)]
    assert statuses[-1] == 429
    with read(found.engine) as connection:
        assert connection.execute(select(rate_limits)).all(), "no counter was written: the check proves nothing"
        everything = repr([connection.execute(select(table)).all() for table in metadata.sorted_tables])
    assert address not in everything
    database = found.config.database_path
    files = [p for p in database.parent.iterdir() if p.name.startswith(database.name)]
    files += list((found.config.instance_dir / "logs").glob("*"))
    for path in files:
        assert address.encode() not in path.read_bytes(), path.name


def test_a_failing_store_refuses_the_request_with_a_plain_page(app: Flask, client: FlaskClient, found: Services,
                                                               staff_factory: StaffFactory) -> None:
    """Fail closed: no counter, no attempt — not even with the right password — and no trace on the page."""
    _, username, password = staff_factory()
    with write(found.engine) as connection:
        connection.execute(text("DROP TABLE rate_limits"))
    token = csrf_token(client.get("/staff/sign-in").get_data(as_text=True))
    response = client.post("/staff/sign-in", data={"username": username, "password": password, "csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "Sorry, something went wrong" in page
    assert "Traceback" not in page and "rate_limits" not in page
    with read(found.engine) as connection:
        tried = connection.execute(select(audit_events).where(audit_events.c.action == Action.STAFF_SIGN_IN)).all()
    assert tried == []  # the password was never checked
