"""Where backups are kept, what each holds, and removing those past their keep.

The declared locations (``Config.backup_path`` and the optional mirror) are
the catalogue: every backup directory in them has a signed manifest naming when
it was made and the key-encryption keys its data keys need. Reading them, not a
table, is deliberate: a table would be rolled back with the database by a
restore, while the directories are what actually exists.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from casefeedback.backup.archive import DATABASE_FILE, INCOMPLETE, BackupError, backup_time, read_manifest
from casefeedback.config import Config

PRUNING = ".pruning-"
# Room kept free beyond the backup itself, so a backup never fills the disk to the last byte.
_HEADROOM = 16 * 1024 * 1024


class LocationError(Exception):
    """A backup location cannot be used; the message says which and why, in plain words."""


@dataclass(frozen=True)
class KeptBackup:
    location: Path
    directory: Path
    created_at: datetime
    kek_ids: tuple[str, ...]
    instance_id: str


@dataclass(frozen=True)
class Catalogue:
    backups: list[KeptBackup]
    unreadable: list[str]  # plain sentences: a location that cannot be read, a backup without a sound manifest


def locations(config: Config) -> list[Path]:
    return [config.backup_path] + ([config.backup_mirror] if config.backup_mirror is not None else [])


def catalogue(config: Config, instance_id: str) -> Catalogue:
    """Every backup of this instance in every declared location, oldest first."""
    found: list[KeptBackup] = []
    unreadable: list[str] = []
    for location in locations(config):
        if not location.exists():
            if location != config.instance_dir / "backups":
                unreadable.append(f"the backup location {location} is missing")
            continue
        try:
            entries = sorted(location.iterdir())
        except OSError as error:
            unreadable.append(f"the backup location {location} cannot be read ({error.strerror})")
            continue
        for directory in entries:
            if not directory.name.startswith("casefeedback-") or not directory.is_dir():
                continue
            try:
                manifest = read_manifest(directory)
            except BackupError as error:
                unreadable.append(str(error))
                continue
            if manifest.instance_id == instance_id:
                found.append(KeptBackup(location, directory, backup_time(manifest), manifest.kek_ids,
                                        manifest.instance_id))
    return Catalogue(sorted(found, key=lambda b: b.created_at), unreadable)


def check_writable(location: Path, needed: int, *, create: bool) -> None:
    """Refuse, in words, a location that is missing, not a directory, not writable or too full."""
    if not location.exists():
        if not create:
            raise LocationError(f"the backup location {location} does not exist (is the disk mounted?)")
        try:
            location.mkdir(mode=0o700, parents=True)
        except OSError as error:
            raise LocationError(f"the backup location {location} cannot be created: {error.strerror}") from None
    if not location.is_dir():
        raise LocationError(f"the backup location {location} is not a directory")
    if not os.access(location, os.W_OK | os.X_OK):
        raise LocationError(f"the backup location {location} is not writable by this user")
    free = shutil.disk_usage(location).free
    if free < needed + _HEADROOM:
        raise LocationError(f"the backup location {location} is full: {free // (1 << 20)} MB free, a backup "
                            f"needs about {(needed + _HEADROOM) // (1 << 20)} MB")


def remove_leftovers(location: Path) -> int:
    """Half-made copies (a crash or a full disk midway) and half-removed ones: never a backup."""
    removed = 0
    if not location.is_dir():
        return 0
    for directory in location.iterdir():
        if directory.name.startswith((INCOMPLETE, PRUNING)) and directory.is_dir():
            _destroy(directory)
            removed += 1
    return removed


def copy_to(directory: Path, location: Path) -> Path:
    """Copy a whole backup into ``location`` under an incomplete name, then rename it: all or nothing."""
    final = location / directory.name
    staging = location / (INCOMPLETE + directory.name)
    try:
        shutil.copytree(directory, staging)
        for each in staging.iterdir():
            _sync(each)
        os.rename(staging, final)
        _sync(location)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def prune(backup: KeptBackup) -> None:
    """Remove one backup: renamed first (so a half-removed one never reads as a backup), overwritten, deleted."""
    doomed = backup.directory.with_name(PRUNING + backup.directory.name)
    os.rename(backup.directory, doomed)
    _destroy(doomed)


def _destroy(directory: Path) -> None:
    # Overwrite the encrypted copy before unlinking: its pages hold wrapped data keys
    # (on copy-on-write storage the old blocks may survive: SECURITY.md).
    copy = directory / DATABASE_FILE
    with contextlib.suppress(OSError):
        size = copy.stat().st_size
        with copy.open("r+b") as handle:
            while size > 0:
                chunk = min(size, 1 << 20)
                handle.write(b"\0" * chunk)
                size -= chunk
            handle.flush()
            os.fsync(handle.fileno())
    shutil.rmtree(directory)


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
