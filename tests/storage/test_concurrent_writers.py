"""Several processes writing at once (as gunicorn workers do): no lock errors, no forked audit chain."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from sqlalchemy import func, select

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.clock import system_clock
from casefeedback.instance import load_secrets
from casefeedback.storage.engine import open_engine, read, write
from casefeedback.storage.tables import audit_events

PER_PROCESS = 40


def _writer(instance: str, database: str, name: str) -> None:
    secrets = load_secrets(Path(instance), {})
    engine = open_engine(Path(database), secrets.database.value)
    log = AuditLog(secrets.audit_chain.value, system_clock)
    for i in range(PER_PROCESS):
        with write(engine) as connection:
            log.append(connection, AuditEvent(action="test.concurrent", outcome="ok", actor_id=f"{name}-{i}"))
    engine.dispose()


def test_concurrent_processes_append_one_unbroken_chain(config):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(str(config.instance_dir), str(config.database_path), f"w{n}"))
               for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    engine = open_engine(config.database_path, config.secrets.database.value)
    with read(engine) as connection:
        written = connection.execute(select(func.count()).select_from(audit_events)
                                     .where(audit_events.c.action == "test.concurrent")).scalar_one()
        report = AuditLog(config.secrets.audit_chain.value, system_clock).verify(connection)
    engine.dispose()
    assert written == 3 * PER_PROCESS
    assert report.ok, report.problem
