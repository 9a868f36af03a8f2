"""The erasure horizon: how long an erased answer can survive in a copy this system keeps, and whether it holds.

An answer is erased by destroying its data key. Two kinds of copy still hold
that key, wrapped by a key-encryption key (KEK): the backups made before the
erasure, and anything copied from them (a snapshot of the backup disk). The
backups expire after ``[backups] keep``; the KEK is replaced every
``[keys] rotate_every`` and destroyed as soon as no kept backup needs it. So an
answer erased at time E is unreadable in every copy by E + keep + rotate_every:
by then every backup that held it has been pruned, and the KEK that wrapped it
— the only key that could open it — has been destroyed.

``compute`` checks the conditions that make that true *now* and names, in words
for a person who is not a cryptographer, anything holding it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from casefeedback.audit.actions import Action
from casefeedback.audit.checkpoints import instance_id
from casefeedback.backup.locations import Catalogue, catalogue
from casefeedback.crypto.rotation import RETIRE_AFTER, activated_at, kek_usage, keks_on_disk
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events
from casefeedback.worker import alarms


@dataclass(frozen=True)
class KeptKek:
    kek_id: str
    state: str  # active, in use (rotation unfinished), needed (by a kept backup), waiting (to be destroyed)
    until: datetime | None  # needed: when the last backup needing it expires


@dataclass(frozen=True)
class HorizonReport:
    keep: timedelta
    rotate_every: timedelta
    backup_every: timedelta
    met: bool
    held_back: tuple[str, ...]
    last_met: datetime | None
    last_backup: datetime | None
    backups: int
    active_since: datetime | None
    next_rotation: datetime | None
    keks: tuple[KeptKek, ...]

    @property
    def backup_cadence(self) -> str:
        hours = int(self.backup_every.total_seconds()) // 3600
        if hours % 24:
            return "every hour" if hours == 1 else f"every {hours} hours"
        return "every day" if hours == 24 else f"every {hours // 24} days"

    @property
    def days(self) -> int:
        return (self.keep + self.rotate_every).days

    def summary(self) -> str:
        return (f"An erased answer is unreadable in every copy this system keeps within {self.days} days: backups "
                f"are kept {self.keep.days} days, and the key that locks the answers' keys is changed every "
                f"{self.rotate_every.days} days and destroyed once no kept backup needs it.")


def admin_alarm(found: Services) -> alarms.Alarm:
    # Beside the database, not in it: a restore must not forget that the schedule failed.
    return alarms.Alarm("administrator", found.config.instance_dir / "backup-alarm.json", "backup.failed",
                        "casefeedback: a scheduled backup or key change failed")


def grace(found: Services) -> timedelta:
    """How late the hourly job may be: one backup interval and a run."""
    return found.policies.organisation.backups.every + timedelta(hours=1)


def compute(found: Services, shelf: Catalogue | None = None) -> HorizonReport:
    rules = found.policies.organisation
    keep, rotate_every = rules.backups.keep, rules.keys.rotate_every
    now, late = found.clock(), grace(found)
    with read(found.engine) as connection:
        instance = instance_id(connection)
        met_at = connection.execute(select(func.max(audit_events.c.at)).where(
            audit_events.c.action == Action.BACKUP_HORIZON_MET.value)).scalar()
    shelf = shelf or catalogue(found.config, instance)
    held: list[str] = []
    for backup in shelf.backups:
        if now - backup.created_at > keep + late:
            held.append(f"The backup made {backup.created_at:%d %B %Y} in {backup.location} is older than "
                        f"{keep.days} days and has not been removed: remove it, or find in the worker's log why it "
                        "cannot.")
    held += [f"{problem[0].upper()}{problem[1:]}: old keys are kept until it can be read." for problem in
             shelf.unreadable]
    ids, active = keks_on_disk(found.config)
    since = activated_at(found.engine, active)
    if since is not None and now - since > rotate_every + late:
        held.append(f"The key that locks the answers' keys has not been changed for {(now - since).days} days; the "
                    f"policy says every {rotate_every.days} days.")
    live = {u.kek_id: u.data_keys for u in kek_usage(found.engine, found.keyring)}
    needed: dict[str, datetime] = {}
    for backup in shelf.backups:
        for kek_id in backup.kek_ids:
            needed[kek_id] = max(needed.get(kek_id, backup.created_at), backup.created_at)
    keks = []
    for kek_id in ids:
        if kek_id == active:
            keks.append(KeptKek(kek_id, "active", None))
        elif live.get(kek_id):
            keks.append(KeptKek(kek_id, "in use", None))
            if since is None or now - since > late:
                held.append(f"A change of key is unfinished: {live[kek_id]} answer key(s) are still locked by the "
                            f"old key {kek_id}.")
        elif kek_id in needed:
            keks.append(KeptKek(kek_id, "needed", needed[kek_id] + keep))
        else:
            keks.append(KeptKek(kek_id, "waiting", None))
            # Right after a rotation its old key must stay a while (RETIRE_AFTER: a running process may still
            # wrap under it), and the worker destroys it at its next round after that: not a problem until
            # that round is late, as with an unfinished rotation above.
            allowed = since + RETIRE_AFTER if since is not None else None
            if allowed is None or now > allowed + late:
                held.append(f"The old key {kek_id} is no longer needed by any backup but has not been destroyed "
                            "yet.")
    failed = alarms.raised(admin_alarm(found))
    if failed is not None:
        held.append(f"The last scheduled run failed: {failed.problem}")
    primary = [b.created_at for b in shelf.backups if b.location == found.config.backup_path]
    return HorizonReport(keep, rotate_every, rules.backups.every, not held, tuple(held),
                         _aware(met_at) if met_at is not None else None, max(primary) if primary else None,
                         len(shelf.backups), since, since + rotate_every if since is not None else None, tuple(keks))


def _aware(value: datetime | str) -> datetime:
    from datetime import UTC

    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
