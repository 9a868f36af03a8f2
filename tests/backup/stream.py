"""A person after person sending feedback through the real app, in a process of its own, until told to stop.

``python -m tests.backup.stream ACKS STOP``: builds the app from the environment
(CASEFEEDBACK_INSTANCE…) as gunicorn would, then sends feedback through the
real forms again and again. Each acknowledged send (a receipt code shown) is
appended to ACKS at once with its time; anything else is written as ``FAIL``
and the process exits non-zero. Stops when the file STOP exists.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from casefeedback import create_app
from tests.helpers import ServiceUser

ANSWERS: dict[str, str | list[str]] = {"treated": "4", "anything_else": "stream canary 7f3a", "safe_now": "yes"}


def main(acks: Path, stop: Path) -> int:
    app = create_app()
    with acks.open("a", encoding="utf-8") as out:
        out.write(f"READY {time.time()}\n")
        out.flush()
        while not stop.exists():
            try:
                code = ServiceUser(app.test_client()).give_feedback(ANSWERS)
            except Exception as error:  # any failure at all is the finding
                out.write(f"FAIL {time.time()} {type(error).__name__}: {error}\n")
                out.flush()
                return 1
            out.write(f"ACK {time.time()} {code}\n")
            out.flush()
    app.extensions["casefeedback"].engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
