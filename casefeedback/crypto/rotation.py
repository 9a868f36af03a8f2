"""Rotating key-encryption keys: new KEK → re-wrap every data key (online, resumable) → retire the old.

Resumable by construction: each data key row says which KEK wraps it, and a
batch re-wraps rows in one transaction with a compare-and-set on the old KEK
id. Killed at any moment, every row is wrapped either by the old KEK or by the
new one — both still on disk — so nothing becomes undecryptable; running
``keys rotate`` again finishes the rows still under an old KEK.

Retiring a KEK destroys its file, and is refused while any data key uses it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, insert, select, update

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.actions import Action
from casefeedback.config import Config
from casefeedback.crypto.keyring import KekSource, Keyring, UnknownKeyError, new_kek
from casefeedback.instance import (
    ACTIVE_KEK_FILE,
    Secret,
    SecretError,
    load_secrets,
    new_kek_id,
    secrets_dir,
    write_secret_file,
)
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events, metadata, retired_keks


class KeyOperationError(Exception):
    """A key operation cannot proceed; the message says why and what to do."""


@dataclass(frozen=True)
class WrappedKeys:
    """A table holding wrapped data keys: which column, and the context each was wrapped with (its AAD)."""

    table: str
    wrapped: str
    context: Callable[[Any], tuple[str, ...]]


# Every place a data key is stored wrapped. A domain that adds one adds a line here,
# or rotation would leave its keys under the old KEK (and retirement would refuse).
WRAPPED_KEYS: tuple[WrappedKeys, ...] = (
    WrappedKeys("data_keys", "wrapped", lambda r: (r.id, r.submission_id, r.field_class)),
    WrappedKeys("draft_answers", "wrapped", lambda r: (r.data_key_id, r.draft_id, r.field_class)),  # drafts
    WrappedKeys("case_outcomes", "wrapped_key", lambda r: (r.data_key_id, r.id, "case_outcome")),  # outcomes
)


def wrapped_tables() -> list[tuple[WrappedKeys, Table]]:
    return [(w, metadata.tables[w.table]) for w in WRAPPED_KEYS if w.table in metadata.tables]


def kek_source(instance_dir: Path, environ: Mapping[str, str] | None = None) -> KekSource:
    """Where a running process re-reads its KEKs from during a rotation (files, or the environment)."""

    def load() -> tuple[Mapping[str, bytes], str]:
        loaded = load_secrets(instance_dir, os.environ if environ is None else environ)
        return {kek_id: s.value for kek_id, s in loaded.keks.items()}, loaded.active_kek

    return load


def keks_now(config: Config) -> Mapping[str, Secret]:
    """Every KEK the instance holds now, fresh from its files (or the environment), with where each came from.

    A long-running process's ``config.secrets`` has only the keys there were when it started; the worker
    rotates them meanwhile."""
    try:
        return load_secrets(config.instance_dir, os.environ).keks
    except SecretError as error:
        raise KeyOperationError(str(error)) from None


def _keyring_now(config: Config) -> Keyring:
    try:
        keks, active = kek_source(config.instance_dir)()
    except SecretError as error:
        raise KeyOperationError(str(error)) from None
    return Keyring(keks, active)


def _refuse_environment(config: Config) -> None:
    if any(s.path is None for s in config.secrets.keks.values()) or os.environ.get("CASEFEEDBACK_ACTIVE_KEK"):
        raise KeyOperationError("the key-encryption keys come from the environment (CASEFEEDBACK_KEKS): "
                                "rotate them in your secret store, then re-wrap with key files as SECURITY.md "
                                "describes. Nothing was changed.")


@dataclass(frozen=True)
class KekUse:
    kek_id: str
    data_keys: int
    active: bool
    on_disk: bool


def kek_usage(engine: Engine, keyring: Keyring) -> list[KekUse]:
    counts: dict[str, int] = {}
    with read(engine) as connection:
        for _spec, table in wrapped_tables():
            for kek_id, n in connection.execute(select(table.c.kek_id, func.count()).group_by(table.c.kek_id)):
                counts[kek_id] = counts.get(kek_id, 0) + int(n)
    ids = sorted(set(keyring.ids()) | set(counts))
    return [KekUse(k, counts.get(k, 0), k == keyring.current_active_id, k in keyring.ids()) for k in ids]


def keks_on_disk(config: Config) -> tuple[list[str], str]:
    """The KEK ids the instance holds now (fresh from its files), and the active one."""
    try:
        keks, active = kek_source(config.instance_dir)()
    except SecretError as error:
        raise KeyOperationError(str(error)) from None
    return sorted(keks), active


def activated_at(engine: Engine, kek_id: str) -> datetime | None:
    """When ``kek_id`` became active: its rotation's audit event; for the first KEK, the log's first event."""
    with read(engine) as connection:
        started = connection.execute(select(func.max(audit_events.c.at)).where(
            audit_events.c.action == Action.KEYS_ROTATE.value, audit_events.c.object_id == kek_id,
            audit_events.c.outcome == "started")).scalar()
        if started is None:
            # No rotation made it (the first key, or its event is in a log since restored over):
            # the log's start — the oldest it can be, so a rotation comes sooner, never later.
            started = connection.execute(select(func.min(audit_events.c.at))).scalar()
    return None if started is None else _aware(started)


def _aware(value: datetime | str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def retired(engine: Engine) -> dict[str, str]:
    with read(engine) as connection:
        return {r.kek_id: r.retired_at.strftime("%Y-%m-%d") for r in connection.execute(select(retired_keks))}


def start_rotation(config: Config, engine: Engine, audit: AuditLog, *,
                   actor_role: str = "cli") -> tuple[str, str, int]:
    """A new active KEK, unless a rotation is unfinished. Returns (active id, previous id or '', keys left)."""
    _refuse_environment(config)
    keyring = _keyring_now(config)
    left = _left(engine, keyring.current_active_id)
    if left:
        return keyring.current_active_id, "", left
    previous = keyring.current_active_id
    kek_id = new_kek_id()
    directory = secrets_dir(config.instance_dir)
    origin = config.secrets.keks[previous].origin if previous in config.secrets.keks else "provisioned"
    write_secret_file(directory / f"kek-{kek_id}.key", f"kek {kek_id}", new_kek(),
                      "development" if origin == "development" else "provisioned")
    _set_active(directory, kek_id)
    with write(engine) as connection:
        audit.append(connection, AuditEvent(action=Action.KEYS_ROTATE, outcome="started", actor_role=actor_role,
                                            object_type="kek", object_id=kek_id,
                                            detail={"previous": previous, "to_rewrap": _count_left(connection,
                                                                                                   kek_id)}))
    return kek_id, previous, _left(engine, kek_id)


def _set_active(directory: Path, kek_id: str) -> None:
    # Written beside, then renamed over: a reader sees the old id or the new, never half.
    temporary = directory / f".{ACTIVE_KEK_FILE}.{os.getpid()}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(kek_id + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, directory / ACTIVE_KEK_FILE)


def _left(engine: Engine, active: str) -> int:
    with read(engine) as connection:
        return _count_left(connection, active)


def _count_left(connection: Connection, active: str) -> int:
    return sum(int(connection.execute(select(func.count()).select_from(table).where(table.c.kek_id != active))
                   .scalar_one()) for _spec, table in wrapped_tables())


def rewrap_all(config: Config, engine: Engine, audit: AuditLog, *, batch_size: int = 200, pause_s: float = 0.0,
               progress: Callable[[int, int], None] | None = None, actor_role: str = "cli") -> int:
    """Re-wrap every data key not under the active KEK, a batch per transaction; return how many."""
    keyring = _keyring_now(config)
    active = keyring.current_active_id
    total, done = _left(engine, active), 0
    for spec, table in wrapped_tables():
        while True:
            rewrapped = _rewrap_batch(engine, keyring, spec, table, active, batch_size)
            done += rewrapped
            if progress is not None and rewrapped:
                progress(done, max(total, done))
            if rewrapped < batch_size:
                break
            if pause_s:
                time.sleep(pause_s)
    with write(engine) as connection:
        audit.append(connection, AuditEvent(action=Action.KEYS_REWRAP, outcome="completed", actor_role=actor_role,
                                            object_type="kek", object_id=active, detail={"rewrapped": done}))
    return done


def _rewrap_batch(engine: Engine, keyring: Keyring, spec: WrappedKeys, table: Table, active: str,
                  batch_size: int) -> int:
    wrapped_column = table.c[spec.wrapped]
    with write(engine) as connection:
        rows = connection.execute(select(table).where(table.c.kek_id != active).limit(batch_size)).all()
        for row in rows:
            try:
                kek_id, wrapped = keyring.rewrap(row.kek_id, getattr(row, spec.wrapped), spec.context(row))
            except UnknownKeyError:
                raise KeyOperationError(f"a data key in {spec.table} ({row.id}) is wrapped by key-encryption key "
                                        f"{row.kek_id}, which is not in instance/secrets: restore that key file, then "
                                        "run `casefeedback keys rotate` again. Nothing more was changed.") from None
            # Compare-and-set: a row re-wrapped (or erased) meanwhile is left as it is. By the table's primary key
            # (draft answers are kept by draft and question, and have no index of their row id alone).
            connection.execute(update(table).where(*(column == getattr(row, column.name)
                                                     for column in table.primary_key.columns),
                                                   table.c.kek_id == row.kek_id)
                               .values({"kek_id": kek_id, wrapped_column: wrapped}))
    return len(rows)


# How long after a rotation the keys it replaced stay, whatever else says they may go. Every running
# process (each web worker, the worker) goes on wrapping new data keys — a saved answer, a send — under
# the key it last read as active until its keyring next looks (``Keyring.refresh_every_s``, 10 s), and a
# transaction that wrapped one may commit a moment later. Destroyed inside that window, the key would take
# an acknowledged answer with it. After it, retirement's own count finds anything wrapped meanwhile, and a
# rotation re-wraps it first.
RETIRE_AFTER = timedelta(minutes=15)


def retirable_from(engine: Engine, active_id: str) -> datetime | None:
    """From when keys other than the active one (``active_id``, as on disk now) may be destroyed (None: at
    once, no rotation on record)."""
    since = activated_at(engine, active_id)
    return None if since is None else since + RETIRE_AFTER


# A key's state as the command line (`keys status`) and the administrator's system page both give it.
ACTIVE, RETIRABLE, RETIRABLE_LATER, OLD = "active", "can be retired", "can be retired later", "old"


def kek_state(use: KekUse, retire_from: datetime | None, now: datetime) -> str:
    """``retire_from``: ``retirable_from`` for the active key now. Within that grace an unused old key is
    "can be retired later" — `keys retire` would refuse it until then — not "can be retired"."""
    if use.active:
        return ACTIVE
    if use.data_keys == 0 and use.on_disk:
        return RETIRABLE_LATER if retire_from is not None and now < retire_from else RETIRABLE
    return OLD


def retirable_when(retire_from: datetime) -> str:
    """When a key "can be retired later" can be: the same words on the command line and the system page."""
    return f"after {retire_from.astimezone(UTC):%H:%M} UTC"


def retire(config: Config, engine: Engine, audit: AuditLog, kek_id: str, *, actor_role: str = "cli",
           reason: str = "by hand") -> None:
    """Destroy an old KEK's file, once no data key uses it and every process has moved off it."""
    _refuse_environment(config)
    keyring = _keyring_now(config)
    if kek_id == keyring.current_active_id:
        raise KeyOperationError(f"{kek_id} is the active key-encryption key: rotate first "
                                "(`casefeedback keys rotate`), then retire it")
    allowed = retirable_from(engine, keyring.current_active_id)
    if allowed is not None and audit.now() < allowed:
        raise KeyOperationError(f"{kek_id} was the active key-encryption key until {allowed - RETIRE_AFTER:%H:%M} "
                                f"UTC, and a running process may still be wrapping new answers under it: retire it "
                                f"after {allowed:%H:%M} UTC (`casefeedback keys rotate` first, if it says data keys "
                                "are still wrapped by it). Nothing was changed.")
    path = secrets_dir(config.instance_dir) / f"kek-{kek_id}.key"
    with write(engine) as connection:
        using = sum(int(connection.execute(select(func.count()).select_from(table)
                                           .where(table.c.kek_id == kek_id)).scalar_one())
                    for _spec, table in wrapped_tables())
        if using:
            raise KeyOperationError(f"{using} data key(s) are still wrapped by {kek_id}: run "
                                    "`casefeedback keys rotate` to re-wrap them, then retire it. Nothing was changed.")
        known = connection.execute(select(retired_keks.c.kek_id).where(retired_keks.c.kek_id == kek_id)).first()
        if not path.exists() and known is None:
            raise KeyOperationError(f"there is no key-encryption key {kek_id} in {path.parent}")
        if known is None:
            connection.execute(insert(retired_keks).values(kek_id=kek_id, retired_at=audit.now()))
        audit.append(connection, AuditEvent(action=Action.KEYS_RETIRE, outcome="success", actor_role=actor_role,
                                            object_type="kek", object_id=kek_id, detail={"reason": reason}))
    destroy_file(path)


def destroy_file(path: Path) -> None:
    """Overwrite, sync, unlink. (On copy-on-write or wear-levelled storage the old blocks may survive:
    keep secrets on an encrypted volume — see SECURITY.md.)"""
    if not path.exists():
        return
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.write(b"\0" * size)
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()
    with contextlib.suppress(OSError):
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
