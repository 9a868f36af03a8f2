"""`casefeedback worker`: the background process (one per SQLite instance; on PostgreSQL several, one leading)."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING

import click

from casefeedback.cli.common import CommandError, fail_clearly, instance_dir, open_services

if TYPE_CHECKING:
    from casefeedback.services import Services
    from casefeedback.worker.registry import Job
    from casefeedback.worker.wakeup import OutboxWakeup

WORKER_LOCK = "worker.lock"


@click.command()
@click.option("--once", is_flag=True, help="Run every job once now and exit (e.g. from cron, or to test).")
@click.option("--due", is_flag=True, help="With --once: run only the jobs that are due.")
@fail_clearly
def worker(once: bool, due: bool) -> None:
    """Run the background jobs: retention purge, audit checkpoints, and any other registered job."""
    from casefeedback.backup.lock import InstanceBusy, hold_running
    from casefeedback.logs import configure_logging
    from casefeedback.worker.registry import jobs
    from casefeedback.worker.scheduler import run_all_once

    directory = instance_dir()
    # PostgreSQL: any number of workers, one leading (worker/leader.py); SQLite: one per instance, by file.
    # The same variable Config reads (and checks, in open_services); read here because the file lock is
    # taken before the services open, as it always was.
    on_postgres = bool(os.environ.get("CASEFEEDBACK_DATABASE_URL", "").strip())
    single = -1 if on_postgres else _only_worker(directory)
    try:
        running = hold_running(directory)
    except InstanceBusy as busy:
        _close(single)
        raise CommandError(str(busy)) from None
    found = open_services()
    configure_logging(found.config)
    try:
        all_jobs = jobs()
        if on_postgres:
            _lead(found, all_jobs, once=once, due=due)
            return
        if once:
            for job_id, summary in run_all_once(found, all_jobs, only_due=due).items():
                click.echo(f"{job_id}: {summary}")
            return
        _serve(found, all_jobs)
    finally:
        found.engine.dispose()
        os.close(running)
        _close(single)


def _close(fd: int) -> None:
    if fd >= 0:
        os.close(fd)


def _only_worker(directory: os.PathLike[str]) -> int:
    fd = os.open(os.path.join(directory, WORKER_LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise CommandError(f"a worker is already running for {directory}: one worker per instance, "
                           "or every job would run twice") from None
    return fd


def _stopping() -> Callable[[], bool]:
    """True once SIGTERM or SIGINT arrived."""
    stopping = {"now": False}

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return lambda: stopping["now"]


def _lead(found: Services, all_jobs: Sequence[Job], *, once: bool, due: bool) -> None:
    """PostgreSQL: run the jobs only while this worker holds the leader lock."""
    from casefeedback.alerts.jobs import DELIVERY_JOB
    from casefeedback.storage.engine import open_leader_engine
    from casefeedback.worker.leader import LeaderLock, lead_or_stand_by
    from casefeedback.worker.scheduler import run_all_once

    lock = LeaderLock(open_leader_engine(found.config.store))
    try:
        if once:
            # Never beside a leader: every job would run twice.
            if not lock.try_lead():
                raise CommandError("another worker leads on this database: its jobs run there; "
                                   "run --once when no worker is running")
            for job_id, summary in run_all_once(found, all_jobs, only_due=due).items():
                click.echo(f"{job_id}: {summary}")
            return
        click.echo("casefeedback worker started; stop with Ctrl-C or SIGTERM", err=True)
        lead_or_stand_by(found, all_jobs, lock, _stopping(), say=lambda line: click.echo(line, err=True),
                         wakeup=_outbox_wakeup(found) if any(job.id == DELIVERY_JOB for job in all_jobs) else None)
        click.echo("casefeedback worker stopped", err=True)
    finally:
        lock.close()


def _outbox_wakeup(found: Services) -> Callable[[], OutboxWakeup]:
    """The leader's outbox listener: urgent alerts go out as their submission commits (worker/wakeup.py)."""
    from casefeedback.alerts.delivery import deliver_due
    from casefeedback.storage.engine import open_leader_engine
    from casefeedback.worker.wakeup import OutboxWakeup

    return lambda: OutboxWakeup(open_leader_engine(found.config.store), lambda: deliver_due(found))


def _serve(found: Services, all_jobs: Sequence[Job]) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from casefeedback.worker.scheduler import schedule, scheduler_options, wait_forever

    stop = _stopping()
    scheduler = BackgroundScheduler(**scheduler_options())
    schedule(scheduler, found, all_jobs)
    scheduler.start()
    logging.getLogger("casefeedback.worker").info("worker started with %d job(s)", len(all_jobs))
    click.echo(f"casefeedback worker running {len(all_jobs)} job(s); stop with Ctrl-C or SIGTERM", err=True)
    try:
        wait_forever(stop)
    finally:
        # Let a running job finish its transaction: each commits or rolls back whole.
        scheduler.shutdown(wait=True)
        click.echo("casefeedback worker stopped", err=True)
