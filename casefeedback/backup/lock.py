"""The running lock: who is using an instance, so that nothing replaces its database under them.

Every process that serves or works on an instance (each web worker, the
worker) holds a *shared* lock on ``<instance>/casefeedback.running.lock`` for
as long as it runs. A restore or a database re-key needs the *exclusive* lock,
which the kernel grants only when no one else holds the file — so it refuses,
clearly, onto a running instance, and a process cannot start during one.
Kernel locks vanish with their process: a crash never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

RUNNING_LOCK = "casefeedback.running.lock"


class InstanceBusy(Exception):
    """Someone else is using the instance in a way that rules out what was asked."""


def _open(instance_dir: Path) -> int:
    instance_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return os.open(instance_dir / RUNNING_LOCK, os.O_RDWR | os.O_CREAT, 0o600)


def hold_running(instance_dir: Path) -> int:
    """Take the shared lock for this process's lifetime; return the descriptor that holds it."""
    fd = _open(instance_dir)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise InstanceBusy(f"a restore or database re-key is in progress on {instance_dir}: "
                           "start casefeedback again when it has finished") from None
    return fd


def release(fd: int) -> None:
    with suppress(OSError):
        os.close(fd)


@contextmanager
def exclusive(instance_dir: Path, doing: str) -> Iterator[None]:
    """Hold the instance alone while ``doing``; refuse at once if anything is running on it."""
    fd = _open(instance_dir)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InstanceBusy(f"casefeedback is running on {instance_dir} (the web app or the worker holds "
                               f"{RUNNING_LOCK}): stop it before {doing}. Nothing was changed.") from None
        yield
    finally:
        os.close(fd)
