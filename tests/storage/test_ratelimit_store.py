"""Rate-limit counters in the database: exact across processes, windows that end, nothing that names anyone."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from limits.errors import ConfigurationError
from sqlalchemy import func, select

from casefeedback.clock import system_clock
from casefeedback.codes import lookup_hash
from casefeedback.instance import load_secrets
from casefeedback.services import Services
from casefeedback.storage.engine import open_engine, read
from casefeedback.storage.ratelimits import PURPOSE, DatabaseStorage, purge_expired
from casefeedback.storage.tables import rate_limits
from casefeedback.worker.registry import jobs
from tests.conftest import Clock

KEY = "LIMITER/203.0.113.7/receipt-code/10/1/minute"  # the shape Flask-Limiter's keys have
PROCESSES, PER_PROCESS = 4, 50


@pytest.fixture
def store(found: Services, clock: Clock) -> DatabaseStorage:
    return DatabaseStorage(engine=found.engine, lookup_key=found.config.secrets.lookup.value, clock=clock)


def rows(found: Services) -> list[tuple[str, int]]:
    with read(found.engine) as connection:
        return [(r.key_hash, r.hits) for r in connection.execute(select(rate_limits).order_by(rate_limits.c.hits))]


def _hit(instance: str, database: str, start: Any, results: multiprocessing.Queue[list[int]]) -> None:
    secrets = load_secrets(Path(instance), {})
    engine = open_engine(Path(database), secrets.database.value)
    storage = DatabaseStorage(engine=engine, lookup_key=secrets.lookup.value, clock=system_clock)
    start.wait(timeout=60)  # every process ready: the hits overlap instead of running one process after another
    results.put([storage.incr(KEY, 3600) for _ in range(PER_PROCESS)])
    engine.dispose()


def test_hits_from_concurrent_processes_are_each_counted_once(found: Services) -> None:
    """As gunicorn workers do: every process hits the same key at once; no hit is lost or counted twice."""
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[list[int]] = context.Queue()
    start = context.Barrier(PROCESSES)
    config = found.config
    workers = [context.Process(target=_hit, args=(str(config.instance_dir), str(config.database_path), start,
                                                  results)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    seen = [count for _ in workers for count in results.get(timeout=120)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    storage = DatabaseStorage(engine=found.engine, lookup_key=config.secrets.lookup.value)
    assert storage.get(KEY) == PROCESSES * PER_PROCESS
    # Each hit saw its own count: the increment and its result are one atomic step.
    assert sorted(seen) == list(range(1, PROCESSES * PER_PROCESS + 1))


def test_a_window_opens_at_the_first_hit_and_ends_after_its_period(store: DatabaseStorage, clock: Clock) -> None:
    opened = clock()
    assert [store.incr(KEY, 60) for _ in range(3)] == [1, 2, 3]
    assert store.get(KEY) == 3
    assert store.get_expiry(KEY) == opened.timestamp() + 60
    clock.advance(seconds=59)
    assert store.incr(KEY, 60) == 4  # the same window: its end does not move
    assert store.get_expiry(KEY) == opened.timestamp() + 60
    clock.advance(seconds=1)
    assert store.get(KEY) == 0 and store.get_expiry(KEY) == clock().timestamp()
    assert store.incr(KEY, 60) == 1  # a new window
    assert store.get_expiry(KEY) == clock().timestamp() + 60


def test_a_hit_deletes_every_window_that_is_over(store: DatabaseStorage, found: Services, clock: Clock) -> None:
    store.incr("LIMITER/198.51.100.1/resume/10/1/minute", 60)
    store.incr("LIMITER/198.51.100.2/resume/60/1/day", 86400)
    clock.advance(minutes=2)
    store.incr(KEY, 60)
    assert len(rows(found)) == 2  # the day's window still runs; the minute's is gone


def test_the_worker_purges_windows_that_are_over(store: DatabaseStorage, found: Services, clock: Clock) -> None:
    store.incr("LIMITER/198.51.100.1/resume/10/1/minute", 60)
    store.incr(KEY, 3600)
    clock.advance(minutes=2)
    assert purge_expired(found.engine, clock) == 1
    assert len(rows(found)) == 1
    job = next(job for job in jobs() if job.id == "storage.rate_limit_purge")
    clock.advance(hours=1)
    assert job.run(found) == "1 expired rate-limit counter(s) removed"  # found.clock is this test's clock
    assert rows(found) == []


def test_clear_forgets_one_key_and_reset_all(store: DatabaseStorage, found: Services) -> None:
    other = "LIMITER/198.51.100.9/receipt-code/10/1/minute"
    store.incr(KEY, 60, amount=2)
    store.incr(other, 60)
    store.clear(KEY)
    assert store.get(KEY) == 0 and store.get(other) == 1
    assert store.reset() == 1
    assert rows(found) == [] and store.check()


def test_only_a_keyed_hash_of_the_key_is_stored(store: DatabaseStorage, found: Services) -> None:
    store.incr(KEY, 60)
    [(stored, hits)] = rows(found)
    assert hits == 1 and stored == lookup_hash(found.config.secrets.lookup.value, PURPOSE, KEY)
    with read(found.engine) as connection:
        assert connection.execute(select(func.count()).select_from(rate_limits)
                                  .where(rate_limits.c.key_hash.contains("203.0.113.7"))).scalar_one() == 0


def test_the_storage_refuses_to_start_without_the_engine() -> None:
    with pytest.raises(ConfigurationError, match="needs the application's engine"):
        DatabaseStorage("casefeedback-db://")



def test_on_postgresql_two_instances_share_one_exact_count(tmp_path: Path) -> None:
    """Two app instances (two pools, as two hosts have) on one PostgreSQL database, hitting at once: the
    default database count is shared, so a limit holds across instances without a Redis."""
    import threading

    from sqlalchemy import create_engine

    from tests.stores import empty_store

    with empty_store("postgresql", tmp_path) as first:
        rate_limits.create(first)
        second = create_engine(first.url, pool_size=4)  # the other host's own pool on the same database
        try:
            stores = [DatabaseStorage(engine=e, lookup_key=b"k" * 32, clock=system_clock) for e in (first, second)]
            start = threading.Barrier(8)
            counted: list[int] = []

            def hit(storage: DatabaseStorage) -> None:
                start.wait(timeout=30)
                counted.extend(storage.incr(KEY, 3600) for _ in range(PER_PROCESS))

            threads = [threading.Thread(target=hit, args=(stores[i % 2],)) for i in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert sorted(counted) == list(range(1, 8 * PER_PROCESS + 1))  # every hit counted once
            assert stores[0].get(KEY) == stores[1].get(KEY) == 8 * PER_PROCESS
        finally:
            second.dispose()
