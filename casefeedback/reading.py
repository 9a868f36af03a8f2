"""The reading service: the only place sensitive fields are opened.

For each field: one access decision, then either the plaintext (and an audit
event saying it was opened, for what purpose) or a visible "withheld by
policy" marker (and an audit event saying so). The events commit before the
plaintext leaves this module, so no read goes unrecorded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.crypto.envelope import IntegrityFailure, SealedField, WrappedDataKey, open_field
from casefeedback.policy.decisions import (
    AccessGrant,
    Actor,
    BreakGlass,
    CaseFacts,
    ClassDeclarations,
    Decision,
    break_glass_relations,
    decide,
)
from casefeedback.policy.model import OUTCOME_CLASS, REPLY_CLASS, Question, ServicePolicy
from casefeedback.policy.relations import relations
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.tables import (
    answers,
    break_glass,
    case_outcomes,
    cases,
    data_keys,
    feedback_replies,
    staff,
    submissions,
)

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


def case_facts(connection: Connection, case_id: str | None, actor: Actor | None = None, *,
               found: Services | None = None) -> CaseFacts | None:
    """The case as the access decision needs it, read now (never cached across requests).

    With ``actor`` and ``found``, includes the actor's open break-glass on the case, if any.
    """
    if case_id is None:
        return None
    row = connection.execute(select(cases).where(cases.c.id == case_id)).first()
    if row is None:
        return None
    glass = None
    if actor is not None and found is not None:
        now, rules = found.clock(), found.policies.organisation.break_glass
        open_row = connection.execute(select(break_glass.c.id, break_glass.c.expires_at).where(
            break_glass.c.staff_id == actor.id, break_glass.c.case_id == case_id, break_glass.c.ended_at.is_(None),
            break_glass.c.expires_at > now).order_by(break_glass.c.expires_at.desc())).first()
        if open_row is not None:
            glass = BreakGlass(open_row.id, actor.id, rules.read_as, open_row.expires_at)
    return CaseFacts(row.id, row.owner_id, row.deputy_id, row.team_id, glass)


def _any_relation(actor: Actor, case: CaseFacts | None) -> bool:
    return bool(relations(actor, case) or break_glass_relations(actor, case))


def _grant_detail(decision: Decision, record_kind: str, record: str) -> dict[str, str | bool]:
    detail: dict[str, str | bool] = {record_kind: record, "reason": decision.reason}
    if isinstance(decision, AccessGrant) and decision.break_glass_id is not None:
        # Flagged for the auditor view: read outside normal access.
        detail.update(break_glass=True, break_glass_id=decision.break_glass_id)
    return detail


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
        case = case_facts(connection, sub.case_id, actor, found=found)
        if purpose == "casework" and not _any_relation(actor, case):
            found.audit.append(connection, AuditEvent(
                action=Action.SUBMISSION_OPEN, outcome="denied", actor_id=actor.id, actor_role=actor.role,
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


def read_answers(found: Services, connection: Connection, actor: Actor, submission_id: str,
                 question_ids: Sequence[str]) -> dict[str, FieldView]:
    """Open some answers of one active submission for casework, in the caller's transaction.

    The same decision and audit event per field as ``read_submission``; the caller
    has already decided the actor may know the submission exists (an alert on it).
    Answers no longer held (withdrawn, erased, never given) are simply absent.
    """
    sub = connection.execute(select(submissions).where(submissions.c.id == submission_id,
                                                       submissions.c.status == "active")).first()
    policy = found.policies.service(sub.service_id) if sub else None
    if sub is None or policy is None or not question_ids:
        return {}
    case = case_facts(connection, sub.case_id, actor, found=found)
    rows = connection.execute(
        select(answers, data_keys.c.kek_id, data_keys.c.wrapped)
        .join(data_keys, data_keys.c.id == answers.c.data_key_id)
        .where(answers.c.submission_id == submission_id, answers.c.question_id.in_(list(question_ids)))
        .order_by(answers.c.position)).all()
    return {row.question_id: _field(found, connection, policy, actor, case, row._mapping, "casework", None)
            for row in rows}


def _field(found: Services, connection: Connection, policy: ServicePolicy, actor: Actor,
           case: CaseFacts | None, row: Any, purpose: str, receipt_submission_id: str | None) -> FieldView:
    question = policy.question(row["question_id"])
    decision = decide(policy, actor, case, row["submission_id"], row["field_class"], purpose,
                      receipt_submission_id=receipt_submission_id)
    state, text = _open_audited(
        found, connection, actor, decision, purpose, ("answer", row["id"], row["field_class"]),
        ("submission", row["submission_id"]),
        WrappedDataKey(row["data_key_id"], row["submission_id"], row["field_class"], row["kek_id"], row["wrapped"]),
        SealedField("answers", row["id"], row["question_id"], row["field_class"], row["data_key_id"],
                    row["ciphertext"]))
    if text is None:
        return FieldView(question, row["question_id"], row["field_class"], state)
    return FieldView(question, row["question_id"], row["field_class"], state, json.loads(text))


def _open_audited(found: Services, connection: Connection, actor: Actor, decision: Decision, purpose: str,
                  field: tuple[str, str, str], record: tuple[str, str], key: WrappedDataKey,
                  sealed: SealedField) -> tuple[str, str | None]:
    """The one way a reader gets a sealed field, whatever it is (an answer, an outcome, a reply): withheld
    unless ``decision`` grants it, opened if it does, and either way exactly one audit event; a field whose
    ciphertext or key fails its check is shown as unreadable and audited as that. ``field``: (object type,
    object id, field class); ``record``: what it belongs to, for the event (("submission" or "case", id)).
    Returns (state, the plaintext when open)."""
    object_type, object_id, field_class = field
    event = {"actor_id": actor.id, "actor_role": actor.role, "object_type": object_type, "object_id": object_id,
             "field_class": field_class, "purpose": purpose}
    if not isinstance(decision, AccessGrant):
        found.audit.append(connection, AuditEvent(action=Action.FIELD_WITHHOLD, outcome="denied", **event,
                                                  detail=_grant_detail(decision, *record)))
        return WITHHELD, None
    try:
        text = open_field(decision, found.keyring, key, sealed)
    except IntegrityFailure as failure:
        found.audit.append(connection, AuditEvent(action=Action.FIELD_OPEN, outcome="integrity_failure", **event,
                                                  detail={record[0]: record[1], "reason": str(failure)}))
        return UNREADABLE, None
    found.audit.append(connection, AuditEvent(action=Action.FIELD_OPEN, outcome="allowed", **event,
                                              detail=_grant_detail(decision, *record)))
    return "open", text


# --- case outcomes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeView:
    id: str
    recorded_at: datetime
    recorded_by: str  # display name
    state: str  # "open", WITHHELD or UNREADABLE
    text: str | None = None


def read_outcomes(found: Services, actor: Actor, case_id: str) -> list[OutcomeView]:
    """Open what this actor may see of a case's outcomes, one decision and one audit event each.

    Call only for a case the actor may see; an empty list for a case without outcomes.
    """
    organisation: ClassDeclarations = found.policies.organisation
    with write(found.engine) as connection:
        case = case_facts(connection, case_id, actor, found=found)
        rows = connection.execute(
            select(case_outcomes, staff.c.display_name).join(staff, staff.c.id == case_outcomes.c.recorded_by)
            .where(case_outcomes.c.case_id == case_id).order_by(case_outcomes.c.recorded_at.desc())).all()
        return [_outcome(found, connection, organisation, actor, case, row._mapping) for row in rows]


def _outcome(found: Services, connection: Connection, organisation: ClassDeclarations, actor: Actor,
             case: CaseFacts | None, row: Any) -> OutcomeView:
    decision = decide(organisation, actor, case, row["id"], OUTCOME_CLASS, "casework")
    state, text = _open_audited(
        found, connection, actor, decision, "casework", ("outcome", row["id"], OUTCOME_CLASS),
        ("case", row["case_id"]),
        WrappedDataKey(row["data_key_id"], row["id"], OUTCOME_CLASS, row["kek_id"], row["wrapped_key"]),
        SealedField("case_outcomes", row["id"], "outcome", OUTCOME_CLASS, row["data_key_id"], row["ciphertext"]))
    return OutcomeView(row["id"], row["recorded_at"], row["display_name"], state, text)


# --- replies to feedback -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyView:
    id: str
    written_at: datetime
    written_by: str  # display name: shown to staff, never to the person
    language: str  # the language it was written in
    state: str  # "open", WITHHELD or UNREADABLE
    text: str | None = None


def read_replies(found: Services, actor: Actor, submission_id: str, purpose: str, *,
                 receipt_submission_id: str | None = None) -> list[ReplyView]:
    """Open the replies to one active submission this actor may read, one decision and one audit event each.

    Call only once the actor may know the submission exists (``read_submission`` decided it). A reply whose
    data key is gone (withdrawn, erased by retention) is not found at all: the join is the erasure.
    """
    with write(found.engine) as connection:
        sub = connection.execute(select(submissions.c.service_id, submissions.c.case_id).where(
            submissions.c.id == submission_id, submissions.c.status == "active")).first()
        policy = found.policies.service(sub.service_id) if sub else None
        if sub is None or policy is None:
            return []
        case = case_facts(connection, sub.case_id, actor, found=found)
        rows = connection.execute(
            select(feedback_replies, data_keys.c.kek_id, data_keys.c.wrapped, staff.c.display_name)
            .join(data_keys, data_keys.c.id == feedback_replies.c.data_key_id)
            .join(staff, staff.c.id == feedback_replies.c.written_by)
            .where(feedback_replies.c.submission_id == submission_id)
            .order_by(feedback_replies.c.written_at, feedback_replies.c.id)).all()
        return [_reply(found, connection, policy, actor, case, row._mapping, purpose, receipt_submission_id)
                for row in rows]


def _reply(found: Services, connection: Connection, policy: ServicePolicy, actor: Actor, case: CaseFacts | None,
           row: Any, purpose: str, receipt_submission_id: str | None) -> ReplyView:
    decision = decide(policy, actor, case, row["submission_id"], REPLY_CLASS, purpose,
                      receipt_submission_id=receipt_submission_id)
    state, text = _open_audited(
        found, connection, actor, decision, purpose, ("reply", row["id"], REPLY_CLASS),
        ("submission", row["submission_id"]),
        WrappedDataKey(row["data_key_id"], row["submission_id"], REPLY_CLASS, row["kek_id"], row["wrapped"]),
        SealedField("feedback_replies", row["id"], "reply", REPLY_CLASS, row["data_key_id"], row["ciphertext"]))
    return ReplyView(row["id"], row["written_at"], row["display_name"], row["language"], state, text)
