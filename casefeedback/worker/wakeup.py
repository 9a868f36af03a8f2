"""On PostgreSQL, the leading worker sends an urgent alert the moment the submission that raised it commits.

The deliverer job polls the outbox twice a second; on one host that is the latency floor. Here a thread of the
leader LISTENs on a connection of its own (an autocommit one, never lent to a job) and runs a delivery round as
soon as a transaction that queued a notification commits (storage/dialect.py wake_deliverers). The poll stays as
the safety net: for retries with backoff, for a notification lost with a dropped connection, and for SQLite,
which has no such channel. Delivering from this thread and from the poll at once is safe: the outbox is claimed
with FOR UPDATE SKIP LOCKED, so no row is sent twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from casefeedback.storage.dialect import listen_for_outbox, wait_for_outbox

log = logging.getLogger("casefeedback.worker")

WAIT = 1.0  # seconds per wait, so that stopping never takes longer
RECONNECT_AFTER = 2.0  # seconds between attempts while the server cannot be reached


class OutboxWakeup:
    """A daemon thread: LISTEN, and on every notification call ``deliver`` (whose failures it logs, by type)."""

    def __init__(self, engine: Engine, deliver: Callable[[], object]) -> None:
        self._engine = engine
        self._deliver = deliver
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-wakeup", daemon=True)
        self.listening = threading.Event()  # set once LISTEN is in place (tests and readiness wait on it)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=WAIT + 5)
        self._engine.dispose()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self._engine.connect() as connection:
                    raw = connection.connection.driver_connection
                    listen_for_outbox(raw)
                    self.listening.set()
                    self._round()  # whatever was queued before LISTEN took hold
                    while not self._stop.is_set():
                        if wait_for_outbox(raw, WAIT):
                            self._round()
            except (SQLAlchemyError, ConnectionError) as error:
                # The type only: a driver's message may name the host or the user.
                log.warning("outbox wake-up lost its connection (%s): polling only until it is back",
                            type(error).__name__)
            except Exception as error:
                # Anything else must not end the thread either: urgent alerts would then wait for the poll
                # for the rest of this leader's life. The type only, as above; the poll covers the gap.
                log.error("outbox wake-up failed (%s): polling only until it is listening again",
                          type(error).__name__)
            self.listening.clear()
            self._stop.wait(RECONNECT_AFTER)

    def _round(self) -> None:
        try:
            self._deliver()
        except Exception as error:
            # Whatever the round met (the store, a channel, a bug), the listener lives on and the poll retries:
            # one bad round must not silence the wake-up for every later alert. The type only, never a message
            # that might quote a row.
            log.warning("delivery on wake-up failed (%s): the next poll retries", type(error).__name__)
