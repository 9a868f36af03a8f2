"""``python -m tests.backup.rekey_killed POINT``: run `keys rekey-db` and SIGKILL itself at POINT.

SIGKILL from inside is still SIGKILL: no ``finally``, no ``atexit``, no flush
— exactly what ``kill -9`` from outside does, but at a chosen step, which a
timer from outside could not hit reliably.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from casefeedback.backup import rekey
from casefeedback.cli import main
from casefeedback.storage import generations, live_copy


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _before(function: Callable[..., Any]) -> Callable[..., Any]:
    def killed(*_args: Any, **_kwargs: Any) -> Any:
        _die()

    return killed


def _after(function: Callable[..., Any]) -> Callable[..., Any]:
    def killed(*args: Any, **kwargs: Any) -> Any:
        function(*args, **kwargs)
        _die()

    return killed


def _midway_through_tables(function: Callable[..., Any]) -> Callable[..., Any]:
    def bulk(self: Any, progress: Callable[[str, int, int, int], None]) -> Any:
        def dying(table: str, rows: int, number: int, of: int) -> None:
            progress(table, rows, number, of)
            if number == of // 2:
                _die()

        return function(self, dying)

    return bulk


POINTS: dict[str, tuple[Any, str, Callable[[Callable[..., Any]], Callable[..., Any]]]] = {
    "before-copy": (live_copy.LiveCopy, "bulk", _before),
    "during-copy": (live_copy.LiveCopy, "bulk", _midway_through_tables),
    # Inside a catch-up pass, its transaction on the copy open.
    "during-catch-up": (live_copy.LiveCopy, "_compare_counts", _after),
    # In the pause: the last pass done, the writer lock and SQLite's held, nothing swapped yet.
    "during-the-pause": (live_copy.LiveCopy, "detach", _before),
    "right-after-swap": (generations, "point_to", _after),
    "after-new-key-installed": (rekey, "install_new_key", _after),
}


if __name__ == "__main__":
    owner, name, wrap = POINTS[sys.argv[1]]
    original = getattr(owner, name)
    patched = wrap(original)
    setattr(owner, name, staticmethod(patched) if name == "_compare_counts" else patched)
    main(["keys", "rekey-db", "--yes"])
