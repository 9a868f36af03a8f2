"""`casefeedback worker`: the one background process of an instance."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

import click

from casefeedback.cli.common import CommandError, fail_clearly, instance_dir, open_services

if TYPE_CHECKING:
    from casefeedback.services import Services
    from casefeedback.worker.registry import Job

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
    single = _only_worker(directory)
    try:
        running = hold_running(directory)
    except InstanceBusy as busy:
        os.close(single)
        raise CommandError(str(busy)) from None
    found = open_services()
    configure_logging(found.config)
    try:
        all_jobs = jobs()
        if once:
            for job_id, summary in run_all_once(found, all_jobs, only_due=due).items():
                click.echo(f"{job_id}: {summary}")
            return
        _serve(found, all_jobs)
    finally:
        found.engine.dispose()
        os.close(running)
        os.close(single)


def _only_worker(directory: os.PathLike[str]) -> int:
    fd = os.open(os.path.join(directory, WORKER_LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise CommandError(f"a worker is already running for {directory}: one worker per instance, "
                           "or every job would run twice") from None
    return fd


def _serve(found: Services, all_jobs: Sequence[Job]) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from casefeedback.worker.scheduler import schedule, scheduler_options, wait_forever

    stopping = {"now": False}

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    scheduler = BackgroundScheduler(**scheduler_options())
    schedule(scheduler, found, all_jobs)
    scheduler.start()
    logging.getLogger("casefeedback.worker").info("worker started with %d job(s)", len(all_jobs))
    click.echo(f"casefeedback worker running {len(all_jobs)} job(s); stop with Ctrl-C or SIGTERM", err=True)
    try:
        wait_forever(lambda: stopping["now"])
    finally:
        # Let a running job finish its transaction: each commits or rolls back whole.
        scheduler.shutdown(wait=True)
        click.echo("casefeedback worker stopped", err=True)
