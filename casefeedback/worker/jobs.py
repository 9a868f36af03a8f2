"""The worker's own jobs: retention purge, signed audit checkpoints, the erasure-ledger mirror."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from casefeedback.audit.verify import verify_log
from casefeedback.audit.watch import alarm, keep_watch
from casefeedback.audit.witness import Witness
from casefeedback.retention import ledger
from casefeedback.retention.purge import PurgeRefused, PurgeReport, purge
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.ratelimits import purge_expired
from casefeedback.worker.job import HEARTBEAT_JOB, Job, idle, register


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
    """Sign when due, append to the witness, compare with it, walk what is new; the alarm on a problem."""
    summary = keep_watch(found.config, found.engine, found.audit,
                         found.policies.organisation.audit.checkpoint_every, found.clock())
    # A routine checkpoint a minute is DEBUG (1,440 INFO lines a day would bury the
    # log); the alarm is logged at ERROR by ``alarm`` and returned as a summary.
    if summary.startswith("ALARM"):
        return summary
    return idle(summary or "log consistent with its witness; nothing new to sign")


def run_full_verify(found: Services) -> str:
    """Once a day, the whole chain from its first event: the minute's watch walks only what is new."""
    with read(found.engine) as connection:
        report = verify_log(connection, found.config.secrets.audit_chain.value,
                            found.config.secrets.audit_signing.value, witness=Witness(found.config.witness_path))
    if not report.ok:
        return alarm(found.config, found.engine, str(report.problem), found.clock())
    return idle(f"audit log intact: {report.checked} events verified")


def run_ledger_sync(found: Services) -> str:
    """Catch the ledger file up with the table (a crash between commit and file write leaves a gap)."""
    from casefeedback.backup.witnessing import send_erasures

    with read(found.engine) as connection:
        added = ledger.sync_file(connection, ledger.ledger_path(found.config.database_path))
    remote = send_erasures(found.config, int(found.clock().timestamp()))
    summary = f"{added} ledger line(s) added" + (f"; {remote}" if remote else "")
    return summary if added or remote else idle(summary)


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


def run_heartbeat(found: Services) -> str:
    """Nothing but being run: ``run_job`` records when, and /health/ready reads it (operations/health.py)."""
    return idle("alive")


# Only the leader runs jobs, so the heartbeat says "a worker is leading", not merely "a worker process exists".
register(Job(HEARTBEAT_JOB, timedelta(seconds=15), run_heartbeat,
             "record that the leading worker is alive, for the readiness check"))
register(Job("storage.wal_truncate", timedelta(minutes=1), run_wal_truncate,
             "after an erasure, fold the write-ahead log into the database and empty it"))
register(Job("storage.rate_limit_purge", timedelta(hours=1), run_rate_limit_purge,
             "remove rate-limit counters whose window is over (they hold keyed hashes of addresses)"))
register(Job("retention.purge", timedelta(hours=1), run_purge,
             "erase answers whose retention period is over, and expired drafts"))
register(Job("audit.checkpoint", timedelta(minutes=1), run_checkpoint,
             "sign a checkpoint of the audit log when due, witness it, and check the log against its witness"))
register(Job("audit.verify", timedelta(days=1), run_full_verify,
             "verify the whole audit log against its checkpoints and witness; the alarm if it is broken"))
register(Job("retention.ledger_sync", timedelta(minutes=15), run_ledger_sync,
             "mirror the erasure ledger to its file beside the database, its copy beside the audit witness, "
             "and the remote witness"))
