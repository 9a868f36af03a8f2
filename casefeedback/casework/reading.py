"""The reading service: the only place sensitive fields are opened.

For each field: one access decision, then either the plaintext (and an audit
event saying it was opened, for what purpose) or a visible "withheld by
policy" marker (and an audit event saying so). The events commit before the
plaintext leaves this module, so no read goes unrecorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from casefeedback.audit import AuditEvent
from casefeedback.crypto.envelope import IntegrityFailure, SealedField, WrappedDataKey, open_field
from casefeedback.policy.decisions import AccessGrant, Actor, CaseFacts, decide, relations
from casefeedback.policy.model import Question, ServicePolicy
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.tables import answers, cases, data_keys, submissions

WITHHELD = "withheld"
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class FieldView:
    question: Question | None
    question_id: str
    field_class: str
    state: str  # "open", WITHHELD or UNREADABLE
    value: str | list[str] | None = None


@dataclass(frozen=True)
class SubmissionView:
    id: str
    service_id: str
    case_id: str | None
    submitted_at: datetime
    language: str
    fields: list[FieldView]


class NotFound(Exception):
    """No such submission for this reader: the same answer whether it exists or not."""


def case_facts(connection: Connection, case_id: str | None) -> CaseFacts | None:
    if case_id is None:
        return None
    row = connection.execute(select(cases).where(cases.c.id == case_id)).first()
    return CaseFacts(row.id, row.owner_id, row.deputy_id, row.team_id) if row else None


def read_submission(found: Services, actor: Actor, submission_id: str, purpose: str, *,
                    receipt_submission_id: str | None = None) -> SubmissionView:
    """Open what this actor may see of one submission, auditing every field.

    ``receipt_submission_id`` is the submission a receipt code resolved to, for
    the person reading their own record (purpose ``own_record``).
    """
    with write(found.engine) as connection:
        sub = connection.execute(select(submissions).where(submissions.c.id == submission_id,
                                                           submissions.c.status == "active")).first()
        policy = found.policies.service(sub.service_id) if sub else None
        if sub is None or policy is None:
            raise NotFound()
        case = case_facts(connection, sub.case_id)
        if purpose == "casework" and not relations(actor, case):
            found.audit.append(connection, AuditEvent(
                action="submission.open", outcome="denied", actor_id=actor.id, actor_role=actor.role,
                object_type="submission", object_id=submission_id, purpose=purpose,
                detail={"reason": "no relation to the case"}))
            denied = True
        else:
            denied = False
        rows = connection.execute(
            select(answers, data_keys.c.kek_id, data_keys.c.wrapped)
            .join(data_keys, data_keys.c.id == answers.c.data_key_id)
            .where(answers.c.submission_id == submission_id).order_by(answers.c.position)).all()
        fields = [] if denied else [_field(found, connection, policy, actor, case, row._mapping, purpose,
                                           receipt_submission_id) for row in rows]
    if denied:
        raise NotFound()
    return SubmissionView(sub.id, sub.service_id, sub.case_id, sub.submitted_at, sub.language, fields)


def _field(found: Services, connection: Connection, policy: ServicePolicy, actor: Actor,
           case: CaseFacts | None, row: Any, purpose: str, receipt_submission_id: str | None) -> FieldView:
    question = policy.question(row["question_id"])
    decision = decide(policy, actor, case, row["submission_id"], row["field_class"], purpose,
                      receipt_submission_id=receipt_submission_id)
    event = {"actor_id": actor.id, "actor_role": actor.role, "object_type": "answer", "object_id": row["id"],
             "field_class": row["field_class"], "purpose": purpose}
    if not isinstance(decision, AccessGrant):
        found.audit.append(connection, AuditEvent(action="field.withhold", outcome="denied", **event,
                                                  detail={"submission": row["submission_id"],
                                                          "reason": decision.reason}))
        return FieldView(question, row["question_id"], row["field_class"], WITHHELD)
    key = WrappedDataKey(row["data_key_id"], row["submission_id"], row["field_class"], row["kek_id"],
                         row["wrapped"])
    sealed = SealedField("answers", row["id"], row["question_id"], row["field_class"], row["data_key_id"],
                         row["ciphertext"])
    try:
        value = json.loads(open_field(decision, found.keyring, key, sealed))
    except IntegrityFailure as failure:
        found.audit.append(connection, AuditEvent(action="field.open", outcome="integrity_failure", **event,
                                                  detail={"submission": row["submission_id"],
                                                          "reason": str(failure)}))
        return FieldView(question, row["question_id"], row["field_class"], UNREADABLE)
    found.audit.append(connection, AuditEvent(action="field.open", outcome="allowed", **event,
                                              detail={"submission": row["submission_id"],
                                                      "reason": decision.reason}))
    return FieldView(question, row["question_id"], row["field_class"], "open", value)
