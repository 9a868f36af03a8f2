"""What a load-generator run sends (``Request``) and what it measured (``Result``).

Their own module so that both drivers — wrk, in ``common``, and the Python
fallback, ``loadgen`` — share them without importing each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    """One prepared request: each is sent at most once unless the run cycles."""

    body: str
    cookie: str = ""


@dataclass
class Result:
    """What one load-generator run measured against one server."""

    name: str
    completed: int
    ok: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    # Status code (as text, "socket" for connection/timeout failures) -> count.
    errors: dict[str, int] = field(default_factory=dict)
    # True when the prepared requests ran out before the duration was over.
    ran_out: bool = False

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def rps(self) -> float:
        # Only successful responses count: a fast 409 or 500 is not throughput.
        return self.ok / self.duration_s if self.duration_s > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(rps=round(self.rps, 1), error_count=self.error_count)
        return data
