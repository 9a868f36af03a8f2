"""In-app notices to staff (e.g. that someone used break-glass on a case of their team).

Names, times, references and reasons only — never what a person said. Issue 5
adds delivery by email; these rows are the record it delivers from.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

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


def notices_for(connection: Connection, member_id: str, limit: int = 100) -> list[Notice]:
    rows = connection.execute(select(staff_notifications).where(staff_notifications.c.recipient_id == member_id)
                              .order_by(staff_notifications.c.created_at.desc()).limit(limit)).all()
    return [Notice(r.id, r.kind, r.case_id, r.message, r.created_at, r.read_at) for r in rows]


def unread_count(connection: Connection, member_id: str) -> int:
    return int(connection.execute(select(func.count()).select_from(staff_notifications).where(
        staff_notifications.c.recipient_id == member_id, staff_notifications.c.read_at.is_(None))).scalar_one())


def mark_all_read(connection: Connection, member_id: str, now: datetime) -> int:
    return int(connection.execute(update(staff_notifications).where(
        staff_notifications.c.recipient_id == member_id, staff_notifications.c.read_at.is_(None))
        .values(read_at=now)).rowcount)
