"""Rate-limit counters in the application's own database: one count per limit, whatever the number of workers.

Flask-Limiter keeps its counters in a ``limits`` storage. Memory is per
process, so N gunicorn workers each allowed the whole limit and a script got N
times the documented number of guesses. This storage keeps the counters in the
database every worker already opens, so the embedded default (one host, the
SQLCipher file, only python3) holds the documented limits exactly. Several
hosts share a Redis instead (``CASEFEEDBACK_RATELIMIT_STORAGE``).

Fixed windows, Flask-Limiter's default strategy and the one the documented
limits are stated in ("10 a minute"): a window opens at a key's first hit and
lasts the limit's period. Each hit is one short write transaction (an upsert
under the writer lock), so hits from any number of processes are counted
exactly once each.

The limiter's keys name the client's address ("LIMITER/203.0.113.7/receipt-code/10/1/minute"),
so only a keyed hash of a key is stored (HMAC under the instance's lookup key,
as for receipt codes): the rows say that limits are running, not for whom.
Windows that are over are deleted by the next hit (anyone's) and by the
worker's purge, so no hash outlives its window for long.
"""

from __future__ import annotations

from datetime import timedelta

from limits.errors import ConfigurationError
from limits.storage import Storage
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from casefeedback.clock import Clock, system_clock
from casefeedback.codes import lookup_hash
from casefeedback.storage.dialect import insert_or_update
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import rate_limits

SCHEME = "casefeedback-db"
# Its own purpose under the lookup key: a rate-limit hash can never match a code's.
PURPOSE = "rate-limit"


class DatabaseStorage(Storage):
    """A ``limits`` storage on the application's engine (fixed windows only).

    ``limits`` builds a storage from a URI, which cannot carry a database key,
    so the engine comes as a storage option (``RATELIMIT_STORAGE_OPTIONS``, set
    by ``casefeedback.ratelimit.install``): the engine the application already
    opened, with its writer lock, rather than a second one behind its back.
    """

    # Read once by limits' registry when the class is made (storage_from_string picks it by scheme).
    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 - the base class declares it a list

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *, engine: Engine | None = None,
                 lookup_key: bytes | None = None, clock: Clock = system_clock,
                 **options: float | str | bool) -> None:
        if engine is None or lookup_key is None:
            raise ConfigurationError(f"{SCHEME}:// needs the application's engine and lookup key: "
                                     "casefeedback.ratelimit.install passes them")
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.engine = engine
        self._lookup_key = lookup_key
        self._clock = clock

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def _hash(self, key: str) -> str:
        return lookup_hash(self._lookup_key, PURPOSE, key)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count ``amount`` hits on ``key``; a key with no running window opens one of ``expiry`` seconds."""
        now = self._clock()
        with write(self.engine) as connection:
            # Windows that are over go first, this key's own included, so the
            # upsert below either adds to a running window or opens a new one.
            connection.execute(delete(rate_limits).where(rate_limits.c.expires_at <= now))
            upsert = insert_or_update(rate_limits, ("key_hash",),
                                      lambda offered: {"hits": rate_limits.c.hits + offered.hits},
                                      dialect_name=connection.dialect.name)
            hits = connection.execute(upsert.returning(rate_limits.c.hits), {
                "key_hash": self._hash(key), "hits": amount, "expires_at": now + timedelta(seconds=expiry)},
            ).scalar_one()
        return int(hits)

    def get(self, key: str) -> int:
        with read(self.engine) as connection:
            hits = connection.execute(select(rate_limits.c.hits).where(
                rate_limits.c.key_hash == self._hash(key), rate_limits.c.expires_at > self._clock())).scalar()
        return int(hits or 0)

    def get_expiry(self, key: str) -> float:
        """When the key's window ends (seconds since the epoch); now if none is running."""
        now = self._clock()
        with read(self.engine) as connection:
            ends = connection.execute(select(rate_limits.c.expires_at).where(
                rate_limits.c.key_hash == self._hash(key), rate_limits.c.expires_at > now)).scalar()
        return (ends or now).timestamp()

    def check(self) -> bool:
        try:
            with read(self.engine) as connection:
                connection.execute(select(func.count()).select_from(rate_limits).limit(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter; how many there were."""
        with write(self.engine) as connection:
            return connection.execute(delete(rate_limits)).rowcount

    def clear(self, key: str) -> None:
        with write(self.engine) as connection:
            connection.execute(delete(rate_limits).where(rate_limits.c.key_hash == self._hash(key)))


def purge_expired(engine: Engine, clock: Clock = system_clock) -> int:
    """Delete every counter whose window is over (the worker's hourly sweep); how many went."""
    with write(engine) as connection:
        return connection.execute(delete(rate_limits).where(rate_limits.c.expires_at <= clock())).rowcount
