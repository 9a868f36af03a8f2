"""The worker's own jobs: retention purge, signed audit checkpoints, the erasure-ledger mirror."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from casefeedback.audit.checkpoints import Signer, write_checkpoint
from casefeedback.retention import ledger
from casefeedback.retention.purge import PurgeRefused, PurgeReport, purge
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.ratelimits import purge_expired
from casefeedback.storage.tables import audit_checkpoints
from casefeedback.worker.job import Job, idle, register


def run_purge(found: Services) -> str:
    """Everything due now (and expired drafts, through the intake hook)."""
    try:
        report = purge(found, found.clock(), trigger="worker")
    except PurgeRefused as refused:
        return f"skipped: {refused}"
    drafts = "" if report.drafts is None else f", {report.drafts} expired draft(s)"
    summary = (f"erased {report.fields} answer(s) under {report.data_keys} data key(s){drafts}; "
               f"{sum(report.held.values())} held back by legal hold")
    return idle(summary) if _nothing_erased(report) else summary


def _nothing_erased(report: PurgeReport) -> bool:
    return not (report.data_keys or report.fields or report.drafts or report.submissions or report.outcomes
                or report.contributions or report.warnings or any(report.held.values()))


def run_checkpoint(found: Services) -> str:
    with write(found.engine) as connection:
        before = connection.execute(select(func.max(audit_checkpoints.c.seq))).scalar()
        checkpoint = write_checkpoint(connection, found.audit, Signer(found.config.secrets.audit_signing.value))
    if checkpoint is None:
        return idle("log empty")
    summary = f"checkpoint at event {checkpoint.seq}"
    return idle(summary + " (nothing new to sign)") if checkpoint.seq == before else summary


def run_ledger_sync(found: Services) -> str:
    """Catch the ledger file up with the table (a crash between commit and file write leaves a gap)."""
    with read(found.engine) as connection:
        added = ledger.sync_file(connection, ledger.ledger_path(found.config.database_path))
    summary = f"{added} ledger line(s) added"
    return summary if added else idle(summary)


_last_erasure_folded: dict[str, object] = {}


def run_wal_truncate(found: Services) -> str:
    """After any erasure (a withdrawal in a web request, say), fold the WAL into the file and empty it.

    An erasure commits at once, but until a checkpoint the database file still holds the old
    page and earlier WAL frames hold copies of it; this bounds that to a minute.
    """
    from casefeedback.storage.dialect import truncate_wal
    from casefeedback.storage.tables import erased_keys

    with read(found.engine) as connection:
        newest = connection.execute(select(func.count(), func.max(erased_keys.c.erased_at))).first()
    marker = tuple(newest) if newest is not None else None
    if marker == _last_erasure_folded.get(str(found.config.database_path)):
        return idle("no erasure since the last truncation")
    if not truncate_wal(found.engine):
        return "readers kept the log busy; trying again next minute"
    _last_erasure_folded[str(found.config.database_path)] = marker
    return "write-ahead log folded in and emptied"


def run_rate_limit_purge(found: Services) -> str:
    """Counters whose window is over: a web request removes them too, but only when one comes."""
    removed = purge_expired(found.engine, found.clock)
    summary = f"{removed} expired rate-limit counter(s) removed"
    return summary if removed else idle(summary)


register(Job("storage.wal_truncate", timedelta(minutes=1), run_wal_truncate,
             "after an erasure, fold the write-ahead log into the database and empty it"))
register(Job("storage.rate_limit_purge", timedelta(hours=1), run_rate_limit_purge,
             "remove rate-limit counters whose window is over (they hold keyed hashes of addresses)"))
register(Job("retention.purge", timedelta(hours=1), run_purge,
             "erase answers whose retention period is over, and expired drafts"))
register(Job("audit.checkpoint", timedelta(hours=1), run_checkpoint, "sign a checkpoint of the audit log"))
register(Job("retention.ledger_sync", timedelta(minutes=15), run_ledger_sync,
             "mirror the erasure ledger to its file beside the database"))
