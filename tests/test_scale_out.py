"""Issue 13, item 6: casefeedback scaled out — two app nodes and two workers on one PostgreSQL, and a leader killed.

Everything real: two gunicorn masters, each over its own instance directory (the second a copy of the first's
secrets, as an operator provisions a node), one PostgreSQL database, one Redis for the rate limits, two
`casefeedback worker` processes, an SMTP server. People give urgent feedback through both nodes at once; the
leading worker is killed with SIGKILL while it is sending the alerts (the SMTP server answers slowly, so some
are sent and some are still claimed). Then:

- the other worker leads within 10 s;
- every urgent alert reaches the person on duty: none lost, at most one duplicate per alert (the documented
  bound: a message the server accepted just before the kill, whose "sent" was never committed);
- `casefeedback audit verify` passes on the node that now leads, over events from every writer (both nodes'
  app processes and both workers, each with its own chain);
- what people typed (a canary) is in no `pg_dump` of the database and in no file of PostgreSQL's data directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, make_url, select, text

from casefeedback.alerts.routing import add_shift
from casefeedback.auth import accounts
from casefeedback.config import Config
from casefeedback.policy import load_policies
from casefeedback.services import build_services
from casefeedback.storage.engine import open_store, read, write
from casefeedback.storage.tables import alerts, audit_events, submissions
from tests.alerts.support import SMTPServer, free_port
from tests.conftest import POLICIES, ROOT, canary, make_config
from tests.helpers import HttpClient, ServiceUser, waited
from tests.services import redis_url
from tests.stores import fresh_postgres_database

GUNICORN = Path(sys.executable).with_name("gunicorn")
ROTA = "rota@example.org"
JOURNEYS = 12
START_UP = 120.0  # seconds: generous, the machine running the tests may be busy
TAKEOVER = 10.0  # the bound for a standby to lead after the leader dies
LEADS, STANDS_BY = "this worker leads", "standing by"


@dataclass
class Node:
    """One node: its instance directory and environment; a gunicorn and a worker once started."""

    name: str
    instance: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self, what: str) -> Path:
        return self.instance.parent / f"{self.name}-{what}.log"

    def said(self, what: str, words: str) -> bool:
        return words in self.log(what).read_text(encoding="utf-8", errors="replace")

    def start(self, what: str, command: list[str]) -> None:
        with self.log(what).open("wb") as sink:
            self.processes[what] = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=sink,
                                                    stderr=subprocess.STDOUT, start_new_session=True)

    def serve(self) -> None:
        self.start("web", [str(GUNICORN), "--bind", f"127.0.0.1:{self.port}", "--workers", "2",
                           "casefeedback.wsgi:app"])

        def up() -> bool:
            assert self.processes["web"].poll() is None, self.log("web").read_text()
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:  # noqa: S310 - loopback
                    return bool(response.status == 200)
            except OSError:
                return False

        assert waited(up, START_UP, every=0.2), self.log("web").read_text()

    def work(self) -> None:
        self.start("worker", [sys.executable, "-m", "casefeedback", "worker"])

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "casefeedback", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=300, check=False)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


@dataclass
class Cluster:
    config: Config
    nodes: list[Node]
    smtp: SMTPServer
    engine: Engine  # the test's own reads of the shared database


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    smtp = SMTPServer()
    smtp.mailbox.stall = 0.4  # a slow mail server: the kill lands while alerts are still being sent
    smtp.start()
    with fresh_postgres_database(at_head=True) as url:
        config = make_config(tmp_path / "a", database_url=url)
        # The second node: the same secrets (copied, as an operator provisions a node), its own directory.
        shutil.copytree(config.instance_dir, tmp_path / "b", ignore=shutil.ignore_patterns("logs"))
        found = build_services(config, load_policies(POLICIES), lambda: datetime.now(UTC))
        try:
            with write(found.engine) as connection:  # someone on duty for the service, with an email address
                now = datetime.now(UTC)
                team = accounts.ensure_team(connection, "Duty")
                duty = accounts.add_staff(connection, username="rota", display_name="On duty", role="caseworker",
                                          password="scale-" + os.urandom(8).hex(), now=now, team_id=team,
                                          email=ROTA)
                add_shift(connection, service_id="victim-support", staff_id=duty, starts_at=now, ends_at=None,
                          set_by=None, now=now)
        finally:
            found.engine.dispose()
        common = {k: v for k, v in os.environ.items() if not k.startswith("CASEFEEDBACK_")} | {
            "CASEFEEDBACK_POLICIES": str(POLICIES), "CASEFEEDBACK_ENV": "development",
            "CASEFEEDBACK_DATABASE_URL": url, "CASEFEEDBACK_RATELIMIT_STORAGE": redis_url(),
            "CASEFEEDBACK_SMTP_HOST": "127.0.0.1", "CASEFEEDBACK_SMTP_PORT": str(smtp.port),
            "CASEFEEDBACK_SMTP_SECURITY": "none", "CASEFEEDBACK_PUBLIC_URL": "https://cf.example.org"}
        nodes = [Node(name, tmp_path / name, common | {"CASEFEEDBACK_INSTANCE": str(tmp_path / name)})
                 for name in ("a", "b")]
        engine = open_store(config.store)
        try:
            yield Cluster(config, nodes, smtp, engine)
        finally:
            for node in nodes:
                node.stop()
            engine.dispose()
            smtp.stop()


def give_urgent_feedback(node: Node, secret: str) -> str:
    return ServiceUser(HttpClient(node.url)).give_feedback(  # type: ignore[arg-type]
        {"safe_now": "no", "anything_else": f"he will find me {secret}", "treated": "1"})


def references_emailed(cluster: Cluster) -> list[str]:
    return [mail["Subject"].split()[-1] for mail in cluster.smtp.mailbox.to(ROTA)]


def test_two_nodes_two_workers_a_leader_killed_mid_delivery_loses_nothing(cluster: Cluster) -> None:
    a, b = cluster.nodes
    for node in cluster.nodes:
        node.serve()
    a.work()
    assert waited(lambda: a.said("worker", LEADS), START_UP), a.log("worker").read_text()
    # The first leader starts the audit witness at its first checkpoint; a new node is given a copy of it
    # (README, "Scaling out"), so that when it leads it carries the witness on, never starts a new one.
    witness_a, witness_b = (Config.from_environment(node.env).witness_path for node in cluster.nodes)
    assert waited(witness_a.exists, START_UP)
    witness_b.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copy2(witness_a, witness_b)
    b.work()
    assert waited(lambda: b.said("worker", STANDS_BY), START_UP), b.log("worker").read_text()

    # People give urgent feedback through both nodes at once.
    secrets = [canary() for _ in range(JOURNEYS)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        receipts = list(pool.map(lambda n: give_urgent_feedback(cluster.nodes[n % 2], secrets[n]), range(JOURNEYS)))
    assert len(set(receipts)) == JOURNEYS

    # Kill the leader while it is sending: some alerts accepted by the mail server, not all.
    assert waited(lambda: len(references_emailed(cluster)) >= 1, START_UP)
    before_kill = len(references_emailed(cluster))
    a.processes["worker"].kill()
    killed_at = time.monotonic()
    a.processes["worker"].wait(timeout=30)
    assert waited(lambda: b.said("worker", LEADS), TAKEOVER + 5), b.log("worker").read_text()
    took = time.monotonic() - killed_at
    assert took <= TAKEOVER, f"the standby led {took:.1f} s after the kill"

    # None lost: every urgent alert reaches the person on duty — those the dead leader had claimed once their
    # lease runs out (alerts/delivery.py LEASE) — and none more than twice.
    with read(cluster.engine) as connection:
        raised = set(connection.execute(select(alerts.c.reference)).scalars())
        stored = connection.execute(select(func.count()).select_from(submissions)).scalar_one()
    assert stored == JOURNEYS and len(raised) >= JOURNEYS
    assert before_kill < len(raised), "the leader had sent everything before it was killed: nothing was tested"
    assert waited(lambda: set(references_emailed(cluster)) >= raised, 120, every=0.5), (
        f"{len(raised - set(references_emailed(cluster)))} of {len(raised)} urgent alerts never arrived "
        f"({before_kill} had before the kill)")
    emailed = references_emailed(cluster)
    assert max(emailed.count(reference) for reference in raised) <= 2, "an alert was emailed more than twice"
    assert not any(secret.encode() in cluster.smtp.mailbox.raw() for secret in secrets)

    # The audit log, written by four processes on two nodes, verifies on the node that leads now.
    b.stop()
    checkpointed = b.run("audit", "checkpoint")
    assert checkpointed.returncode == 0, checkpointed.stdout + checkpointed.stderr
    verified = b.run("audit", "verify")
    assert verified.returncode == 0 and "audit log intact" in verified.stdout, verified.stdout + verified.stderr
    with read(cluster.engine) as connection:
        chains = set(connection.execute(select(audit_events.c.chain).distinct()).scalars())
    assert len(chains) >= 4, f"events from {len(chains)} writers' chains only"  # 2 nodes × app + each worker

    # What people typed is in no dump and no file of the server.
    assert_canaries_nowhere_in_postgres(cluster, secrets)


def assert_canaries_nowhere_in_postgres(cluster: Cluster, secrets: list[str]) -> None:
    with cluster.engine.connect() as connection:
        connection.execute(text("CHECKPOINT"))  # everything in the data files, not only the WAL
    url = make_url(str(cluster.config.database_url))
    binaries = Path(os.environ["CASEFEEDBACK_TEST_POSTGRES_BIN"])
    dump = subprocess.run([str(binaries / "pg_dump"), "--host", str(url.query["host"]), "--username",
                           str(url.username), "--no-password", str(url.database)],
                          capture_output=True, timeout=300, check=False)
    assert dump.returncode == 0, dump.stderr.decode(errors="replace")
    assert b"CREATE TABLE public.answers" in dump.stdout and b"COPY public.answers" in dump.stdout
    data = Path(os.environ["CASEFEEDBACK_TEST_POSTGRES_DATA"])
    files = [path for path in [*data.rglob("*"), *(data / "pg_wal").glob("*")] if path.is_file()]
    assert len(files) > 100  # the whole data directory: every database, the WAL, the server's own state
    for secret in secrets:
        assert secret.encode() not in dump.stdout
    for path in files:
        try:
            content = path.read_bytes()
        except FileNotFoundError:  # a WAL segment recycled (renamed) while we looked: its new name is read too
            continue
        assert not any(secret.encode() in content for secret in secrets), path
