"""The database key's files around an online re-key: putting the new key in place, disposing of the old.

``database.key.new`` holds the new key from before the copy until the swap;
installing it hard-links the old key to ``database.key.retiring`` and renames
the new one over ``database.key`` (one atomic step: ``database.key`` always
holds a whole key). The old key is then either destroyed — overwritten and
removed — or, when a kept backup was made under it (a backup is encrypted under
the database key of its day, ``archive.py``), kept as
``database.key.previous-<time>``, which opens those backups and nothing live.
Overwriting is best effort: on a copy-on-write or journalling filesystem, or an
SSD, the old blocks may survive (SECURITY.md, "Key rotation").
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from casefeedback.backup.archive import MANIFEST_FILE, database_key_check
from casefeedback.clock import Clock
from casefeedback.config import Config
from casefeedback.crypto.rotation import destroy_file  # the one way a key file is destroyed
from casefeedback.storage import generations
from casefeedback.storage.dialect import StoreOpenError

RETIRING_SUFFIX = ".retiring"
PREVIOUS = "database.key.previous-"


def retiring_key_file(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + RETIRING_SUFFIX)


def pending_opens(database: Path, key_file: Path) -> bool:
    """Whether the new key (``database.key.new``) opens what ``database`` points to: the swap was made."""
    key = generations.read_key_file(generations.pending_key_file(key_file))
    if key is None:
        return False
    try:
        connection, _inode = generations.connect(database, generations.DatabaseKey(key, None), create=False,
                                                 options={"check_same_thread": False})
    except StoreOpenError:
        return False
    connection.close()
    return True


def install_new_key(key_file: Path) -> None:
    """After the swap: ``database.key.new`` becomes ``database.key``; the old one waits as ``.retiring``."""
    pending = generations.pending_key_file(key_file)
    if not pending.exists():
        return
    with contextlib.suppress(FileExistsError):  # already linked by a run that was interrupted here
        os.link(key_file, retiring_key_file(key_file))
    os.replace(pending, key_file)
    generations.fsync_directory(key_file.parent)


def dispose_of_old_key(config: Config, key_file: Path, old_key: bytes | None, clock: Clock) -> str:
    """Destroy the retiring key, or keep it for the backups made under it; say which ("none": nothing to do)."""
    retiring = retiring_key_file(key_file)
    if not retiring.exists():
        return "none"
    if os.path.samefile(retiring, key_file):
        # Linked but not yet replaced: the same file as the live key. Only the extra name goes.
        retiring.unlink()
        return "none"
    key = generations.read_key_file(retiring) or old_key
    if key is not None and backups_made_under(config, key):
        kept = key_file.with_name(PREVIOUS + clock().strftime("%Y%m%dT%H%M%SZ"))
        os.replace(retiring, kept)
        generations.fsync_directory(key_file.parent)
        return f"kept in {kept.name} for {len(backups_made_under(config, key))} older backup(s)"
    destroy_file(retiring)
    return "destroyed"


def backups_made_under(config: Config, key: bytes) -> list[Path]:
    """The kept backups (here and in the mirror) whose manifest says they are encrypted under ``key``."""
    check = database_key_check(key)
    places = [getattr(config, "backup_path", config.instance_dir / "backups"), getattr(config, "backup_mirror", None)]
    found = []
    for place in places:
        if place is None or not Path(place).is_dir():
            continue
        for manifest in sorted(Path(place).glob(f"*/{MANIFEST_FILE}")):
            with contextlib.suppress(OSError, ValueError):
                if json.loads(manifest.read_text(encoding="utf-8")).get("database_key_check") == check:
                    found.append(manifest.parent)
    return found
