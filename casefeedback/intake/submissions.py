"""Recording a submission: one short write transaction, nothing before consent.

``record_submission`` takes the person's draft. Outside any write transaction it
reads the draft, opens its sealed values (decided, and audited by the write
that follows), seals them afresh under the submission's own data keys, matches
the alert rules and builds every row and audit event. Then one write
transaction erases the draft if it is still as read, stores the submission with
its consent receipt, appends the audit events and raises the alerts: either
everything happened or nothing did. If the draft changed meanwhile (another tab
saved or sent it), the work is done once more from what is there now.
``record_submissions`` stores many that come without a draft (the benchmarks
seed through it) by the very same code, ``prepare`` and ``insert_prepared``.
"""

from __future__ import annotations

import json
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
from casefeedback.intake.drafts import ConsentGiven, DraftGone, erase_event, open_values
from casefeedback.intake.sending import DraftChanged, SealedDraft, erase_as_read, read_sealed
from casefeedback.policy.model import AlertRule, ServicePolicy
from casefeedback.services import Services
from casefeedback.storage.driver_rows import DriverRows, driver_rows, insert_rows
from casefeedback.storage.engine import read, write
from casefeedback.storage.ids import ordered_row_id
from casefeedback.storage.tables import answers, consent_receipts, data_keys, invitations, submissions

__all__ = ["AlreadySubmitted", "ConsentGiven", "ConsentMissing", "DraftChanged", "DraftGone", "InvitationUnusable",
           "Recorded", "Sent", "record_submission", "record_submissions", "seal_answers"]

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


Row = dict[str, object]


@dataclass(frozen=True)
class Prepared:
    """Everything some submissions write, ready before the write transaction: rows, audit events, rules met."""

    sent: Sequence[Sent]
    # Ready for the driver (storage.driver_rows): nothing is converted while the writer lock is held.
    submissions: DriverRows
    consents: DriverRows
    keys: DriverRows
    answers: DriverRows
    received: list[AuditEvent]
    met: list[list[AlertRule]]
    sharing: list[str]  # the submissions whose person agreed to share insight


@dataclass(frozen=True)
class _Send:
    draft: SealedDraft
    invitation_id: str | None  # to use up in the write; None for general feedback
    prepared: Prepared
    erased: AuditEvent


def record_submission(found: Services, policy: ServicePolicy, *, draft_id: str, language: str,
                      unlinked: bool = False) -> Recorded:
    """Send a draft: store its answers sealed, with their consent receipt; return the receipt code (shown once).

    ``unlinked``: the person chose to send it as general feedback, not tied to
    the case of the invitation they came with.
    """
    receipt_code = new_receipt_code()
    opened: list[AuditEvent] = []  # every open of the draft: audited whatever happens next
    try:
        ready = _ready(found, policy, draft_id, language, receipt_code, unlinked, opened)
        try:
            _write(found, policy, ready, opened)
        except DraftChanged:
            # Saved, changed or sent in another tab since it was read: once more, from what is there now.
            ready = _ready(found, policy, draft_id, language, receipt_code, unlinked, opened)
            _write(found, policy, ready, opened)
    except IntegrityError:
        _audit_opens(found, opened)
        raise AlreadySubmitted() from None
    except Exception:
        _audit_opens(found, opened)
        raise
    return Recorded(receipt_code, ready.prepared.met[0], ready.prepared.sent[0].case_id is not None)


def _write(found: Services, policy: ServicePolicy, ready: _Send, opened: Sequence[AuditEvent]) -> None:
    """The send's one short write transaction: only if the draft is as read, with every event in one append."""
    with write(found.engine) as connection:
        erase_as_read(connection, ready.draft)
        if ready.invitation_id is not None:
            use_invitation(connection, ready.invitation_id, ready.prepared.sent[0].submitted_at)
        insert_prepared(found, connection, policy, ready.prepared, [*opened, *ready.prepared.received, ready.erased])


def _ready(found: Services, policy: ServicePolicy, draft_id: str, language: str, receipt_code: str, unlinked: bool,
           opened: list[AuditEvent]) -> _Send:
    """Read the draft, open it and prepare all its send writes, with no write lock held; note the open."""
    now = found.clock()
    with read(found.engine) as connection:
        draft = read_sealed(connection, policy, draft_id, now)
        if draft is None:
            # Sending erases the draft, so a draft that is gone may have been sent already.
            if connection.execute(select(submissions.c.id).where(submissions.c.id == draft_id)).first():
                raise AlreadySubmitted()
            raise DraftGone()
        invitation_id = None if unlinked else draft.row.invitation_id
        case_id = case_of_invitation(connection, invitation_id, now) if invitation_id else None
    consent = ConsentGiven(draft.row.consent_version, draft.row.consent_language,
                           json.loads(draft.row.consent_choices))
    if not consented(policy, consent):
        raise ConsentMissing()
    values, event = open_values(found, policy, draft_id, draft.answers)
    if event is not None:
        opened.append(event)
    given = {qid: value for qid, value in values.items() if value is not None}  # a skipped question stores nothing
    sent = Sent(draft_id, given, consent, draft.row.consent_given_at, now, language, case_id)
    return _Send(draft, invitation_id, prepare(found, policy, [sent], [receipt_code]),
                 erase_event(draft_id, len(draft.answers), "sent"))


def _audit_opens(found: Services, opened: Sequence[AuditEvent]) -> None:
    """The draft was opened but nothing was sent: the opens are still recorded."""
    if opened:
        with write(found.engine) as connection:
            found.audit.append_many(connection, opened)


def record_submissions(found: Services, policy: ServicePolicy, sent: Sequence[Sent]) -> list[Recorded]:
    """Store submissions that come without a draft, all in one write transaction, each exactly as a send stores it.

    What the benchmarks seed through: thousands at a time, at the times they
    choose, with the same sealing, consent receipt, insight contributions,
    audit event and alerts as ``record_submission``.
    """
    if not sent:
        return []
    if not all(consented(policy, one.consent) for one in sent):
        raise ConsentMissing()
    codes = [new_receipt_code() for _ in sent]
    prepared = prepare(found, policy, sent, codes)
    try:
        with write(found.engine) as connection:
            insert_prepared(found, connection, policy, prepared, prepared.received)
    except IntegrityError:
        raise AlreadySubmitted() from None
    return [Recorded(code, rules, one.case_id is not None)
            for one, code, rules in zip(sent, codes, prepared.met, strict=True)]


def consented(policy: ServicePolicy, consent: ConsentGiven) -> bool:
    return all(consent.choices.get(choice) for choice in policy.consent.required)


def prepare(found: Services, policy: ServicePolicy, sent: Sequence[Sent], receipt_codes: Sequence[str]) -> Prepared:
    """Seal, hash and match with no lock held: every row and audit event the write will need."""
    lookup = found.config.secrets.lookup.value
    sealed = [seal_answers(found, policy, one.id, one.given, one.submitted_at) for one in sent]
    dialect = found.engine.dialect
    return Prepared(
        sent=sent,
        submissions=driver_rows(submissions, [{
            "id": one.id, "service_id": policy.id, "policy_version": policy.version, "case_id": one.case_id,
            "language": one.language, "submitted_at": one.submitted_at, "status": "active",
            "receipt_hash": lookup_hash(lookup, "receipt", code.replace("-", ""))}
            for one, code in zip(sent, receipt_codes, strict=True)], dialect),
        consents=driver_rows(consent_receipts, [{
            "id": ordered_row_id(), "submission_id": one.id, "consent_version": one.consent.version,
            "language": one.consent.language, "choices": json.dumps(dict(one.consent.choices), sort_keys=True),
            "given_at": one.consent_given_at, "withdrawn_at": None} for one in sent], dialect),
        keys=driver_rows(data_keys, [key for one_keys, _rows in sealed for key in one_keys], dialect),
        answers=driver_rows(answers, [row for _keys, rows in sealed for row in rows], dialect),
        received=[AuditEvent(
            action=Action.SUBMISSION_RECEIVE, outcome="stored", actor_role="service_user",
            object_type="submission", object_id=one.id,
            detail={"service": policy.id, "answered": len(one.given), "via_invitation": one.case_id is not None})
            for one in sent],
        met=[matching_rules(policy, one.given) for one in sent],
        sharing=[one.id for one in sent if one.consent.choices.get(SHARE_INSIGHT_CHOICE) is True],
    )


def insert_prepared(found: Services, connection: Connection, policy: ServicePolicy, prepared: Prepared,
            events: Sequence[AuditEvent]) -> None:
    """Write what ``prepare`` made in the caller's write transaction: one statement per table, one audit append."""
    for rows in (prepared.submissions, prepared.consents, prepared.keys, prepared.answers):
        insert_rows(connection, rows)  # none when nothing was answered: no statement
    found.audit.append_many(connection, events)
    # De-identified contributions now, for a person who agreed to share
    # insight, so trends are current and outlive the answers' retention.
    if prepared.sharing:  # else nothing to count: skip the queries
        aggregate = [c for c, declared in policy.classes.items() if declared.insight == "aggregate"]
        contribute_many(connection, found.audit, InsightSource(found.policies, found.keyring),
                        dict.fromkeys(prepared.sharing, aggregate))
    # Alerts are raised in this same transaction (an outbox), so a
    # submission and its alerts are stored together or not at all.
    for one, rules in zip(prepared.sent, prepared.met, strict=True):
        if rules:
            raise_alerts(found, connection, policy, rules, submission_id=one.id, case_id=one.case_id,
                         now=one.submitted_at)


def case_of_invitation(connection: Connection, invitation_id: str, now: datetime) -> str:
    """The case a still usable invitation is for; InvitationUnusable, before any work, if it is not."""
    case_id = connection.execute(select(invitations.c.case_id).where(
        invitations.c.id == invitation_id, invitations.c.uses_left > 0, invitations.c.revoked_at.is_(None),
        invitations.c.expires_at > now)).scalar()
    if case_id is None:
        raise InvitationUnusable()
    return str(case_id)


def use_invitation(connection: Connection, invitation_id: str, now: datetime) -> None:
    used = connection.execute(
        update(invitations)
        .where(invitations.c.id == invitation_id, invitations.c.uses_left > 0,
               invitations.c.revoked_at.is_(None), invitations.c.expires_at > now)
        .values(uses_left=invitations.c.uses_left - 1))
    if used.rowcount != 1:
        raise InvitationUnusable()


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
