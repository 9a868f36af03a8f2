"""Escalation: when an acknowledgement deadline passes, the next step of the chain is told."""

from __future__ import annotations

from sqlalchemy import select

from casefeedback.alerts.raising import tell_next
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import alerts


def escalate_due(found: Services) -> int:
    """Escalate every unacknowledged alert whose deadline has passed; return how many moved on.

    Each alert in its own transaction, re-checked inside it: an acknowledgement
    that commits first wins, so an alert acknowledged while its email was still
    being retried never escalates.
    """
    now = found.clock()
    with read(found.engine) as connection:
        due = connection.execute(select(alerts.c.id).where(
            alerts.c.acknowledged_at.is_(None), alerts.c.deadline_at.is_not(None),
            alerts.c.deadline_at <= now).order_by(alerts.c.deadline_at)).scalars().all()
    moved = 0
    for alert_id in due:
        with write(found.engine) as connection:
            still = connection.execute(select(alerts.c.id).where(
                alerts.c.id == alert_id, alerts.c.acknowledged_at.is_(None),
                alerts.c.deadline_at <= now)).first()
            if still is not None:
                tell_next(found, connection, alert_id, now)
                moved += 1
    return moved
