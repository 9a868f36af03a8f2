"""Recording a submission: everything in one transaction, nothing before consent."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from casefeedback.audit import AuditEvent
from casefeedback.crypto.envelope import SubmissionSealer
from casefeedback.intake.codes import lookup_hash, new_receipt_code
from casefeedback.policy.model import ServicePolicy
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.tables import answers, consent_receipts, data_keys, invitations, submissions

Answer = str | list[str]


class ConsentMissing(Exception):
    """The person has not agreed to their feedback being stored."""


class AlreadySubmitted(Exception):
    """This exact submission was already recorded (a double click, Back-and-resend, or a replay)."""


class InvitationUnusable(Exception):
    """The invitation expired, was revoked or used up between opening it and sending."""


@dataclass(frozen=True)
class ConsentGiven:
    version: int
    language: str
    choices: Mapping[str, bool]


def record_submission(found: Services, policy: ServicePolicy, *, submission_id: str, consent: ConsentGiven,
                      given: Mapping[str, Answer], invitation_id: str | None) -> str:
    """Store the answers sealed, with their consent receipt; return the receipt code (shown once)."""
    if not all(consent.choices.get(choice) for choice in policy.consent.required):
        raise ConsentMissing()
    receipt_code = new_receipt_code()
    now = found.clock()
    # Everything that needs no database is done before the write lock is taken,
    # so that the transaction holds it only for the statements themselves.
    submission = {"id": submission_id, "service_id": policy.id, "policy_version": policy.version,
                  "case_id": None, "language": consent.language, "submitted_at": now, "status": "active",
                  "receipt_hash": lookup_hash(found.config.secrets.lookup.value, "receipt",
                                              receipt_code.replace("-", ""))}
    receipt = {"id": str(uuid.uuid4()), "submission_id": submission_id, "consent_version": consent.version,
               "language": consent.language, "choices": json.dumps(dict(consent.choices), sort_keys=True),
               "given_at": now, "withdrawn_at": None}
    keys, rows = _sealed_answers(found, policy, submission_id, given, now)
    try:
        with write(found.engine) as connection:
            if invitation_id:
                submission["case_id"] = _use_invitation(connection, invitation_id, now)
            connection.execute(submissions.insert(), submission)
            connection.execute(consent_receipts.insert(), receipt)
            if keys:
                connection.execute(data_keys.insert(), keys)
                connection.execute(answers.insert(), rows)
            found.audit.append(connection, AuditEvent(
                action="submission.receive", outcome="stored", actor_role="service_user",
                object_type="submission", object_id=submission_id,
                detail={"service": policy.id, "answered": len(given),
                        "via_invitation": submission["case_id"] is not None}))
    except IntegrityError:
        raise AlreadySubmitted() from None
    return receipt_code


def _use_invitation(connection: Connection, invitation_id: str, now: datetime) -> str:
    used = connection.execute(
        update(invitations)
        .where(invitations.c.id == invitation_id, invitations.c.uses_left > 0,
               invitations.c.revoked_at.is_(None), invitations.c.expires_at > now)
        .values(uses_left=invitations.c.uses_left - 1))
    if used.rowcount != 1:
        raise InvitationUnusable()
    case_id = connection.execute(select(invitations.c.case_id).where(invitations.c.id == invitation_id)).scalar()
    return str(case_id)


Row = dict[str, object]


def _sealed_answers(found: Services, policy: ServicePolicy, submission_id: str, given: Mapping[str, Answer],
                    now: datetime) -> tuple[list[Row], list[Row]]:
    """(wrapped data key rows, answer rows): only ciphertext, never the answers themselves."""
    sealer = SubmissionSealer(found.keyring, submission_id)
    rows: list[Row] = []
    for position, question in enumerate(policy.questions):
        if question.id not in given:
            continue
        row_id = str(uuid.uuid4())
        sealed = sealer.seal(table="answers", row_id=row_id, field_id=question.id,
                             field_class=question.field_class, plaintext=json.dumps(given[question.id]))
        rows.append({"id": row_id, "submission_id": submission_id, "question_id": question.id,
                     "field_class": question.field_class, "data_key_id": sealed.data_key_id,
                     "position": position, "ciphertext": sealed.ciphertext})
    keys: list[Row] = [{"id": k.id, "submission_id": submission_id, "field_class": k.field_class,
                        "kek_id": k.kek_id, "wrapped": k.wrapped, "created_at": now}
                       for k in sealer.wrapped_keys()]
    return keys, rows
