"""Any number of workers on one PostgreSQL database, exactly one of them running the jobs.

Every node may run ``casefeedback worker``; the one that holds a session-level PostgreSQL advisory lock
(storage/dialect.py) leads and runs the scheduled jobs, the others stand by and try again every couple of
seconds. The lock lives on a connection of its own (storage/engine.py open_leader_engine), so the server
releases it the moment the leader dies (kill -9, a crash) and a standby takes over within seconds. A leader
that can no longer reach the server through that connection stops scheduling jobs at once: the server may
already have given the lock to another, and two leaders would run every job twice.

SQLite keeps its own rule (cli/worker.py): one worker per instance, by a file lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import suppress

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from casefeedback.services import Services
from casefeedback.storage.dialect import leader_alive, try_leader_lock
from casefeedback.worker.job import Job
from casefeedback.worker.wakeup import OutboxWakeup

log = logging.getLogger("casefeedback.worker")

CHECK_EVERY = 2.0  # seconds between a leader's checks of its lock's connection
RETRY_EVERY = 2.0  # seconds between a standby's attempts to take the lock


class LeaderLock:
    """The advisory lock on its own connection; every failure to reach the server counts as "not leading"."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def try_lead(self) -> bool:
        try:
            if self._connection is None:
                self._connection = self._engine.connect()
            return try_leader_lock(self._connection)
        except SQLAlchemyError as error:
            # The type only: a driver's message may name the host or the user.
            log.warning("cannot reach the database for the leader lock (%s): standing by", type(error).__name__)
            self._drop()
            return False

    def still_leading(self) -> bool:
        if self._connection is None:
            return False
        try:
            leader_alive(self._connection)
            return True
        except SQLAlchemyError:
            self._drop()
            return False

    def release(self) -> None:
        self._drop()  # closing the session releases the lock at once

    def close(self) -> None:
        self._drop()
        self._engine.dispose()

    def _drop(self) -> None:
        if self._connection is not None:
            with suppress(Exception):  # a dead connection may fail to close; it is gone either way
                self._connection.close()
            self._connection = None


def _sleep(seconds: float, stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not stop() and time.monotonic() < deadline:
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def lead_or_stand_by(found: Services, all_jobs: Sequence[Job], lock: LeaderLock, stop: Callable[[], bool], *,
                     say: Callable[[str], None] = lambda _line: None,
                     check_every: float = CHECK_EVERY, retry_every: float = RETRY_EVERY,
                     wakeup: Callable[[], OutboxWakeup] | None = None) -> None:
    """Until ``stop()``: stand by while another worker leads; lead (run the jobs) while this one holds the lock.

    ``wakeup``: makes the outbox listener that runs beside the jobs while this worker leads (worker/wakeup.py).
    """
    from apscheduler.schedulers.background import BackgroundScheduler

    from casefeedback.worker.scheduler import schedule, scheduler_options

    standing_by = False
    while not stop():
        if not lock.try_lead():
            if not standing_by:  # one line when it starts, not one every two seconds
                line = f"another worker leads: standing by, trying again every {retry_every:g} s"
                log.info(line)
                say(line)
                standing_by = True
            _sleep(retry_every, stop)
            continue
        standing_by = False
        line = f"this worker leads: running {len(all_jobs)} job(s)"
        log.info(line)
        say(line)
        scheduler = BackgroundScheduler(**scheduler_options())
        listener = wakeup() if wakeup is not None else None
        lost = False
        try:
            schedule(scheduler, found, all_jobs)  # reads the jobs' last runs: the database must answer
            scheduler.start()
            if listener is not None:
                listener.start()
            while not stop():
                if not lock.still_leading():
                    lost = True
                    break
                _sleep(check_every, stop)
        except SQLAlchemyError as error:
            log.warning("cannot read the jobs' state (%s)", type(error).__name__)
            lost = True
        finally:
            if listener is not None:
                listener.stop()
            if scheduler.running:
                # Lost: stop scheduling now, without waiting for a running job (it commits or rolls back
                # whole, and likely fails anyway without the database). Stopping: let a running job finish.
                scheduler.shutdown(wait=not lost)
        if lost:
            lock.release()  # whatever is left of the session: another worker may lead
            line = "lost the leader lock's connection: stopped running jobs, standing by"
            log.warning(line)
            say(line)
            standing_by = True
            _sleep(retry_every, stop)
