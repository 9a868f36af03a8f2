"""Progress for long commands: a bar with counts and time left at a terminal, plain lines otherwise.

One helper for every command (purge, backup, restore, audit verify, keys rotate),
written where the command writes (stdout), so a pipe or a log gets the counts in order
with the rest of what the command says. At a terminal the bar is redrawn in place (at most ten times a second); into a
file or a pipe (cron, a CI log, ``| tee``) it writes a plain line only when a
further tenth is done, so a log gets about ten lines, not one per batch.
Counts only: a caller passes how many of how many, never what.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 24
REDRAW_EVERY_S = 0.1


class Progress:
    """Call with ``(done, total)`` as work goes on; ``finish()`` when it ends (also on the way out of ``with``)."""

    def __init__(self, what: str, stream: TextIO | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what = what
        self.stream = stream if stream is not None else sys.stdout
        self.clock = clock
        self.tty = _is_tty(self.stream)
        self._started = clock()
        self._drawn_at: float | None = None
        self._last_tenth = -1
        self._open_line = False

    def __call__(self, done: int, total: int) -> None:
        if self.tty:
            now = self.clock()
            if self._drawn_at is None or now - self._drawn_at >= REDRAW_EVERY_S or done >= total:
                self._drawn_at = now
                self.stream.write("\r" + self.line(done, total) + "\033[K")
                self._open_line = True
                self.stream.flush()
            return
        tenth = 10 if total <= 0 else min(10, done * 10 // total)
        if tenth > self._last_tenth:
            self._last_tenth = tenth
            self.stream.write(self.line(done, total) + "\n")
            self.stream.flush()

    def line(self, done: int, total: int) -> str:
        counts = f"{done} of {total}"
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        left = self.time_left(done, total)
        if not self.tty:
            return f"{self.what} {counts} ({percent}%)" + (f", about {left} left" if left else "")
        filled = BAR_WIDTH * percent // 100
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return f"{self.what} [{bar}] {counts} ({percent}%)" + (f" about {left} left" if left else "")

    def time_left(self, done: int, total: int) -> str | None:
        """From the rate so far; None until something is done, and once all is."""
        elapsed = self.clock() - self._started
        if done <= 0 or done >= total or elapsed <= 0:
            return None
        return _duration(elapsed / done * (total - done))

    def finish(self) -> None:
        if self.tty and self._open_line:
            self.stream.write("\n")
            self.stream.flush()
            self._open_line = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.finish()


def after(first: Progress, then: Progress) -> Callable[[int, int], None]:
    """``then``, for a stage that follows ``first`` within one call (a restore's verify, then its
    erasures): ``first``'s line is ended before ``then`` draws, so at a terminal each stage keeps its own."""

    def report(done: int, total: int) -> None:
        first.finish()
        then(done, total)

    return report


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream: plain lines
        return False


def _duration(seconds: float) -> str:
    seconds = max(1, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
