"""Drafts: answers saved as the person goes, sealed like everything else, erased when their time is up.

A draft is created when the person agrees to ``store`` (never before), and is
kept for the policy's ``draft_keep`` after its last change. It is reached from
the person's session, or — only if they chose to keep one — with a resume code,
of which only a keyed hash is stored. Each saved answer is a row sealed under a
data key of its own (``crypto.envelope``), the key stored wrapped beside it;
deleting the row erases the answer. Opening a draft goes through the access
decision and is audited, like any other open of sensitive data.

Values are opened outside any write transaction (unwrapping and decrypting is
most of the work, and a write transaction holds up every other writer): the
open's audit event is built with them and appended by a short write before any
value is used (``open_answers``), or with the send that uses them (``submissions``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.actions import Action
from casefeedback.casework.invitations import OpenInvitation, find_usable_invitation
from casefeedback.codes import lookup_hash, new_resume_code, normalise_resume_code
from casefeedback.crypto.envelope import IntegrityFailure, SealedField, SubmissionSealer, WrappedDataKey, open_field
from casefeedback.policy.decisions import AccessGrant, Actor, decide
from casefeedback.policy.model import PREFER_NOT_TO_SAY, Question, ServicePolicy
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.ids import grouped_id
from casefeedback.storage.tables import draft_answers, drafts

Answer = str | list[str]
Value = Answer | None  # None: the person reached the question and skipped it

# decide() knows one kind of member of the public: the person who gave the
# answers, proven by a bearer secret. For a draft that proof is the draft id in
# their signed session (put there by consent, or by a resume code).
HOLDER_ROLE = "receipt_holder"
TABLE = "draft_answers"


@dataclass(frozen=True)
class ConsentGiven:
    version: int
    language: str
    choices: Mapping[str, bool]


@dataclass(frozen=True)
class Draft:
    id: str
    service_id: str
    invitation_id: str | None
    consent: ConsentGiven
    consent_given_at: datetime
    expires_at: datetime
    kept: bool  # the person chose to keep a resume code
    reached: frozenset[str]  # questions answered or skipped


class DraftGone(Exception):
    """No such draft: never was, already sent, erased on leaving, or erased when it expired."""


class DraftExpired(Exception):
    """The draft's time ran out. It has been erased now, if the purge had not done so already."""


class CodeMalformed(Exception):
    """What was typed cannot be a resume code (wrong length or characters)."""


def start_draft(found: Services, policy: ServicePolicy, consent: ConsentGiven, invitation_id: str | None) -> str:
    """Only after consent to ``store``: the caller has checked it."""
    now, draft_id = found.clock(), str(uuid.uuid4())
    with write(found.engine) as connection:
        connection.execute(insert(drafts).values(
            id=draft_id, service_id=policy.id, policy_version=policy.version, invitation_id=invitation_id,
            consent_version=consent.version, consent_language=consent.language,
            consent_choices=json.dumps(dict(consent.choices), sort_keys=True), consent_given_at=now,
            created_at=now, updated_at=now, expires_at=policy.draft_keep.after(now)))
    return draft_id


def usable_invitation(found: Services, token: str) -> OpenInvitation | None:
    """The invitation a link's token opens, if it can still be used for a service still offered; else None."""
    with read(found.engine) as connection:
        invite = find_usable_invitation(connection, found.config.secrets.lookup.value, token, found.clock())
    return invite if invite is not None and found.policies.service(invite.service_id) is not None else None


def update_consent(found: Services, policy: ServicePolicy, draft_id: str, consent: ConsentGiven) -> None:
    now = found.clock()
    with write(found.engine) as connection:
        _touch(connection, policy, draft_id, now, consent_version=consent.version, consent_language=consent.language,
               consent_choices=json.dumps(dict(consent.choices), sort_keys=True), consent_given_at=now)


def load_draft(found: Services, draft_id: str) -> Draft:
    with read(found.engine) as connection:
        row = connection.execute(select(drafts).where(drafts.c.id == draft_id)).first()
        reached = frozenset(connection.execute(
            select(draft_answers.c.question_id).where(draft_answers.c.draft_id == draft_id)).scalars())
    if row is None:
        raise DraftGone()
    if row.expires_at <= found.clock():
        discard_draft(found, draft_id, "expired")
        raise DraftExpired()
    consent = ConsentGiven(row.consent_version, row.consent_language, json.loads(row.consent_choices))
    return Draft(row.id, row.service_id, row.invitation_id, consent, row.consent_given_at, row.expires_at,
                 row.resume_hash is not None, reached)


def valid_value(question: Question, value: object) -> bool:
    """Whether a value is an answer this question (in the policy now in force) can have."""
    if value is None:
        return True
    if question.kind == "text":
        return isinstance(value, str) and 0 < len(value) <= question.max_length
    allowed = set(question.option_ids())
    if question.kind == "multi_choice":
        return (isinstance(value, list) and bool(value) and all(isinstance(v, str) and v in allowed for v in value)
                and (PREFER_NOT_TO_SAY not in value or len(value) == 1))
    return isinstance(value, str) and value in allowed


def save_answers(found: Services, policy: ServicePolicy, draft_id: str, values: Mapping[str, Value]) -> None:
    """Seal and store (replacing what was there) one value per question; extend the draft's time."""
    now = found.clock()
    rows = [_sealed_row(found, draft_id, policy.question(qid), value, now) for qid, value in values.items()]
    with write(found.engine) as connection:
        _touch(connection, policy, draft_id, now)
        connection.execute(delete(draft_answers).where(draft_answers.c.draft_id == draft_id,
                                                       draft_answers.c.question_id.in_(list(values))))
        if rows:
            connection.execute(insert(draft_answers), rows)


def _sealed_row(found: Services, draft_id: str, question: Question | None, value: Value,
                now: datetime) -> dict[str, object]:
    if question is None or not valid_value(question, value):
        raise ValueError("only a validated answer to a known question can be saved")
    # A fresh data key for every saved value: nothing is ever re-encrypted under
    # an old key, and replacing an answer destroys the old key with the old row.
    sealer, row_id = SubmissionSealer(found.keyring, draft_id), grouped_id(draft_id)  # beside its draft's others
    sealed = sealer.seal(table=TABLE, row_id=row_id, field_id=question.id, field_class=question.field_class,
                         plaintext=json.dumps(value))
    (key,) = sealer.wrapped_keys()
    return {"id": row_id, "draft_id": draft_id, "question_id": question.id, "field_class": question.field_class,
            "data_key_id": key.id, "kek_id": key.kek_id, "wrapped": key.wrapped, "ciphertext": sealed.ciphertext,
            "saved_at": now}


def _touch(connection: Connection, policy: ServicePolicy, draft_id: str, now: datetime, **values: object) -> None:
    """Extend a live draft's time (and change what is given); a draft that is gone or expired stays gone."""
    changed = connection.execute(update(drafts).where(drafts.c.id == draft_id, drafts.c.expires_at > now).values(
        updated_at=now, expires_at=policy.draft_keep.after(now), **values))
    if changed.rowcount != 1:
        raise DraftGone()


def open_answers(found: Services, policy: ServicePolicy, draft_id: str,
                 question_ids: Collection[str] | None = None) -> dict[str, Value]:
    """The person's own saved values (all, or those asked for), audited before they leave this module."""
    query = select(draft_answers).where(draft_answers.c.draft_id == draft_id)
    if question_ids is not None:
        query = query.where(draft_answers.c.question_id.in_(list(question_ids)))
    with read(found.engine) as connection:
        rows = connection.execute(query).all()
    opened, event = open_values(found, policy, draft_id, rows)
    if event is not None:
        with write(found.engine) as connection:
            found.audit.append(connection, event)
    return opened


def open_values(found: Services, policy: ServicePolicy, draft_id: str,
                rows: Sequence[Row[Any]]) -> tuple[dict[str, Value], AuditEvent | None]:
    """Open sealed rows of a draft: one decision per value, and the one audit event the caller must append.

    No transaction: the caller appends the event before any value leaves the service, in the
    write transaction that acts on them or in one of its own.
    """
    opened: dict[str, Value] = {}
    withheld = failed = 0
    for row in rows:
        question = policy.question(row.question_id)
        decision = decide(policy, Actor(draft_id, HOLDER_ROLE), None, draft_id, row.field_class, "own_record",
                          receipt_submission_id=draft_id)
        if question is None or not isinstance(decision, AccessGrant):
            withheld += 1  # the policy changed since it was saved: that question or class is no more
            continue
        try:
            value = json.loads(open_field(decision, found.keyring, *_placed(draft_id, row)))
        except IntegrityFailure:
            failed += 1  # altered or moved: shown as not answered, and the person can answer again
            continue
        if valid_value(question, value):
            opened[row.question_id] = value
        else:
            withheld += 1
    if not (opened or withheld or failed):
        return opened, None
    return opened, AuditEvent(
        action=Action.DRAFT_OPEN, outcome="integrity_failure" if failed else "allowed", actor_role="service_user",
        object_type="draft", object_id=draft_id, purpose="own_record",
        detail={"fields": len(opened), "withheld": withheld, "failed": failed, "reason": "own draft"})


def erase_event(draft_id: str, fields: int, reason: str) -> AuditEvent:
    return AuditEvent(action=Action.DRAFT_ERASE, outcome="erased", actor_role="service_user", object_type="draft",
                      object_id=draft_id, detail={"reason": reason, "fields": fields})


def _placed(draft_id: str, row: Row[Any]) -> tuple[WrappedDataKey, SealedField]:
    # The draft id comes from the caller, not the row: a row moved to another draft fails to open.
    key = WrappedDataKey(row.data_key_id, draft_id, row.field_class, row.kek_id, row.wrapped)
    return key, SealedField(TABLE, row.id, row.question_id, row.field_class, row.data_key_id, row.ciphertext)


def keep_with_resume_code(found: Services, policy: ServicePolicy, draft_id: str) -> str:
    """Issue a resume code (shown once, never stored): a new code replaces any earlier one."""
    code = new_resume_code()
    with write(found.engine) as connection:
        _touch(connection, policy, draft_id, found.clock(), resume_hash=_resume_hash(found, code.replace("-", "")))
    return code


def find_by_resume_code(found: Services, typed: str) -> tuple[str, str]:
    """(draft id, service id) for a typed resume code; erases the draft if it has expired."""
    code = normalise_resume_code(typed)
    if code is None:
        raise CodeMalformed()
    with read(found.engine) as connection:
        row = connection.execute(select(drafts.c.id, drafts.c.service_id, drafts.c.expires_at)
                                 .where(drafts.c.resume_hash == _resume_hash(found, code))).first()
    if row is None:
        raise DraftGone()
    if row.expires_at <= found.clock():
        discard_draft(found, row.id, "expired")
        raise DraftExpired()
    return row.id, row.service_id


def _resume_hash(found: Services, normalised: str) -> str:
    return lookup_hash(found.config.secrets.lookup.value, "resume", normalised)


def erase_draft(connection: Connection, audit: AuditLog, draft_id: str, reason: str) -> int:
    """Erase a draft and every sealed value in it, in the caller's write transaction; return how many values."""
    fields = connection.execute(delete(draft_answers).where(draft_answers.c.draft_id == draft_id)).rowcount
    if connection.execute(delete(drafts).where(drafts.c.id == draft_id)).rowcount:
        audit.append(connection, erase_event(draft_id, fields, reason))
    return int(fields)


def discard_draft(found: Services, draft_id: str, reason: str, *, unless_kept: bool = False) -> bool:
    """Erase a draft in a transaction of its own. With ``unless_kept``, a draft with a resume code stays."""
    with write(found.engine) as connection:
        if unless_kept:
            kept = connection.execute(select(drafts.c.resume_hash).where(drafts.c.id == draft_id)).scalar()
            if kept is not None:
                return False
        erase_draft(connection, found.audit, draft_id, reason)
    return True


def purge_expired_drafts(connection: Connection, audit: AuditLog, now: datetime) -> int:
    """Erase every draft whose time is up (the retention job calls this); return how many drafts.

    Audits counts only. ``secure_delete`` overwrites the freed pages, and each
    value's data key goes with its row, so nothing of an expired draft remains.
    """
    expired = select(drafts.c.id).where(drafts.c.expires_at <= now)
    count = int(connection.execute(select(func.count()).select_from(expired.subquery())).scalar_one())
    if not count:
        return 0
    fields = connection.execute(delete(draft_answers).where(draft_answers.c.draft_id.in_(expired))).rowcount
    connection.execute(delete(drafts).where(drafts.c.expires_at <= now))
    audit.append(connection, AuditEvent(action=Action.DRAFT_PURGE, outcome="erased", object_type="draft",
                                        detail={"reason": "expired", "drafts": count, "fields": fields}))
    return count
