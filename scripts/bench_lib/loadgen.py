"""Fallback load generator, for machines without wrk: one thread per connection.

It runs in the same interpreter as the benchmark driver and competes with the
servers for CPU (and with itself for the GIL), so its absolute figures are
lower than wrk's; both apps are still driven identically, so the ratio holds.

Given several ports (instances of one app sharing a database), connection i
goes to port i mod N, all taking from the one list of prepared requests.
"""

from __future__ import annotations

import http.client
import math
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from load import Request, Result

HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class _Shared:
    requests: Sequence[Request]
    cycle: bool
    deadline: float
    method: str = "POST"
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_index: int = 0
    ran_out: bool = False

    def take(self) -> Request | None:
        """The next prepared request, or None when the run is over."""
        if time.perf_counter() >= self.deadline:
            return None
        with self.lock:
            if self.next_index >= len(self.requests):
                if not self.cycle:
                    self.ran_out = True
                    return None
                self.next_index = 0
            item = self.requests[self.next_index]
            self.next_index += 1
            return item


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)


def _worker(shared: _Shared, host: str, port: int, path: str, tally: _Tally) -> None:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        while (item := shared.take()) is not None:
            # A GET carries no body, so no Content-Type either (as the wrk script sends it).
            sends_body = shared.method != "GET"
            headers = dict(HEADERS) if sends_body else {}
            if item.cookie:
                headers["Cookie"] = item.cookie
            try:
                if connection.sock is None:
                    # Connect outside the timed span, as wrk does: gunicorn's sync
                    # workers close every connection, so this happens per request.
                    connection.connect()
                started = time.perf_counter()
                connection.request(shared.method, path, body=item.body if sends_body else None, headers=headers)
                response = connection.getresponse()
                response.read()
                elapsed = time.perf_counter() - started
            except (OSError, http.client.HTTPException):
                tally.statuses["socket"] += 1
                connection.close()
                continue
            tally.latencies.append(elapsed)
            tally.statuses[str(response.status)] += 1
            if response.will_close:
                connection.close()
    finally:
        connection.close()


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile, as wrk reports it."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def run(name: str, host: str, port: int | Sequence[int], path: str, requests: Sequence[Request], *,
        connections: int, duration_s: float, cycle: bool, method: str = "POST") -> Result:
    ports = [port] if isinstance(port, int) else list(port)
    started = time.perf_counter()
    shared = _Shared(requests, cycle, deadline=started + duration_s, method=method)
    tallies = [_Tally() for _ in range(connections)]
    threads = [threading.Thread(target=_worker, args=(shared, host, ports[i % len(ports)], path, tally), daemon=True)
               for i, tally in enumerate(tallies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies = sorted(x for tally in tallies for x in tally.latencies)
    statuses: Counter[str] = Counter()
    for tally in tallies:
        statuses.update(tally.statuses)
    ok = statuses.pop("200", 0)
    return Result(name=name, completed=len(latencies), ok=ok, duration_s=elapsed,
                  p50_ms=percentile(latencies, 0.50) * 1000, p99_ms=percentile(latencies, 0.99) * 1000,
                  errors=dict(statuses), ran_out=shared.ran_out)
