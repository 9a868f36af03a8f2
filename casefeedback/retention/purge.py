"""The retention purge: erase every (submission, field class) whose time has come, and nothing else.

In three steps, so that people sending feedback meanwhile never wait behind it:

1. Plan, a chunk of submissions at a time, reading only, outside any write
   transaction: which data keys are due and not on legal hold (``planning.py``),
   how many answers each sealed, and, for a person who agreed to share insight,
   the de-identified contributions to keep (``insight/contributions.py``:
   decided, opened and built here).
2. Shred (``shredding.py``): write transactions that hold the lock for a few
   milliseconds each, with a pause between them (``pacing.py``). Each checks
   again what may have changed since the plan — a case put on hold or
   re-opened, consent withdrawn or changed, insight contributed meanwhile — and
   acts only on what is still due: contributions stored, data keys destroyed,
   the erasure ledger and the audit events written. From each commit, those
   answers are unreadable.
3. Sweep: the ciphertext of the destroyed keys is removed, again in small paced
   transactions (``ciphertext.py``).

Then the write-ahead log is truncated, so old page images holding what was
erased do not linger beside the database.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, update

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.intake import drafts as intake_drafts
from casefeedback.retention import ciphertext, ledger
from casefeedback.retention.outcomes import purge_outcomes
from casefeedback.retention.pacing import Pacer
from casefeedback.retention.planning import (
    PurgeRefused,
    PurgeReport,
    check_as_of,
    draft_warnings,
    iso,
    last_purge_as_of,
    plan,
    undeclared_warnings,
)
from casefeedback.retention.shredding import Shredder
from casefeedback.services import Services
from casefeedback.storage.dialect import truncate_wal
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import purge_runs

__all__ = ["PurgeRefused", "PurgeReport", "check_as_of", "last_purge_as_of", "plan", "purge", "purge_lock"]

log = logging.getLogger(__name__)


@contextmanager
def purge_lock(database: Path) -> Iterator[None]:
    """One purge at a time per instance (the worker's and a command's would otherwise race)."""
    fd = os.open(database.with_name(database.name + "-purge.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PurgeRefused("another purge is running on this instance (the worker's, or another "
                               "`casefeedback purge`); wait for it to finish and try again") from None
        yield
    finally:
        os.close(fd)


def purge(found: Services, as_of: datetime, *, trigger: str = "command",
          progress: Callable[[int, int], None] | None = None) -> PurgeReport:
    """Erase everything due as of ``as_of`` (never later than now), keys first; audit the counts."""
    check_as_of(found, as_of, dry_run=False)
    with purge_lock(found.config.database_path):
        return _purge_locked(found, as_of, trigger, progress)


def _purge_locked(found: Services, as_of: datetime, trigger: str,
                  progress: Callable[[int, int], None] | None) -> PurgeReport:
    report = PurgeReport(as_of, dry_run=False)
    warnings: set[str] = set()
    run_id = str(uuid.uuid4())
    with write(found.engine) as connection:
        connection.execute(insert(purge_runs).values(id=run_id, as_of=as_of, started_at=found.clock(),
                                                     trigger=trigger, data_keys=0, fields=0))
    shredder = Shredder(found, as_of, report, warnings)
    began = time.perf_counter()
    put_off = shredder.run_all(progress)
    if put_off:  # insight consent given since they were planned: planned again, once; else the next purge
        shredder.run(put_off)
    shredded = time.perf_counter()
    sweeping = Pacer(most=2000)
    # In the order the keys were destroyed, which is the order their submissions were stored: their answers
    # are neighbours on the table's pages, so a transaction rewrites few of them.
    report.ciphertext_removed = ciphertext.remove(found, shredder.destroyed, sweeping,
                                                 replies=shredder.destroyed_replies)
    ledger.sync(shredder.ledger_file)
    report.seconds = {"plan_and_shred": shredded - began, "sweep": time.perf_counter() - shredded}
    report.lock = Pacer(held=shredder.pacer.held + sweeping.held).summary()
    report.drafts = _purge_drafts(found)
    with write(found.engine) as connection:
        report.outcomes = purge_outcomes(connection, found.audit, found.policies.organisation.outcomes.keep,
                                         as_of, found.clock())
    with read(found.engine) as connection:
        warnings |= undeclared_warnings(found, connection)
    report.warnings = sorted(warnings) + draft_warnings(found)
    with write(found.engine) as connection:
        connection.execute(update(purge_runs).where(purge_runs.c.id == run_id).values(
            finished_at=found.clock(), data_keys=report.data_keys, fields=report.fields))
        found.audit.append(connection, AuditEvent(
            action=Action.RETENTION_PURGE, outcome="completed", actor_role=trigger, object_type="purge",
            object_id=run_id, detail={"as_of": iso(as_of), "submissions": report.submissions,
                                      "data_keys": report.data_keys, "fields": report.fields,
                                      "contributions": report.contributions, "by_class": report.by_class_text(),
                                      "held_back": sum(report.held.values()),
                                      "drafts": report.drafts if report.drafts is not None else -1,
                                      "case_outcomes": report.outcomes}))
    if not truncate_wal(found.engine):
        log.warning("purge: the write-ahead log could not be truncated now (readers busy); "
                    "it is on the next purge or checkpoint")
    return report


def _purge_drafts(found: Services) -> int:
    """Drafts whose keep time is over: erased in the same purge run, and audited the same way."""
    with write(found.engine) as connection:
        purged = intake_drafts.purge_expired_drafts(connection, found.audit, found.clock())
    return purged
