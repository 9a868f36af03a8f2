"""Recording a submission: everything in one transaction, nothing before consent.

``record_submission`` takes the person's draft: opens its sealed values
(audited), seals them afresh under the submission's own data keys, stores the
submission with its consent receipt, and erases the draft — all in one write
transaction, so either everything happened or nothing did. ``record_submissions``
stores many that come without a draft (the benchmarks seed through it) by the
very same code, ``_store``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from casefeedback.alerts.raising import raise_alerts
from casefeedback.alerts.rules import matching_rules
from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.codes import lookup_hash, new_receipt_code
from casefeedback.crypto.envelope import SubmissionSealer
from casefeedback.insight.contributions import SHARE_INSIGHT_CHOICE, InsightSource, contribute_many
from casefeedback.intake.drafts import ConsentGiven, DraftGone, erase_draft, open_rows
from casefeedback.policy.model import AlertRule, ServicePolicy
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.ids import ordered_row_id
from casefeedback.storage.tables import answers, consent_receipts, data_keys, drafts, invitations, submissions

__all__ = ["AlreadySubmitted", "ConsentGiven", "ConsentMissing", "DraftGone", "InvitationUnusable", "Recorded",
           "Sent", "record_submission", "record_submissions", "seal_answers"]

Answer = str | list[str]


class ConsentMissing(Exception):
    """The person has not agreed to their feedback being stored."""


class AlreadySubmitted(Exception):
    """This exact submission was already recorded (a double click, Back-and-resend, or a replay)."""


class InvitationUnusable(Exception):
    """The invitation expired, was revoked or used up between opening it and sending."""


@dataclass(frozen=True)
class Recorded:
    receipt_code: str = field(repr=False)  # shown once, in the response; never stored
    alerts: list[AlertRule]  # the rules the answers met: raised for staff, signposted to the person now
    linked_to_case: bool


@dataclass(frozen=True)
class Sent:
    """One submission as it is stored: the answers, the consent they were given under, when, and the case."""

    id: str
    given: Mapping[str, Answer]  # a skipped question is absent: it stores nothing
    consent: ConsentGiven
    consent_given_at: datetime
    submitted_at: datetime
    language: str
    case_id: str | None = None


def record_submission(found: Services, policy: ServicePolicy, *, draft_id: str, language: str) -> Recorded:
    """Send a draft: store its answers sealed, with their consent receipt; return the receipt code (shown once)."""
    receipt_code = new_receipt_code()
    now = found.clock()
    try:
        with write(found.engine) as connection:
            draft = connection.execute(select(drafts).where(drafts.c.id == draft_id, drafts.c.service_id == policy.id,
                                                            drafts.c.expires_at > now)).first()
            if draft is None:
                # Sending erases the draft, so a draft that is gone may have been sent already.
                if connection.execute(select(submissions.c.id).where(submissions.c.id == draft_id)).first():
                    raise AlreadySubmitted()
                raise DraftGone()
            consent = ConsentGiven(draft.consent_version, draft.consent_language, json.loads(draft.consent_choices))
            if not _consented(policy, consent):
                raise ConsentMissing()
            given = {qid: value for qid, value in open_rows(found, connection, policy, draft_id).items()
                     if value is not None}  # a skipped question stores nothing
            case_id = _use_invitation(connection, draft.invitation_id, now) if draft.invitation_id else None
            sent = Sent(draft_id, given, consent, draft.consent_given_at, now, language, case_id)
            [met] = _store(found, connection, policy, [sent], [receipt_code])
            erase_draft(connection, found.audit, draft_id, "sent")
    except IntegrityError:
        raise AlreadySubmitted() from None
    return Recorded(receipt_code, met, case_id is not None)


def record_submissions(found: Services, policy: ServicePolicy, sent: Sequence[Sent]) -> list[Recorded]:
    """Store submissions that come without a draft, all in one write transaction, each exactly as a send stores it.

    What the benchmarks seed through: thousands at a time, at the times they
    choose, with the same sealing, consent receipt, insight contributions,
    audit event and alerts as ``record_submission``.
    """
    if not sent:
        return []
    if not all(_consented(policy, one.consent) for one in sent):
        raise ConsentMissing()
    codes = [new_receipt_code() for _ in sent]
    try:
        with write(found.engine) as connection:
            met = _store(found, connection, policy, sent, codes)
    except IntegrityError:
        raise AlreadySubmitted() from None
    return [Recorded(code, rules, one.case_id is not None) for one, code, rules in zip(sent, codes, met, strict=True)]


def _consented(policy: ServicePolicy, consent: ConsentGiven) -> bool:
    return all(consent.choices.get(choice) for choice in policy.consent.required)


def _store(found: Services, connection: Connection, policy: ServicePolicy, sent: Sequence[Sent],
           receipt_codes: Sequence[str]) -> list[list[AlertRule]]:
    """Store submissions in the caller's write transaction; return the alert rules each one's answers met."""
    lookup = found.config.secrets.lookup.value
    connection.execute(submissions.insert(), [{
        "id": one.id, "service_id": policy.id, "policy_version": policy.version, "case_id": one.case_id,
        "language": one.language, "submitted_at": one.submitted_at, "status": "active",
        "receipt_hash": lookup_hash(lookup, "receipt", code.replace("-", ""))}
        for one, code in zip(sent, receipt_codes, strict=True)])
    connection.execute(consent_receipts.insert(), [{
        "id": str(uuid.uuid4()), "submission_id": one.id, "consent_version": one.consent.version,
        "language": one.consent.language, "choices": json.dumps(dict(one.consent.choices), sort_keys=True),
        "given_at": one.consent_given_at, "withdrawn_at": None} for one in sent])
    sealed = [seal_answers(found, policy, one.id, one.given, one.submitted_at) for one in sent]
    keys = [key for one_keys, _rows in sealed for key in one_keys]
    if keys:
        connection.execute(data_keys.insert(), keys)
        connection.execute(answers.insert(), [row for _keys, rows in sealed for row in rows])
    # De-identified contributions now, for a person who agreed to share
    # insight, so trends are current and outlive the answers' retention.
    sharing = [one.id for one in sent if one.consent.choices.get(SHARE_INSIGHT_CHOICE) is True]
    if sharing:  # else nothing to count: skip the queries
        aggregate = [c for c, declared in policy.classes.items() if declared.insight == "aggregate"]
        contribute_many(connection, found.audit, InsightSource(found.policies, found.keyring),
                        dict.fromkeys(sharing, aggregate))
    found.audit.append_many(connection, [AuditEvent(
        action=Action.SUBMISSION_RECEIVE, outcome="stored", actor_role="service_user",
        object_type="submission", object_id=one.id,
        detail={"service": policy.id, "answered": len(one.given), "via_invitation": one.case_id is not None})
        for one in sent])
    # Alerts are raised in this same transaction (an outbox), so a
    # submission and its alerts are stored together or not at all.
    met = [matching_rules(policy, one.given) for one in sent]
    for one, rules in zip(sent, met, strict=True):
        raise_alerts(found, connection, policy, rules, submission_id=one.id, case_id=one.case_id,
                     now=one.submitted_at)
    return met


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


def seal_answers(found: Services, policy: ServicePolicy, submission_id: str, given: Mapping[str, Answer],
                    now: datetime) -> tuple[list[Row], list[Row]]:
    """(wrapped data key rows, answer rows) for ``answers`` under the submission's own data keys.

    Only ciphertext, never the answers themselves. Sending, adding to a
    submission and the benchmarks' seeding all store answers through this.
    """
    sealer = SubmissionSealer(found.keyring, submission_id)
    rows: list[Row] = []
    for position, question in enumerate(policy.questions):
        if question.id not in given:
            continue
        row_id = ordered_row_id()
        sealed = sealer.seal(table="answers", row_id=row_id, field_id=question.id,
                             field_class=question.field_class, plaintext=json.dumps(given[question.id]))
        rows.append({"id": row_id, "submission_id": submission_id, "question_id": question.id,
                     "field_class": question.field_class, "data_key_id": sealed.data_key_id,
                     "position": position, "ciphertext": sealed.ciphertext})
    keys: list[Row] = [{"id": k.id, "submission_id": submission_id, "field_class": k.field_class,
                        "kek_id": k.kek_id, "wrapped": k.wrapped, "created_at": now}
                       for k in sealer.wrapped_keys()]
    return keys, rows
