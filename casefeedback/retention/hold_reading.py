"""Reading legal holds: the list (due for review first), the count of holds due, and one hold in full.

The list shows only what is not sealed: case references, dates, who. One
hold's page opens its words — why it was set, each review's note, why it was
released — after one access decision (``policy.decisions.decide_hold``) and
with one audit event (``legal_hold.open``), or a denial event and nothing opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import aliased

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.crypto.envelope import IntegrityFailure, SealedField, open_field
from casefeedback.crypto.keyring import UnknownKeyError
from casefeedback.policy.decisions import HOLD_CLASS, AccessGrant, Actor, decide_hold
from casefeedback.retention.hold_keeping import HoldKeeping, keeping
from casefeedback.retention.holds import REVIEWS, TABLE, HoldError, hold_key
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import cases, legal_hold_reviews, legal_holds, staff

# Set from the command line before 0018, when reasons were kept in plain text (and in the audit event).
UNSEALED = "Not recorded here: this hold was set before reasons were kept on this screen. Its reason is in the " \
           "audit log (legal_hold.set on this case)."
COMMAND_LINE_NAME = "the command line"
UNREADABLE = "This cannot be opened: its key is missing or it has been altered. Tell the administrator."


@dataclass(frozen=True)
class HoldRow:
    id: str
    case_id: str
    case_reference: str
    set_by: str
    set_at: datetime
    review_by: datetime
    released_at: datetime | None
    released_by: str | None
    due: bool
    kept: HoldKeeping | None = None  # active holds only


@dataclass(frozen=True)
class ReviewRow:
    reviewed_at: datetime
    reviewed_by: str
    review_by_before: datetime
    review_by: datetime
    note: str


@dataclass(frozen=True)
class HoldPage:
    hold: HoldRow
    reason: str
    release_reason: str | None
    reviews: list[ReviewRow]
    unreadable: bool = False  # a sealed part would not open (its key-encryption key is gone, or it was altered)


def _rows(connection: Connection, now: datetime, *where: Any) -> list[HoldRow]:
    setter, releaser = aliased(staff), aliased(staff)
    rows = connection.execute(
        select(legal_holds.c.id, legal_holds.c.case_id, cases.c.reference, legal_holds.c.set_at,
               legal_holds.c.review_by, legal_holds.c.released_at, setter.c.display_name.label("set_by"),
               legal_holds.c.released_by, releaser.c.display_name.label("released_by_name"))
        .join(cases, cases.c.id == legal_holds.c.case_id)
        .outerjoin(setter, setter.c.id == legal_holds.c.set_by)
        .outerjoin(releaser, releaser.c.id == legal_holds.c.released_by)
        .where(*where)).all()
    return [HoldRow(r.id, r.case_id, r.reference, r.set_by or COMMAND_LINE_NAME, r.set_at, r.review_by,
                    r.released_at, (r.released_by_name or COMMAND_LINE_NAME) if r.released_at else None,
                    r.released_at is None and r.review_by <= now) for r in rows]


def listing(found: Services) -> tuple[list[HoldRow], list[HoldRow]]:
    """(active holds, due for review first then by review date; released holds, newest first)."""
    now = found.clock()
    with read(found.engine) as connection:
        active = _rows(connection, now, legal_holds.c.released_at.is_(None))
        kept = {k.hold_id: k for k in keeping(found, connection, now)}
        released = _rows(connection, now, legal_holds.c.released_at.is_not(None))
    active = sorted((HoldRow(**{**h.__dict__, "kept": kept.get(h.id)}) for h in active),
                    key=lambda h: (not h.due, h.review_by, h.case_reference))
    return active, sorted(released, key=lambda h: h.released_at or h.set_at, reverse=True)


def due_count(found: Services) -> int:
    """How many active holds are at or past their review date (the records officer's banner)."""
    with read(found.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(legal_holds).where(
            legal_holds.c.released_at.is_(None), legal_holds.c.review_by <= found.clock())).scalar() or 0)


def hold_page(found: Services, actor: Actor, hold_id: str) -> HoldPage:
    """One hold with its words opened, for an actor the decision allows; HoldError 404/403 otherwise."""
    now = found.clock()
    with write(found.engine) as connection:  # the audit event is written with the read
        rows = _rows(connection, now, legal_holds.c.id == hold_id)
        if not rows:
            raise HoldError("There is no such hold.", 404)
        hold = rows[0]
        if hold.released_at is None:
            hold = HoldRow(**{**hold.__dict__, "kept": next(
                (k for k in keeping(found, connection, now) if k.hold_id == hold_id), None)})
        event: dict[str, Any] = {"actor_id": actor.id, "actor_role": actor.role, "object_type": "legal_hold",
                                 "object_id": hold_id, "field_class": HOLD_CLASS, "purpose": "records",
                                 "detail": {"case": hold.case_id}}
        decision = decide_hold(actor, hold_id)
        page: HoldPage | None = None
        outcome = "denied"
        if isinstance(decision, AccessGrant):
            page = _open_all(found, connection, decision, hold)
            outcome = "integrity_failure" if page.unreadable else "allowed"
        # Committed with the read, and before any refusal is raised: a denial is audited too.
        found.audit.append(connection, AuditEvent(action=Action.LEGAL_HOLD_OPEN, outcome=outcome, **event))
    if page is None:
        raise HoldError("You may not read legal holds.", 403)
    return page


def _open_all(found: Services, connection: Connection, grant: AccessGrant, hold: HoldRow) -> HoldPage:
    key = hold_key(connection, hold.id)
    sealed = connection.execute(select(legal_holds.c.reason, legal_holds.c.release_reason)
                                .where(legal_holds.c.id == hold.id)).one()

    unreadable: list[str] = []

    def opened(table: str, row_id: str, field: str, ciphertext: bytes | None) -> str | None:
        if ciphertext is None or key is None:
            return None
        try:
            return open_field(grant, found.keyring, key,
                              SealedField(table, row_id, field, HOLD_CLASS, key.id, ciphertext))
        except (IntegrityFailure, UnknownKeyError):
            # Shown as such, and audited as an integrity failure: never a 500, never a guess.
            unreadable.append(field)
            return UNREADABLE

    reviewer = aliased(staff)
    reviews = connection.execute(
        select(legal_hold_reviews, reviewer.c.display_name).outerjoin(
            reviewer, reviewer.c.id == legal_hold_reviews.c.reviewed_by)
        .where(legal_hold_reviews.c.hold_id == hold.id).order_by(legal_hold_reviews.c.reviewed_at.desc())).all()
    return HoldPage(
        hold, opened(TABLE, hold.id, "reason", sealed.reason) or UNSEALED,
        opened(TABLE, hold.id, "release_reason", sealed.release_reason) or (UNSEALED if hold.released_at else None),
        [ReviewRow(r.reviewed_at, r.display_name or COMMAND_LINE_NAME, r.review_by_before, r.review_by,
                   opened(REVIEWS, r.id, "note", r.note) or "") for r in reviews], bool(unreadable))


__all__ = ["HoldPage", "HoldRow", "ReviewRow", "due_count", "hold_page", "listing"]
