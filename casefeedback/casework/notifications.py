"""In-app notices to staff (e.g. that someone used break-glass on a case of their team).

Names, times, references and reasons only — never what a person said. These
rows are also the record any other delivery (email) would send from.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import staff_notifications

MESSAGE_LENGTH = 500


@dataclass(frozen=True)
class Notice:
    id: str
    kind: str
    case_id: str | None
    message: str
    created_at: datetime
    read_at: datetime | None


def notify(connection: Connection, *, recipient_id: str, kind: str, message: str, now: datetime,
           case_id: str | None = None, subject_id: str | None = None) -> str:
    notice_id = str(uuid.uuid4())
    connection.execute(insert(staff_notifications).values(
        id=notice_id, recipient_id=recipient_id, kind=kind, case_id=case_id, subject_id=subject_id,
        message=message[:MESSAGE_LENGTH], created_at=now))
    return notice_id


def notices_for(found: Services, member_id: str, limit: int = 100) -> list[Notice]:
    """A member's notices, newest first."""
    with read(found.engine) as connection:
        rows = connection.execute(select(staff_notifications)
                                  .where(staff_notifications.c.recipient_id == member_id)
                                  .order_by(staff_notifications.c.created_at.desc()).limit(limit)).all()
    return [Notice(r.id, r.kind, r.case_id, r.message, r.created_at, r.read_at) for r in rows]


def unread_count(found: Services, member_id: str) -> int:
    """The count on every staff page."""
    with read(found.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(staff_notifications).where(
            staff_notifications.c.recipient_id == member_id, staff_notifications.c.read_at.is_(None))).scalar_one())


def mark_all_read(found: Services, member_id: str) -> int:
    with write(found.engine) as connection:
        return int(connection.execute(update(staff_notifications).where(
            staff_notifications.c.recipient_id == member_id, staff_notifications.c.read_at.is_(None))
            .values(read_at=found.clock())).rowcount)
