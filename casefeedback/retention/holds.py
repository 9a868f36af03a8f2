"""Legal hold: while a case is on hold, retention erases nothing of it.

A records officer (``policy.roles.RECORDS_ROLES``), or an operator at the
command line, sets a hold with a reason and a review date, reviews it (a new
date and a note) and releases it with a reason. Holds are never deleted: a
released hold stays, with who released it, when and why. Every change is
audited; what a hold says in words is not in the audit log, because legal staff
write it and it may name a person (a party, a claimant): it is sealed under the
hold's own data key and read only through ``policy.decisions.decide_hold``
(``hold_reading.py``).

A hold past its review date still holds — it is shown as due for review, never
lifted by the clock: erasing what a court ordered kept is not undone.

Withdrawal of consent is NOT suspended by a hold: the person's right to withdraw
is theirs, and a lawful need to keep their words despite it is a decision for a
person, not for this code.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Connection, or_, select, update

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.actions import Action
from casefeedback.crypto.envelope import SubmissionSealer, WrappedDataKey, seal_under
from casefeedback.crypto.keyring import Keyring
from casefeedback.policy.decisions import HOLD_CLASS
from casefeedback.policy.model import Duration
from casefeedback.retention.hold_keeping import HoldKeeping, kept_by_holds
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import cases, legal_hold_reviews, legal_holds

__all__ = ["COMMAND_LINE", "Changer", "Hold", "HoldError", "HoldKeeping", "kept_by_holds", "place", "release",
           "review"]

MAX_REASON = 2000
TABLE, REVIEWS = "legal_holds", "legal_hold_reviews"


class HoldError(Exception):
    """A hold cannot be set, reviewed or released; the message says why, ``status`` the HTTP status."""

    def __init__(self, message: str, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field  # the form field it is about, if one


@dataclass(frozen=True)
class Changer:
    """Who changes a hold: a member of staff, or the command line (no id)."""

    id: str | None
    role: str


COMMAND_LINE = Changer(None, "cli")


@dataclass(frozen=True)
class Hold:
    id: str
    case_id: str
    set_by: str | None
    set_at: datetime
    review_by: datetime
    released_at: datetime | None

    def due(self, now: datetime) -> bool:
        return self.released_at is None and self.review_by <= now


def clean_reason(text: str | None, what: str = "a reason", field: str = "reason") -> str:
    text = (text or "").strip()
    if not " ".join(text.split()):
        raise HoldError(f"Give {what}: a legal hold must say why.", field=field)
    if len(text) > MAX_REASON:
        raise HoldError(f"That is {len(text)} characters long; keep it to {MAX_REASON}.", field=field)
    return text


def review_moment(day: date | None, now: datetime, review_within: Duration) -> datetime:
    """The review date as stored (the start of that day, UTC): after today, and no later than the policy allows."""
    if day is None:
        raise HoldError("Give a review date: the day by which someone looks at this hold again.",
                        field="review_by")
    latest = review_within.after(now).date()
    if day <= now.date():
        raise HoldError(f"The review date must be after today ({now.day} {now:%B %Y}).", field="review_by")
    if day > latest:
        raise HoldError(f"The review date can be no later than {latest.day} {latest:%B %Y}: the organisation "
                        f"policy asks for a review at least every {review_within.text} ([legal_hold] "
                        "review_within).", field="review_by")
    return datetime.combine(day, time(), tzinfo=UTC)


def default_review(now: datetime, review_within: Duration) -> date:
    """The review date given when none is: as far off as the policy allows."""
    return review_within.after(now).date()


def find_case(connection: Connection, key: str) -> Any:
    """A case by its reference or its id (exactly one), or HoldError 404."""
    key = (key or "").strip()
    if not key:
        raise HoldError("Give the case reference.", field="case")
    rows = connection.execute(select(cases.c.id, cases.c.reference).where(
        or_(cases.c.id == key, cases.c.reference == key)).limit(2)).all()
    if not rows:
        raise HoldError(f"No case has the reference {key!r}. Check it and try again.", 404, "case")
    if len(rows) > 1:
        raise HoldError("More than one case has that reference: use the case's id instead.", 409, "case")
    return rows[0]


def active_hold(connection: Connection, case_id: str) -> Hold | None:
    row = connection.execute(select(legal_holds).where(legal_holds.c.case_id == case_id,
                                                       legal_holds.c.released_at.is_(None))).first()
    return _hold(row) if row else None


def get_hold(connection: Connection, hold_id: str) -> Hold:
    row = connection.execute(select(legal_holds).where(legal_holds.c.id == hold_id)).first()
    if row is None:
        raise HoldError("There is no such hold.", 404)
    return _hold(row)


def _hold(row: Any) -> Hold:
    return Hold(row.id, row.case_id, row.set_by, row.set_at, row.review_by, row.released_at)


def hold_key(connection: Connection, hold_id: str) -> WrappedDataKey | None:
    row = connection.execute(select(legal_holds.c.data_key_id, legal_holds.c.kek_id, legal_holds.c.wrapped_key)
                             .where(legal_holds.c.id == hold_id)).one()
    if row.data_key_id is None:
        return None
    return WrappedDataKey(row.data_key_id, hold_id, HOLD_CLASS, row.kek_id, row.wrapped_key)


def _seal(connection: Connection, keyring: Keyring, hold_id: str, table: str, row_id: str, field: str,
          text: str) -> bytes:
    """Seal under the hold's key, making (and storing, wrapped) that key if the hold has none yet."""
    key = hold_key(connection, hold_id)
    if key is not None:
        return seal_under(keyring, key, table=table, row_id=row_id, field_id=field, plaintext=text).ciphertext
    sealer = SubmissionSealer(keyring, hold_id)
    sealed = sealer.seal(table=table, row_id=row_id, field_id=field, field_class=HOLD_CLASS, plaintext=text)
    (new,) = sealer.wrapped_keys()
    connection.execute(update(legal_holds).where(legal_holds.c.id == hold_id).values(
        data_key_id=new.id, kek_id=new.kek_id, wrapped_key=new.wrapped))
    return sealed.ciphertext


def _event(action: Action, by: Changer, case_id: str, **detail: str | int) -> AuditEvent:
    # Never the words of a reason or note: the log says that one was given, and how long it was.
    return AuditEvent(action=action, outcome="success", actor_id=by.id, actor_role=by.role, object_type="case",
                      object_id=case_id, field_class=HOLD_CLASS, detail=dict(detail))


# --- in the caller's transaction ----------------------------------------------------------------


def set_hold(connection: Connection, audit: AuditLog, keyring: Keyring, *, case_id: str, reason: str,
             review_by: datetime, now: datetime, by: Changer = COMMAND_LINE) -> str:
    reason = clean_reason(reason)
    if connection.execute(select(cases.c.id).where(cases.c.id == case_id)).first() is None:
        raise HoldError(f"There is no case {case_id}.", 404)
    if active_hold(connection, case_id) is not None:
        raise HoldError("That case is already on legal hold: review the hold instead.", 409)
    hold_id = str(uuid.uuid4())
    connection.execute(legal_holds.insert().values(id=hold_id, case_id=case_id, set_by=by.id, set_at=now,
                                                   review_by=review_by))
    sealed = _seal(connection, keyring, hold_id, TABLE, hold_id, "reason", reason)
    connection.execute(update(legal_holds).where(legal_holds.c.id == hold_id).values(reason=sealed))
    audit.append(connection, _event(Action.LEGAL_HOLD_SET, by, case_id, hold=hold_id,
                                    review_by=review_by.date().isoformat(), reason_characters=len(reason)))
    return hold_id


def review_hold(connection: Connection, audit: AuditLog, keyring: Keyring, *, hold_id: str, note: str,
                review_by: datetime, now: datetime, by: Changer = COMMAND_LINE) -> str:
    note = clean_reason(note, "a note saying why the hold is still needed", "note")
    hold = get_hold(connection, hold_id)
    if hold.released_at is not None:
        raise HoldError("That hold has been released: there is nothing to review.", 409)
    review_id = str(uuid.uuid4())
    sealed = _seal(connection, keyring, hold_id, REVIEWS, review_id, "note", note)
    connection.execute(legal_hold_reviews.insert().values(
        id=review_id, hold_id=hold_id, reviewed_by=by.id, reviewed_at=now, review_by_before=hold.review_by,
        review_by=review_by, note=sealed))
    connection.execute(update(legal_holds).where(legal_holds.c.id == hold_id).values(review_by=review_by))
    audit.append(connection, _event(Action.LEGAL_HOLD_REVIEW, by, hold.case_id, hold=hold_id, review=review_id,
                                    review_by=review_by.date().isoformat(),
                                    review_by_before=hold.review_by.date().isoformat(), note_characters=len(note)))
    return review_id


def release_hold(connection: Connection, audit: AuditLog, keyring: Keyring, *, hold_id: str, reason: str,
                 now: datetime, by: Changer = COMMAND_LINE) -> Hold:
    reason = clean_reason(reason)
    hold = get_hold(connection, hold_id)
    if hold.released_at is not None:
        raise HoldError(f"That hold was already released on {hold.released_at:%d %B %Y}.", 409)
    sealed = _seal(connection, keyring, hold_id, TABLE, hold_id, "release_reason", reason)
    # Compare-and-set: of two releases sent at once, one changes the row and the other is refused.
    changed = connection.execute(update(legal_holds).where(legal_holds.c.id == hold_id,
                                                           legal_holds.c.released_at.is_(None)).values(
        released_at=now, released_by=by.id, release_reason=sealed)).rowcount
    if not changed:
        raise HoldError("That hold was already released.", 409)
    audit.append(connection, _event(Action.LEGAL_HOLD_RELEASE, by, hold.case_id, hold=hold_id,
                                    reason_characters=len(reason)))
    return hold


# --- each in its own transaction: the pages and the command line --------------------------------


def place(found: Services, *, case_key: str, reason: str, review_day: date | None, by: Changer) -> str:
    """Put a case (by reference or id) on hold; HoldError says why not. Returns the hold id."""
    now, rules = found.clock(), found.policies.organisation.legal_hold
    reason = clean_reason(reason)
    review_by = review_moment(review_day, now, rules.review_within)
    with write(found.engine) as connection:
        case = find_case(connection, case_key)
        return set_hold(connection, found.audit, found.keyring, case_id=case.id, reason=reason,
                        review_by=review_by, now=now, by=by)


def review(found: Services, hold_id: str, *, note: str, review_day: date | None, by: Changer) -> None:
    now, rules = found.clock(), found.policies.organisation.legal_hold
    note = clean_reason(note, "a note saying why the hold is still needed", "note")
    review_by = review_moment(review_day, now, rules.review_within)
    with write(found.engine) as connection:
        review_hold(connection, found.audit, found.keyring, hold_id=hold_id, note=note, review_by=review_by,
                    now=now, by=by)


def check_release(found: Services, hold_id: str, reason: str) -> None:
    """Refuse a release that cannot happen before anyone is asked to confirm who they are."""
    clean_reason(reason)
    with read(found.engine) as connection:
        hold = get_hold(connection, hold_id)
    if hold.released_at is not None:
        raise HoldError(f"That hold was already released on {hold.released_at:%d %B %Y}.", 409)


def release(found: Services, hold_id: str, *, reason: str, by: Changer) -> Hold:
    with write(found.engine) as connection:
        return release_hold(connection, found.audit, found.keyring, hold_id=hold_id, reason=reason,
                            now=found.clock(), by=by)


def active_hold_of(found: Services, case_key: str) -> str:
    """The id of the active hold on a case (by reference or id), for the command line."""
    with read(found.engine) as connection:
        case = find_case(connection, case_key)
        hold = active_hold(connection, case.id)
    if hold is None:
        raise HoldError(f"Case {case_key} is not on legal hold.", 409)
    return hold.id
