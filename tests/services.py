"""The real servers some tests need (PostgreSQL, Redis), as scripts/test starts them.

scripts/_services.sh starts a throwaway PostgreSQL and Redis on Unix sockets and names
them in CASEFEEDBACK_TEST_POSTGRES_URL and CASEFEEDBACK_TEST_REDIS_URL. A test that
needs one asks here: in CI a missing server is a failure (CI installs them, so missing
means broken set-up, never a quiet skip); elsewhere the test is skipped with the
command that makes it run.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import redis

INSTALL = {
    "CASEFEEDBACK_TEST_POSTGRES_URL": "sudo apt-get install postgresql, then run scripts/test",
    "CASEFEEDBACK_TEST_REDIS_URL": "sudo apt-get install redis-server, then run scripts/test",
}


def _needed(variable: str) -> str:
    url = os.environ.get(variable, "")
    if url:
        return url
    message = f"{variable} is not set (scripts/test starts the server): {INSTALL[variable]}"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def redis_url() -> str:
    """The throwaway Redis's URL, in the form Flask-Limiter's storage takes (``redis+unix://…``).

    Each pytest-xdist worker has a logical database of its own (``?db=N``), so one test emptying its Redis
    never clears the counters of a test running beside it in another process."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw-1").removeprefix("gw")
    return f"{_needed('CASEFEEDBACK_TEST_REDIS_URL')}?db={int(worker) + 1 if worker.isdigit() else 0}"


def postgres_url() -> str:
    """The throwaway PostgreSQL's SQLAlchemy URL (``postgresql+psycopg://…?host=<socket dir>``)."""
    return _needed("CASEFEEDBACK_TEST_POSTGRES_URL")


def _client(url: str) -> redis.Redis:
    import redis

    path, _, query = url.removeprefix("redis+unix://").partition("?db=")
    return redis.Redis(unix_socket_path=path, db=int(query or 0))


def redis_counters(url: str) -> int:
    """How many keys the Redis holds (Flask-Limiter's counters are keys of their own)."""
    client = _client(url)
    try:
        return int(client.dbsize())
    finally:
        client.close()


def flush_redis(url: str) -> None:
    """Empty the Redis so counters from an earlier test cannot meet this one's."""
    client = _client(url)
    try:
        client.flushdb()
    finally:
        client.close()
