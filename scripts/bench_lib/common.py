"""Shared plumbing for the benchmarks: servers, load generators, results.

Every benchmark under scripts/bench_lib/ is started by scripts/bench with the
project's virtual environment, so ``sys.executable`` sits beside gunicorn.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import loadgen  # a sibling module: scripts/bench_lib is on sys.path as the script's directory
from load import Request, Result

ROOT = Path(__file__).resolve().parents[2]
BENCH_LIB = Path(__file__).resolve().parent
RESULTS_DIR = ROOT / "bench-results"
VENV_BIN = Path(sys.executable).parent
START_TIMEOUT_S = 60.0


class BenchError(Exception):
    """The benchmark could not run; the message says what to do."""


def install_signal_handlers() -> None:
    """Turn SIGTERM/SIGHUP into SystemExit, so ``finally`` blocks stop the servers."""

    def _exit(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGHUP, _exit)


def free_port() -> int:
    # Binding to port 0 lets the kernel choose; the tiny race before gunicorn
    # binds it is acceptable for a benchmark (gunicorn then fails loudly).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_status(port: int, path: str, timeout: float = 2.0) -> int | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


@contextlib.contextmanager
def gunicorn(app: str, *, workers: int, env: Mapping[str, str], log_path: Path,
             extra_args: Sequence[str] = (), health_path: str = "/health") -> Iterator[int]:
    """Serve ``app`` with gunicorn on a free port until the block ends; yield the port."""
    port = free_port()
    command = [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--log-level", "warning", *extra_args, app]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_healthy(process, port, health_path, log_path)
        yield port
    finally:
        _stop(process)


def _wait_until_healthy(process: subprocess.Popen[bytes], port: int, path: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited with status {process.returncode} while starting:\n"
                             + tail(log_path))
        if http_status(port, path, timeout=1.0) == 200:
            return
        time.sleep(0.2)
    raise BenchError(f"gunicorn did not answer GET {path} with 200 within {START_TIMEOUT_S:.0f} s:\n"
                     + tail(log_path))


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # SIGTERM to the master is gunicorn's graceful stop; it reaps its workers.
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        # Its own session (start_new_session), so this reaches only our server.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def init_instance(instance: Path, log: Path, extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Make a throwaway instance with `casefeedback init`; return the environment variables that select it.

    ``extra_env`` is added to them (CASEFEEDBACK_DATABASE_URL: the instance's database is that PostgreSQL one).
    """
    # Rate limits off: the load generator sends thousands of sends from one address. (So no Redis is
    # needed on PostgreSQL either: only production insists on limits shared across instances.)
    env = {"CASEFEEDBACK_INSTANCE": str(instance), "CASEFEEDBACK_POLICIES": str(ROOT / "policies"),
           "CASEFEEDBACK_ENV": "development", "CASEFEEDBACK_RATELIMIT_ENABLED": "0", **(extra_env or {})}
    completed = subprocess.run([str(VENV_BIN / "casefeedback"), "init"], cwd=ROOT, env={**os.environ, **env},
                               capture_output=True, text=True, check=False)
    log.write_text(completed.stdout + completed.stderr, encoding="utf-8")
    if completed.returncode != 0:
        raise BenchError(f"`casefeedback init` failed (exit {completed.returncode}):\n"
                         f"{completed.stdout}{completed.stderr}")
    return env


def copy_instance_secrets(source: Path, instance: Path) -> None:
    """Give a second instance directory the first one's secrets: the operator's way to run another instance.

    Both then open the same database (CASEFEEDBACK_DATABASE_URL) with the same keys, so a session or a
    draft made through one is good on the other. copytree keeps the files' 0600 and the directory's 0700.
    """
    instance.mkdir(mode=0o700, parents=True)
    shutil.copytree(source / "secrets", instance / "secrets")


# ---------------------------------------------------------------- PostgreSQL (--engine postgres)

# The server scripts/bench starts (scripts/_services.sh, as the tests' is), or one given by the caller;
# its role must be allowed to create databases.
POSTGRES_ENV = "CASEFEEDBACK_TEST_POSTGRES_URL"


def postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        raise BenchError(f"--engine postgres needs a PostgreSQL server, and {POSTGRES_ENV} is not set: "
                         "scripts/bench starts a throwaway one when PostgreSQL is installed "
                         "(apt-get install postgresql), or set it to a server whose role may create databases.")
    return url


@contextlib.contextmanager
def fresh_database(label: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on that server for the block; yield its URL. Dropped afterwards."""
    from sqlalchemy import create_engine, make_url
    from sqlalchemy.pool import NullPool

    server = make_url(postgres_server_url())
    name = f"bench_{os.getpid()}_{label}"  # the pid: two benchmarks may share a server given by the caller
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            # FORCE: a server that died mid-run may leave a connection behind.
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


# ---------------------------------------------------------------- load generators


@dataclass(frozen=True)
class LoadSpec:
    """How hard to push: identical for every server in one benchmark run."""

    connections: int
    duration_s: float
    generator: str  # "wrk" or "python"


def choose_generator(requested: str) -> str:
    if requested == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if requested == "wrk" and not shutil.which("wrk"):
        raise BenchError("--loadgen wrk was asked for, but wrk is not installed (apt-get install wrk).")
    return requested


def generator_label(spec: LoadSpec) -> str:
    if spec.generator == "wrk":
        return "wrk (1 thread)"
    return "python loadgen (threads + http.client; shares the CPU with the servers)"


def drive(name: str, port: int, path: str, requests: Sequence[Request], spec: LoadSpec, workdir: Path, *,
          cycle: bool, duration_s: float | None = None, method: str = "POST") -> Result:
    """Send ``requests`` to ``path``, one each, for the spec's duration (or until they run out).

    ``method`` "GET" sends no body and no Content-Type (a request's body is ignored).
    """
    if not requests:
        raise BenchError("no requests were prepared")
    duration = spec.duration_s if duration_s is None else duration_s
    if spec.generator == "wrk":
        return _run_wrk(name, port, path, requests, spec, workdir, cycle=cycle, duration_s=duration,
                        method=method)
    return loadgen.run(name, "127.0.0.1", port, path, requests, connections=spec.connections,
                       duration_s=duration, cycle=cycle, method=method)


def drive_spread(name: str, ports: Sequence[int], path: str, requests: Sequence[Request], spec: LoadSpec,
                 workdir: Path, *, cycle: bool, duration_s: float | None = None) -> Result:
    """``drive`` with the connections spread over several instances of one app (sharing its database).

    The Python generator sends connection i to ``ports[i % N]`` from one list of requests. wrk runs one
    process per instance, all at once, each with its share of the connections and every Nth request; their
    counts are summed over the longest one's duration, and their p50/p99 are the highest of theirs (an upper
    bound of the whole run's: wrk does not give its latencies to merge).
    """
    if len(ports) == 1:
        return drive(name, ports[0], path, requests, spec, workdir, cycle=cycle, duration_s=duration_s)
    if spec.connections < len(ports):
        raise BenchError(f"{spec.connections} connections cannot be spread over {len(ports)} instances")
    if not requests:
        raise BenchError("no requests were prepared")
    duration = spec.duration_s if duration_s is None else duration_s
    if spec.generator != "wrk":
        return loadgen.run(name, "127.0.0.1", ports, path, requests, connections=spec.connections,
                           duration_s=duration, cycle=cycle)
    count = len(ports)
    shares = [spec.connections // count + (1 if i < spec.connections % count else 0) for i in range(count)]

    def one(i: int) -> Result:
        return _run_wrk(f"{name}-{i + 1}", ports[i], path, requests[i::count],
                        LoadSpec(shares[i], spec.duration_s, spec.generator), workdir, cycle=cycle,
                        duration_s=duration, method="POST")

    with ThreadPoolExecutor(max_workers=count) as pool:
        parts = list(pool.map(one, range(count)))
    errors: dict[str, int] = {}
    for part in parts:
        for code, number in part.errors.items():
            errors[code] = errors.get(code, 0) + number
    return Result(name=name, completed=sum(p.completed for p in parts), ok=sum(p.ok for p in parts),
                  duration_s=max(p.duration_s for p in parts), p50_ms=max(p.p50_ms for p in parts),
                  p99_ms=max(p.p99_ms for p in parts), errors=errors, ran_out=any(p.ran_out for p in parts))


# wrk runs ONE thread. A wrk thread cannot share its list with another, and a
# thread whose list runs out stops with its connections still open: gunicorn's
# sync workers then sit blocked on those until wrk exits, stalling any thread
# still running (seen as 1-2 s latencies). One thread ends the run cleanly,
# keeps the second core for the servers, and easily outpaces them here.
#
# The thread sends each prepared request once (or cycles through them). When
# they run out it stops (in-flight responses are dropped, never counted) and
# notes when: wrk's own duration is always the full -d, even if it stopped
# early. done() prints one JSON line that drive() parses; wrk's own text
# output is for people.
WRK_THREADS = 1
WRK_SCRIPT = r"""
local threads = {}

-- A monotonic clock through LuaJIT's ffi (wrk is built with LuaJIT); plain Lua
-- only has whole seconds, which is still better than nothing.
local hasFfi, ffi = pcall(require, "ffi")
local now
if hasFfi then
  ffi.cdef[[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock, bench_timespec *tp);
  ]]
  local ts = ffi.new("bench_timespec")
  now = function()
    ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
  end
else
  now = os.time
end

function setup(thread)
  table.insert(threads, thread)
end

local mine, nextIndex, cycle, method, path = {}, 1, false, "POST", "/"
ok, completed, exhausted, statuses, startedAt, stoppedAt = 0, 0, false, "", 0, 0
local statusCounts = {}

function init(args)
  local file = args[1]
  cycle = args[2] == "cycle"
  path = args[3]
  method = args[4] or "POST"
  for line in io.lines(file) do
    local cookie, body = line:match("^([^\t]*)\t(.*)$")
    local headers = {}
    -- A GET carries no body: wrk.format adds Content-Length for any body given, even "".
    if method == "GET" then body = nil else headers["Content-Type"] = "application/x-www-form-urlencoded" end
    if cookie ~= "" then headers["Cookie"] = cookie end
    table.insert(mine, wrk.format(method, path, headers, body))
  end
end

local verifyCallSeen = false

function request()
  -- wrk calls request() once before the run to check the script; that call
  -- must not start the clock (it consumes one request, which is never sent).
  if not verifyCallSeen then
    verifyCallSeen = true
  elseif startedAt == 0 then
    startedAt = now()
  end
  if nextIndex > #mine then
    if cycle and #mine > 0 then
      nextIndex = 1
    else
      if not exhausted then stoppedAt = now() end
      exhausted = true
      wrk.thread:stop()
      -- Something must be returned; the thread is stopping, so its response is never read.
      return wrk.format("GET", "/health")
    end
  end
  local prepared = mine[nextIndex]
  nextIndex = nextIndex + 1
  return prepared
end

function response(status, headers, body)
  completed = completed + 1
  if status == 200 then
    ok = ok + 1
  else
    statusCounts[status] = (statusCounts[status] or 0) + 1
    local parts = {}
    for code, n in pairs(statusCounts) do table.insert(parts, code .. ":" .. n) end
    statuses = table.concat(parts, ",")
  end
end

function done(summary, latency, requests)
  local totalOk, totalCompleted, anyExhausted, allExhausted, statusText = 0, 0, false, true, {}
  local firstStart, lastStop = math.huge, 0
  for _, thread in ipairs(threads) do
    if thread:get("startedAt") > 0 then firstStart = math.min(firstStart, thread:get("startedAt")) end
    lastStop = math.max(lastStop, thread:get("stoppedAt"))
    allExhausted = allExhausted and thread:get("exhausted")
    totalOk = totalOk + thread:get("ok")
    totalCompleted = totalCompleted + thread:get("completed")
    anyExhausted = anyExhausted or thread:get("exhausted")
    local s = thread:get("statuses")
    if s ~= "" then table.insert(statusText, s) end
  end
  -- Only when every thread ran out did the run end before wrk's -d.
  local duration = summary.duration
  if allExhausted and lastStop > firstStart then duration = (lastStop - firstStart) * 1e6 end
  local e = summary.errors
  io.write(string.format(
    'BENCH_WRK {"duration_us": %d, "completed": %d, "ok": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"statuses": "%s", "socket_errors": %d, "exhausted": %s}\n',
    math.floor(duration), totalCompleted, totalOk, latency:percentile(50), latency:percentile(99),
    table.concat(statusText, ","), e.connect + e.read + e.write + e.timeout, tostring(anyExhausted)))
end
"""


def _write_requests_file(requests: Sequence[Request], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for item in requests:
            if "\t" in item.cookie or "\n" in item.cookie or "\n" in item.body or "\t" in item.body:
                raise BenchError("a prepared request contains a tab or newline; bodies must be url-encoded")
            out.write(f"{item.cookie}\t{item.body}\n")


def _run_wrk(name: str, port: int, path: str, requests: Sequence[Request], spec: LoadSpec, workdir: Path, *,
             cycle: bool, duration_s: float, method: str) -> Result:
    script = workdir / f"{name}-drive.lua"  # its own: drive_spread runs several wrk at once
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    requests_file = workdir / f"{name}-requests.tsv"
    _write_requests_file(requests, requests_file)
    # wrk wants whole seconds; the reported duration is measured, not assumed.
    seconds = max(1, round(duration_s))
    command = ["wrk", "--threads", str(WRK_THREADS), "--connections", str(spec.connections),
               "--duration", f"{seconds}s", "--timeout", "30s", "--latency", "--script", str(script),
               f"http://127.0.0.1:{port}", "--", str(requests_file),
               "cycle" if cycle else "once", path, method]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    line = next((x for x in completed.stdout.splitlines() if x.startswith("BENCH_WRK ")), None)
    if completed.returncode != 0 or line is None:
        raise BenchError(f"wrk failed (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(line.removeprefix("BENCH_WRK "))
    errors: dict[str, int] = {}
    for part in filter(None, data["statuses"].split(",")):
        code, count = part.split(":")
        errors[code] = errors.get(code, 0) + int(count)
    if data["socket_errors"]:
        errors["socket"] = int(data["socket_errors"])
    return Result(name=name, completed=int(data["completed"]), ok=int(data["ok"]),
                  duration_s=data["duration_us"] / 1e6, p50_ms=data["p50_us"] / 1000,
                  p99_ms=data["p99_us"] / 1000, errors=errors, ran_out=bool(data["exhausted"]))


# ---------------------------------------------------------------- reporting


def machine() -> dict[str, Any]:
    # Which interpreter, and how fast it runs plain Python here: on one machine the same Python 3.11 ran
    # pure-Python code 2.7 times as fast as Debian builds it (optimised with profiles) as pyenv's default
    # build does, which moves every figure that is not a ratio within one run.
    began = time.perf_counter()
    for _ in range(20_000):
        sum(range(1000))
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "python_executable": os.path.realpath(sys.executable),
            "python_loop_ms": round((time.perf_counter() - began) * 1000, 1)}


def format_table(title: str, results: Sequence[Result]) -> str:
    width = max(len(r.name) for r in results) + 2
    lines = [title, f"{'':<{width}} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'errors':>8}"]
    for r in results:
        lines.append(f"{r.name:<{width}} {r.rps:>9.1f} {r.p50_ms:>9.2f} {r.p99_ms:>9.2f} {r.error_count:>8}")
    return "\n".join(lines)


def problems_of(results: Sequence[Result], wanted_duration_s: float) -> list[str]:
    """Everything that makes the figures less trustworthy, one sentence each."""
    found = []
    for r in results:
        if r.error_count:
            detail = ", ".join(f"{count} × {code}" for code, count in sorted(r.errors.items()))
            found.append(f"{r.name}: {r.error_count} of {r.completed + r.errors.get('socket', 0)} requests "
                         f"failed ({detail})")
        if r.ok == 0:
            found.append(f"{r.name}: no successful request at all")
        if r.ran_out:
            found.append(f"{r.name}: the prepared sessions ran out after {r.duration_s:.1f} s of the "
                         f"{wanted_duration_s:.0f} s asked for; figures cover that shorter run")
    return found


def write_json(name: str, data: Mapping[str, Any]) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def wrk_version() -> str | None:
    if not shutil.which("wrk"):
        return None
    # wrk has no --version flag: it prints its version line with the usage text.
    completed = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    first = (completed.stdout or completed.stderr).splitlines()
    return first[0].strip() if first else None
