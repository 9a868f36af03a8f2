"""/health/live and /health/ready: cheap, open, content-free, and never a 500."""

from __future__ import annotations

import json
from dataclasses import replace

from sqlalchemy import text, update

from casefeedback.operations import health
from casefeedback.storage.engine import write
from casefeedback.storage.tables import worker_jobs
from casefeedback.worker.registry import jobs
from casefeedback.worker.scheduler import run_all_once


class BrokenEngine:
    """An engine whose database is gone: every connection is refused, with words a page must never show."""

    def connect(self):
        raise ConnectionRefusedError("db.internal:5432 user=casefeedback refused")

    begin = connect

    def dispose(self) -> None:
        pass


def beat(found) -> None:
    run_all_once(found, [job for job in jobs() if job.id == "worker.heartbeat"])


def test_live_answers_without_the_database(app, client, found, monkeypatch):
    monkeypatch.setitem(app.extensions, "casefeedback", replace(found, engine=BrokenEngine()))
    response = client.get("/health/live")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert client.get("/health").json == {"status": "ok"}  # the old address still answers


def test_ready_once_the_worker_has_beaten(client, found, clock):
    first = client.get("/health/ready")
    assert first.status_code == 503
    assert first.json["failed"] == ["worker"]  # no worker has run on this database yet
    beat(found)
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "failed": [],
                             "checks": {"database": "ok", "keys": "ok", "worker": "ok", "witness": "ok"}}
    clock.advance(minutes=3)  # the worker stopped: its heartbeat grows stale
    stale = client.get("/health/ready")
    assert stale.status_code == 503 and stale.json["failed"] == ["worker"]


def test_ready_fails_by_name_when_the_schema_is_behind(client, found):
    beat(found)
    with write(found.engine) as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    response = client.get("/health/ready")
    assert response.status_code == 503 and response.json["failed"] == ["database"]


def test_ready_is_503_not_500_when_the_database_is_gone(app, client, found, monkeypatch):
    beat(found)
    monkeypatch.setitem(app.extensions, "casefeedback", replace(found, engine=BrokenEngine()))
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert set(response.json["failed"]) == {"database", "worker"}
    body = response.get_data(as_text=True)
    assert "db.internal" not in body and "Traceback" not in body  # names of checks, never an error's words
    json.loads(body)


def test_ready_fails_when_the_witness_cannot_be_written(app, client, found, tmp_path, monkeypatch):
    beat(found)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    config = replace(found.config, audit_witness=blocked / "witness" / "audit-witness.jsonl")
    monkeypatch.setitem(app.extensions, "casefeedback", replace(found, config=config))
    response = client.get("/health/ready")
    assert response.status_code == 503 and response.json["failed"] == ["witness"]


def test_a_remote_witness_nobody_answers_is_not_ready(app, client, found, monkeypatch):
    beat(found)
    config = replace(found.config, audit_witness_url="https://127.0.0.1:9/witness")  # discard port: closed
    monkeypatch.setitem(app.extensions, "casefeedback", replace(found, config=config))
    response = client.get("/health/ready")
    assert response.status_code == 503 and response.json["failed"] == ["witness"]


def test_probes_need_no_session_and_are_never_rate_limited(app, client, found):
    beat(found)
    app.config["RATELIMIT_ENABLED"] = True
    for _ in range(200):
        assert client.get("/health/ready").status_code == 200
        assert client.get("/health/live").status_code == 200


def test_heartbeat_age_reads_the_worker_jobs_row(found, clock):
    assert health.heartbeat_age(found) is None
    beat(found)
    with write(found.engine) as connection:
        connection.execute(update(worker_jobs).where(worker_jobs.c.id == "worker.heartbeat")
                           .values(last_finished_at=clock() - health.HEARTBEAT_STALE))
    assert health.worker_recent(found)  # exactly at the limit: still ready
    clock.advance(seconds=1)
    assert not health.worker_recent(found)
