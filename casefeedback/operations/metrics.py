"""Prometheus metrics: request latency per endpoint, and counts read from the database when scraped.

Two kinds, so every number is right however many processes serve the instance:

- **Request latency** is measured in each process. Under gunicorn several workers
  answer requests, and a scrape reaches only one of them, so with
  ``PROMETHEUS_MULTIPROC_DIR`` set (scripts/serve sets ``<instance>/metrics``) every
  process writes its histograms to files there and a scrape adds them all up
  (prometheus_client's multiprocess mode). Labelled by the Flask endpoint name
  (``intake.question``), never by the path: paths carry invitation tokens and ids.
- **Everything else** is a gauge counted from the database at the moment of the
  scrape (the database is the one thing every process, and every host, shares):
  submissions, alerts open and overdue, deliveries failed, the purge backlog, the
  age of the newest audit checkpoint, the last audit verification, the worker's
  heartbeat. Counts and ages only: never a reference, a name or an answer.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, Connection, Table, func, select

from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import alert_notifications, alerts, submissions, worker_jobs

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNROUTED = "(none)"  # a 404 for a path no route matches: one label, whatever the path was

_registry = CollectorRegistry(auto_describe=True)
REQUEST_SECONDS = Histogram(
    "casefeedback_request_duration_seconds", "Time to answer a request, by Flask endpoint and status class.",
    ["endpoint", "status"], registry=_registry,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))


def observe_request(endpoint: str | None, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(endpoint=endpoint or UNROUTED, status=f"{status // 100}xx").observe(seconds)


def render(found: Services) -> bytes:
    """The whole exposition: every process's request histograms, then the database's gauges."""
    if os.environ.get(MULTIPROCESS_ENV):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)  # type: ignore[no-untyped-call]  # the library's own, untyped
        measured = generate_latest(processes)
    else:
        measured = generate_latest(_registry)
    counted = CollectorRegistry()
    counted.register(StoreCollector(found))
    return measured + generate_latest(counted)


class StoreCollector(Collector):
    """Gauges counted from the database at scrape time; ``casefeedback_store_up`` 0 if it could not be read."""

    def __init__(self, found: Services) -> None:
        self._found = found

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with read(self._found.engine) as connection:
                values = _counts(connection, self._found.clock())
        except Exception as error:  # a scrape reports the database as down; it never fails with a 500
            log.warning("metrics: the database could not be read (%s)", type(error).__name__)
            yield GaugeMetricFamily("casefeedback_store_up", "1 if the database answered this scrape.", value=0)
            return
        yield GaugeMetricFamily("casefeedback_store_up", "1 if the database answered this scrape.", value=1)
        for name, (text, value) in values.items():
            if value is not None:
                yield GaugeMetricFamily(name, text, value=value)
        yield from _audit_verified(self._found)


def _counts(connection: Connection, now: datetime) -> dict[str, tuple[str, float | None]]:
    from casefeedback.alerts.overdue import overdue_clause
    from casefeedback.audit.checkpoints import latest_checkpoint
    from casefeedback.retention.ciphertext import orphaned_keys
    from casefeedback.worker.job import HEARTBEAT_JOB

    def count(table: Table, *where: ColumnElement[bool]) -> int:
        return int(connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one())

    checkpoint = latest_checkpoint(connection)
    heartbeat = connection.execute(select(worker_jobs.c.last_finished_at)
                                   .where(worker_jobs.c.id == HEARTBEAT_JOB)).scalar_one_or_none()
    return {
        "casefeedback_submissions": ("Submissions stored now (erased ones are no longer counted).",
                                     count(submissions)),
        "casefeedback_alerts_open": ("Alerts awaiting acknowledgement.",
                                     count(alerts, alerts.c.acknowledged_at.is_(None), alerts.c.resolved_at.is_(None))),
        "casefeedback_alerts_overdue": ("Alerts unacknowledged past their acknowledgement time, or with nobody "
                                        "left to tell.", count(alerts, overdue_clause(now))),
        "casefeedback_deliveries_failed": ("Alert notifications given up on (undeliverable).",
                                           count(alert_notifications, alert_notifications.c.status == "dead")),
        "casefeedback_deliveries_retrying": ("Alert notifications that failed at least once and will be tried again.",
                                             count(alert_notifications, alert_notifications.c.status == "pending",
                                                   alert_notifications.c.attempts > 0)),
        "casefeedback_purge_backlog_keys": ("Destroyed data keys whose ciphertext is still to be swept away.",
                                            len(orphaned_keys(connection))),
        "casefeedback_audit_checkpoint_age_seconds": (
            "Seconds since the newest signed audit checkpoint (absent before the first).",
            None if checkpoint is None else (now - datetime.fromisoformat(checkpoint.at)).total_seconds()),
        "casefeedback_worker_heartbeat_age_seconds": (
            "Seconds since the leading worker's last heartbeat (absent if no worker ever ran).",
            None if heartbeat is None else (now - heartbeat).total_seconds()),
    }


def _audit_verified(found: Services) -> Iterator[GaugeMetricFamily]:
    # The worker's minute watch and daily full verification both raise the auditors' alarm on a
    # problem and clear it once the log checks out; its state lives beside the witness.
    from casefeedback.audit.watch import raised_alarm

    yield GaugeMetricFamily("casefeedback_audit_verify_ok",
                            "1 if the last audit verification found the log intact, 0 while the alarm is raised.",
                            value=0 if raised_alarm(found.config) is not None else 1)
