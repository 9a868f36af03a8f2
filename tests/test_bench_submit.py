"""scripts/bench submit's options, its report of the PostgreSQL and several-instance rows, and the load
spread over instances: the pieces that run no gunicorn (the benchmark itself is run by hand)."""

from __future__ import annotations

import http.server
import importlib
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

BENCH_LIB = Path(__file__).resolve().parents[1] / "scripts" / "bench_lib"
# Sibling modules importing each other by bare name, as scripts/bench runs them.
BENCH_MODULES = ("load", "loadgen", "common", "clients", "peer", "submit_report", "submit")


@pytest.fixture(scope="module")
def bench() -> Iterator[SimpleNamespace]:
    taken = [name for name in BENCH_MODULES if name in sys.modules]
    assert not taken, f"modules already imported under the bench's names: {taken}"
    sys.path.insert(0, str(BENCH_LIB))
    try:
        yield SimpleNamespace(**{name: importlib.import_module(name) for name in BENCH_MODULES})
    finally:
        sys.path.remove(str(BENCH_LIB))
        for name in BENCH_MODULES:
            sys.modules.pop(name, None)


# --- options ------------------------------------------------------------------------------------------


def test_the_engine_is_sqlcipher_with_one_instance_unless_asked(bench: SimpleNamespace) -> None:
    args = bench.submit.parse_args([])
    assert (args.engine, args.instances) == ("sqlcipher", 1)
    args = bench.submit.parse_args(["--engine", "both", "--instances", "2"])
    assert (args.engine, args.instances) == ("both", 2)


@pytest.mark.parametrize("argv", [["--instances", "2"], ["--engine", "sqlcipher", "--instances", "2"],
                                  ["--engine", "postgres", "--instances", "0"],
                                  ["--engine", "postgres", "--instances", "3", "--connections", "2"],
                                  ["--engine", "mysql"]])
def test_options_that_cannot_run_are_refused(bench: SimpleNamespace, argv: list[str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        bench.submit.parse_args(argv)
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err


# --- the report ---------------------------------------------------------------------------------------


def _measured(bench: SimpleNamespace, name: str, rps: float, load1: float = 1.0) -> Any:
    result = bench.load.Result(name=name, completed=int(rps * 10), ok=int(rps * 10), duration_s=10.0,
                               p50_ms=20.0, p99_ms=80.0)
    return bench.submit_report.Measured(result, load1)


def _run(bench: SimpleNamespace, workers: int, *, ours: float | None = 100.0, postgres: float | None = None,
         spread: float | None = None, instances: int = 1) -> Any:
    return bench.submit_report.WorkersRun(
        workers,
        _measured(bench, "casefeedback", ours) if ours is not None else None,
        _measured(bench, "conventional", 200.0, 1.5), _measured(bench, "baseline", 400.0, 2.0), None,
        _measured(bench, "casefeedback-postgres", postgres) if postgres is not None else None,
        _measured(bench, "casefeedback-postgres-2i", spread, 2.5) if spread is not None else None,
        instances)


def test_sqlcipher_alone_prints_the_rows_it_always_did(bench: SimpleNamespace) -> None:
    report = bench.submit_report
    runs = [_run(bench, 1), _run(bench, 2, ours=150.0)]
    lines = report.table("title", runs).splitlines()
    assert lines[1] == "workers  server             req/s    p50 ms    p99 ms  errors  load1"
    assert [line.split()[1] for line in lines[2:]] == ["casefeedback", "conventional", "bare"] * 2
    assert lines[2] == "1        casefeedback       100.0     20.00     80.00       0   1.00"
    summary = report.summary(runs, 0.6)
    assert summary[:2] == [
        "1 worker: ratio vs conventional peer: 0.50    ratio vs bare baseline: 0.25 (target >= 0.60)",
        "2 workers: ratio vs conventional peer: 0.75  (target >= 0.60)    ratio vs bare baseline: 0.38 "
        "(target >= 0.60)"]
    assert summary[2] == ("throughput 2 workers ÷ 1 worker: casefeedback 1.50 (target >= 1.30), "
                          "conventional peer 1.00")
    assert not any("PostgreSQL" in line for line in summary)


def test_postgres_and_two_instances_are_rows_with_their_ratios(bench: SimpleNamespace) -> None:
    report = bench.submit_report
    runs = [_run(bench, 1, postgres=120.0, spread=192.0, instances=2),
            _run(bench, 2, ours=150.0, postgres=160.0, spread=200.0, instances=2)]
    lines = report.table("title", runs).splitlines()
    assert [line[9:27].strip() for line in lines[2:7]] == [
        "casefeedback", "cf PostgreSQL", "cf PostgreSQL ×2", "conventional", "bare baseline"]
    assert lines[4].endswith("192.0     20.00     80.00       0   2.50")
    summary = report.summary(runs, 0.6)
    assert ("1 worker, PostgreSQL: ratio vs conventional peer: 0.60    ratio vs bare baseline: 0.30"
            in summary)
    assert ("1 worker each, PostgreSQL ×2: ratio vs conventional peer: 0.96    throughput 2 instances ÷ "
            "1 instance: 1.60 (target >= 1.50)" in summary)
    assert ("2 workers, PostgreSQL: ratio vs conventional peer: 0.80  (target >= 0.60)    ratio vs bare "
            "baseline: 0.40" in summary)
    assert ("throughput 2 workers ÷ 1 worker: casefeedback 1.50, casefeedback on PostgreSQL 1.33 "
            "(target >= 1.30), conventional peer 1.00" in summary)
    recorded = report.as_json(runs)["runs"][0]
    assert recorded["postgres"]["ratio_vs_peer"] == 0.6
    assert recorded["postgres_instances"]["ratio_vs_one_instance"] == 1.6
    assert recorded["postgres_instances"]["instances"] == 2
    assert recorded["load1"] == [1.0, 1.0, 2.5, 1.5, 2.0]


def test_postgres_alone_heads_the_ratios_and_claims_no_write_lock(bench: SimpleNamespace) -> None:
    run = _run(bench, 2, ours=None, postgres=100.0)
    assert run.vs_baseline == 0.25
    summary = bench.submit_report.summary([run], 0.6)
    assert summary == ["2 workers, PostgreSQL: ratio vs conventional peer: 0.50  (target >= 0.60)    ratio vs "
                       "bare baseline: 0.25"]
    assert bench.submit_report.as_json([run])["runs"][0]["casefeedback"] is None


# --- several instances --------------------------------------------------------------------------------


class _Counting(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.posts += 1  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def two_servers() -> Iterator[list[http.server.ThreadingHTTPServer]]:
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting) for _ in range(2)]
    for server in servers:
        server.posts = 0  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_python_load_generator_spreads_its_connections_over_the_instances(
        bench: SimpleNamespace, two_servers: list[http.server.ThreadingHTTPServer], tmp_path: Path) -> None:
    ports = [server.server_address[1] for server in two_servers]
    requests = [bench.load.Request(body=f"n={i}") for i in range(40)]
    spec = bench.common.LoadSpec(connections=4, duration_s=20, generator="python")
    result = bench.common.drive_spread("spread", ports, "/send", requests, spec, tmp_path, cycle=False)
    assert (result.ok, result.error_count) == (40, 0)
    posts = [server.posts for server in two_servers]  # type: ignore[attr-defined]
    assert sum(posts) == 40 and all(posts), posts


def test_a_second_instance_gets_the_first_ones_secrets_kept_private(bench: SimpleNamespace, tmp_path: Path) -> None:
    (tmp_path / "one" / "secrets").mkdir(parents=True, mode=0o700)
    key = tmp_path / "one" / "secrets" / "session.key"
    key.write_text("secret")
    key.chmod(0o600)
    bench.common.copy_instance_secrets(tmp_path / "one", tmp_path / "two")
    copied = tmp_path / "two" / "secrets" / "session.key"
    assert copied.read_text() == "secret"
    assert stat.S_IMODE(copied.stat().st_mode) == 0o600
    assert stat.S_IMODE(copied.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "two").stat().st_mode) == 0o700
