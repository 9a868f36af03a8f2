"""The worker's own jobs: retention purge, signed audit checkpoints, the erasure-ledger mirror."""

from __future__ import annotations

from datetime import timedelta

from casefeedback.audit.checkpoints import Signer, write_checkpoint
from casefeedback.retention import ledger
from casefeedback.retention.purge import PurgeRefused, purge
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.worker.job import Job, register


def run_purge(found: Services) -> str:
    """Everything due now (and expired drafts, through the intake hook)."""
    try:
        report = purge(found, found.clock(), trigger="worker")
    except PurgeRefused as refused:
        return f"skipped: {refused}"
    drafts = "" if report.drafts is None else f", {report.drafts} expired draft(s)"
    return (f"erased {report.fields} answer(s) under {report.data_keys} data key(s){drafts}; "
            f"{sum(report.held.values())} held back by legal hold")


def run_checkpoint(found: Services) -> str:
    with write(found.engine) as connection:
        checkpoint = write_checkpoint(connection, found.audit, Signer(found.config.secrets.audit_signing.value))
    return "log empty" if checkpoint is None else f"checkpoint at event {checkpoint.seq}"


def run_ledger_sync(found: Services) -> str:
    """Catch the ledger file up with the table (a crash between commit and file write leaves a gap)."""
    with read(found.engine) as connection:
        added = ledger.sync_file(connection, ledger.ledger_path(found.config.database_path))
    return f"{added} ledger line(s) added"


_last_erasure_folded: dict[str, object] = {}


def run_wal_truncate(found: Services) -> str:
    """After any erasure (a withdrawal in a web request, say), fold the WAL into the file and empty it.

    An erasure commits at once, but until a checkpoint the database file still holds the old
    page and earlier WAL frames hold copies of it; this bounds that to a minute.
    """
    from sqlalchemy import func, select

    from casefeedback.storage.dialect import truncate_wal
    from casefeedback.storage.tables import erased_keys

    with read(found.engine) as connection:
        newest = connection.execute(select(func.count(), func.max(erased_keys.c.erased_at))).first()
    marker = tuple(newest) if newest is not None else None
    if marker == _last_erasure_folded.get(str(found.config.database_path)):
        return "no erasure since the last truncation"
    if not truncate_wal(found.engine):
        return "readers kept the log busy; trying again next minute"
    _last_erasure_folded[str(found.config.database_path)] = marker
    return "write-ahead log folded in and emptied"


register(Job("storage.wal_truncate", timedelta(minutes=1), run_wal_truncate,
             "after an erasure, fold the write-ahead log into the database and empty it"))
register(Job("retention.purge", timedelta(hours=1), run_purge,
             "erase answers whose retention period is over, and expired drafts"))
register(Job("audit.checkpoint", timedelta(hours=1), run_checkpoint, "sign a checkpoint of the audit log"))
register(Job("retention.ledger_sync", timedelta(minutes=15), run_ledger_sync,
             "mirror the erasure ledger to its file beside the database"))
