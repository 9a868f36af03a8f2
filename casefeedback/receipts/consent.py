"""Consent after sending: the person changes what they agreed to, or withdraws it — at once, and audited.

Withdrawing erases the feedback and everything added to it, through the one
erasure path (``retention.erasure``: the data keys are destroyed, so every
sealed answer is unreadable at once), and is never suspended by a legal hold:
the person's right to take back what they gave comes first (UK GDPR Art. 7(3)).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.receipts.service import CONTACT_CHOICE, HOLDER, Withdrawn, additions_of, consent_of, status_of
from casefeedback.retention import erasure
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.tables import consent_changes, consent_receipts, submissions


def change_contact(found: Services, root_id: str, contact_me: bool) -> bool:
    """Set the ``contact_me`` choice on the root's consent receipt and its additions'. True if it changed."""
    now = found.clock()
    with write(found.engine) as connection:
        if status_of(connection, root_id) != "active":
            raise Withdrawn()
        current = consent_of(connection, root_id).choices
        if bool(current.get(CONTACT_CHOICE)) == contact_me:
            return False
        for submission_id in [root_id, *additions_of(connection, root_id)]:
            choices = dict(consent_of(connection, submission_id).choices)
            choices[CONTACT_CHOICE] = contact_me
            connection.execute(update(consent_receipts)
                               .where(consent_receipts.c.submission_id == submission_id)
                               .values(choices=json.dumps(choices, sort_keys=True)))
        connection.execute(insert(consent_changes).values(
            id=str(uuid.uuid4()), submission_id=root_id, choice=CONTACT_CHOICE, value=contact_me, changed_at=now))
        found.audit.append(connection, AuditEvent(
            action=Action.CONSENT_CHANGE, outcome="changed", actor_id=HOLDER.id, actor_role=HOLDER.role,
            object_type="submission", object_id=root_id, detail={"choice": CONTACT_CHOICE, "value": contact_me}))
    return True


@dataclass(frozen=True)
class Withdrawal:
    already: bool
    service_id: str
    withdrawn_at: datetime | None
    fields: int = 0
    additions: int = 0


def withdraw(found: Services, root_id: str) -> Withdrawal:
    """Withdraw consent: erase the root and every addition at once (keys destroyed). Idempotent."""
    now = found.clock()
    with write(found.engine) as connection:
        status = status_of(connection, root_id)
        if status is None:
            raise Withdrawn()  # no such submission: nothing to erase, and nothing to say about it
        if status != "active":
            return Withdrawal(True, *_withdrawn(connection, root_id))
        addition_ids = additions_of(connection, root_id)
        fields = 0
        for submission_id in [root_id, *addition_ids]:
            erased = erasure.withdraw(connection, found.audit, submission_id=submission_id, now=now,
                                      actor_id=HOLDER.id, actor_role=HOLDER.role)
            fields += erased.fields if erased else 0
        found.audit.append(connection, AuditEvent(
            action=Action.CONSENT_WITHDRAW, outcome="erased", actor_id=HOLDER.id, actor_role=HOLDER.role,
            object_type="submission", object_id=root_id,
            detail={"additions": len(addition_ids), "fields": fields}))
        service_id, withdrawn_at = _withdrawn(connection, root_id)
    return Withdrawal(False, service_id, withdrawn_at, fields=fields, additions=len(addition_ids))


def _withdrawn(connection: Connection, root_id: str) -> tuple[str, datetime | None]:
    """(service id, when consent was withdrawn) as stored: what the page says happened."""
    row = connection.execute(
        select(submissions.c.service_id, consent_receipts.c.withdrawn_at)
        .join(consent_receipts, consent_receipts.c.submission_id == submissions.c.id, isouter=True)
        .where(submissions.c.id == root_id)).one()
    return row.service_id, row.withdrawn_at
