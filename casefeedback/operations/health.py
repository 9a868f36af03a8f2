"""Liveness and readiness: what a load balancer or an orchestrator asks before sending people here.

``live``: the process answers (no database, no file: a stuck database must not get a
healthy process restarted). ``ready``: this instance can serve feedback now — the
database answers and is at the schema this code needs, the keys are loaded, the
worker has been seen lately (alerts are delivered and escalated only by it) and
the audit witness can be written. Each check says only its name and ok or not:
never an error text (a driver's message can name a host or a user), never a value.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select

from casefeedback.services import Services
from casefeedback.storage import migrate
from casefeedback.storage.engine import read
from casefeedback.storage.tables import worker_jobs
from casefeedback.worker.job import HEARTBEAT_JOB

log = logging.getLogger(__name__)

# The worker writes its heartbeat every 15 s (worker/jobs.py); two minutes allows a
# few missed beats (a long job holding the database, a standby taking over) before
# the instance is called not ready.
HEARTBEAT_STALE = timedelta(minutes=2)
# The remote witness is probed with a TCP connection at most this often per process:
# a load balancer asks every few seconds, and the witness's host should not feel it.
REMOTE_PROBE_EVERY_S = 30.0
REMOTE_PROBE_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, bool]

    @property
    def ready(self) -> bool:
        return all(self.checks.values())

    @property
    def failed(self) -> list[str]:
        return [name for name, ok in self.checks.items() if not ok]

    def as_json(self) -> dict[str, object]:
        return {"status": "ready" if self.ready else "not ready", "checks": {
            name: "ok" if ok else "failed" for name, ok in self.checks.items()}, "failed": self.failed}


def readiness(found: Services) -> Readiness:
    """Run every check; a check that raises counts as failed (and is logged by type), never as a 500."""
    checks: dict[str, Callable[[Services], bool]] = {
        "database": database_at_head, "keys": keys_loaded, "worker": worker_recent, "witness": witness_reachable}
    results = {}
    for name, check in checks.items():
        try:
            results[name] = check(found)
        except Exception as error:  # a readiness probe answers 503, whatever broke
            log.warning("readiness check %s failed: %s", name, type(error).__name__)
            results[name] = False
    return Readiness(results)


_head: list[str] = []


def database_at_head(found: Services) -> bool:
    # The head is read from the migration scripts once: they do not change under a running process.
    if not _head:
        _head.append(migrate.head_revision())
    return migrate.current_revision(found.engine) == _head[0]


def keys_loaded(found: Services) -> bool:
    secrets = found.config.secrets
    return (found.keyring.current_active_id in found.keyring.ids()
            and all(len(s.value) == 32 for s in (secrets.audit_chain, secrets.audit_signing, secrets.lookup)))


def heartbeat_age(found: Services) -> timedelta | None:
    """Since the worker's last heartbeat (None: no worker has ever beaten on this database)."""
    with read(found.engine) as connection:
        last = connection.execute(select(worker_jobs.c.last_finished_at)
                                  .where(worker_jobs.c.id == HEARTBEAT_JOB)).scalar_one_or_none()
    return None if last is None else found.clock() - last


def worker_recent(found: Services) -> bool:
    age = heartbeat_age(found)
    return age is not None and age <= HEARTBEAT_STALE


def witness_reachable(found: Services) -> bool:
    return _witness_file_writable(found.config.witness_path) and (
        not found.config.audit_witness_url or _remote_answers(found.config.audit_witness_url))


def _witness_file_writable(path: Path) -> bool:
    # Before the first checkpoint the file (even its directory) may not exist yet: then the
    # nearest existing directory must let the worker create them.
    if path.exists():
        return path.is_file() and os.access(path, os.W_OK)
    parent = path.parent
    while not parent.exists():
        if parent == parent.parent:
            return False
        parent = parent.parent
    return parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)


_probes: dict[str, tuple[float, bool]] = {}
_probe_lock = threading.Lock()


def _remote_answers(url: str) -> bool:
    """A TCP connection to the remote witness's host and port succeeds (cached for 30 s)."""
    with _probe_lock:
        cached = _probes.get(url)
        if cached is not None and time.monotonic() - cached[0] < REMOTE_PROBE_EVERY_S:
            return cached[1]
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=REMOTE_PROBE_TIMEOUT_S):
            ok = True
    except OSError:
        ok = False
    with _probe_lock:
        _probes[url] = (time.monotonic(), ok)
    return ok
