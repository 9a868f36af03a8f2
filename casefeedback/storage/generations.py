"""The live database file across online re-keys: which file is live, under which key, and how a process follows.

Layout. ``casefeedback.db`` is the live database. Until the first online re-key
it is a plain file ("generation 0"); a re-key writes its copy to
``casefeedback.db.gen-<random>`` and then makes ``casefeedback.db`` a symbolic
link to it, by renaming a new link over the old name (one atomic step).

Why a new name for every generation, never a rename over ``casefeedback.db``:
SQLite names the write-ahead log and its shared-memory index after the file it
opened (resolving symbolic links), and the last connection to close deletes
both *by name*. Connections still open on the old file in other processes
would, on closing, delete the new file's ``-wal`` and ``-shm`` had they the same
names: committed transactions lost, a corrupt index. With one name per
generation, each can only delete its own.

How a running process follows a swap. Every connection remembers the inode of
the file it opened; checking one out of the pool compares that with
``os.stat("casefeedback.db")`` (one system call, the link followed) and a stale
one is replaced by a connection to the new file (``engine.py``). The key for it
is the one this process last opened with, else ``database.key``, else
``database.key.new``: between the link's swap and the key file's rename only
the new key file opens the new database, and after the rename the first does.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

from casefeedback.storage.dialect import StoreOpenError, open_keyed

GENERATION = ".gen-"
SIDECARS = ("-wal", "-shm")
PENDING_SUFFIX = ".new"


def new_generation(live: Path) -> Path:
    """A fresh, never reused name for the next generation of the database at ``live``."""
    return live.with_name(f"{live.name}{GENERATION}{secrets.token_hex(4)}")


def live_file(live: Path) -> Path:
    """The file ``live`` stands for now: itself, or the generation its link points to."""
    return Path(os.path.realpath(live))


def generations(live: Path) -> list[Path]:
    """Every generation file beside ``live`` (not their -wal/-shm), whether live or left over."""
    return sorted(p for p in live.parent.glob(f"{live.name}{GENERATION}*")
                  if not p.name.endswith(SIDECARS) and not p.is_symlink())


def sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in SIDECARS]


def point_to(live: Path, target: Path) -> None:
    """Make ``live`` a link to ``target`` in one rename, durably. The commit point of a re-key."""
    link = live.with_name(live.name + ".link")
    with suppress(FileNotFoundError):
        link.unlink()
    os.symlink(target.name, link)  # relative: the instance directory can move
    os.replace(link, live)
    fsync_directory(live.parent)


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def pending_key_file(key_file: Path) -> Path:
    """Where a re-key keeps the new key until the swap: beside the key, mode 0600, never elsewhere."""
    return key_file.with_name(key_file.name + PENDING_SUFFIX)


def read_key_file(path: Path) -> bytes | None:
    """The 32-byte key in a secret file (``# comment`` lines skipped), or None if absent or not whole."""
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return None
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            try:
                value = bytes.fromhex(line)
            except ValueError:
                return None
            return value if len(value) == 32 else None
    return None


class DatabaseKey:
    """The key an engine opens its database with, and where to find the next one after an online re-key.

    ``key_file`` is None when the key came from the environment: such an
    instance cannot be re-keyed online (a running process cannot be given a new
    environment), and its engines never look for another key.
    """

    def __init__(self, key: bytes, key_file: Path | None) -> None:
        self.current = key
        self.key_file = key_file

    def __repr__(self) -> str:  # never print key material, even by accident
        return f"DatabaseKey(key_file={self.key_file!s})"

    def candidates(self) -> Iterator[bytes]:
        yield self.current
        if self.key_file is None:
            return
        for path in (self.key_file, pending_key_file(self.key_file)):
            key = read_key_file(path)
            if key is not None and key != self.current:
                yield key


def connect(live: Path, key: DatabaseKey, *, create: bool, options: dict[str, Any]) -> tuple[Any, int]:
    """A DB-API connection to the file ``live`` stands for now, and that file's inode.

    Opened by its resolved name with ``mode=rw``: a generation file removed
    between looking it up and opening it is an error here, never a new empty
    database that something then writes into.
    """
    problem: StoreOpenError | None = None
    for attempt in range(5):
        target = live_file(live)
        try:
            inode = os.stat(target).st_ino
        except FileNotFoundError:
            if not create:
                raise StoreOpenError(f"there is no database at {live}: run `casefeedback init` first.") from None
            inode = 0
        for candidate in key.candidates():
            try:
                connection = open_keyed(f"file:{quote(str(target))}?mode={'rwc' if create else 'rw'}", candidate,
                                        str(live), uri=True, **options)
            except StoreOpenError as error:
                problem = error
                continue
            key.current = candidate
            return connection, inode or os.stat(target).st_ino
        # A re-key may have swapped the link between our look and our open: look again.
        time.sleep(0.02 * (attempt + 1))
    raise problem or StoreOpenError(f"{live} cannot be opened with the database key")


def inode_of(live: Path) -> int:
    try:
        return os.stat(live).st_ino
    except FileNotFoundError:
        return -1
