"""What a receipt code lets its holder do — check it, see the record, add to it — each in one transaction and audited.

The code resolves to one submission (its "root"). Anything the person adds
later is stored as a new submission, sealed under fresh data keys like any
answer, and linked to the root in ``submission_additions``. An addition has no
code of its own; the link, checked here on the server, is what makes it theirs.

Nothing here opens a sealed field: reading goes through
``reading.read_submission`` (purpose ``own_record``), which decides and
audits each field. Changing or withdrawing consent is ``receipts/consent.py``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, exists, insert, select
from sqlalchemy.exc import IntegrityError

from casefeedback.alerts.raising import raise_alerts
from casefeedback.alerts.rules import matching_rules
from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.codes import lookup_hash, new_receipt_code, normalise_receipt_code
from casefeedback.intake.submissions import seal_answers
from casefeedback.policy.decisions import Actor
from casefeedback.policy.model import AlertRule, ServicePolicy
from casefeedback.reading import ReplyView, SubmissionView, read_replies, read_submission
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import (
    answers,
    consent_receipts,
    data_keys,
    submission_additions,
    submissions,
)

HOLDER = Actor(id="receipt-holder", role="receipt_holder")
CONTACT_CHOICE = "contact_me"


class Withdrawn(Exception):
    """The feedback was withdrawn: there is nothing left to see, add to or change."""


class NothingToAdd(Exception):
    """The person sent the "add more" form with every box empty."""


class AlreadyAdded(Exception):
    """This exact addition was already stored (a double click, or Back and send again)."""


@dataclass(frozen=True)
class CodeCheck:
    outcome: Literal["malformed", "unknown", "withdrawn", "active"]
    submission_id: str | None = None
    service_id: str | None = None
    withdrawn_at: datetime | None = None


@dataclass(frozen=True)
class ConsentState:
    version: int
    language: str
    given_at: datetime
    choices: Mapping[str, bool]


@dataclass(frozen=True)
class OwnRecord:
    policy: ServicePolicy
    submission: SubmissionView
    additions: list[SubmissionView]
    consent: ConsentState
    # Replies from staff to the feedback and to each addition, oldest first; each open decided and audited.
    replies: list[ReplyView] = field(default_factory=list)


def check_code(found: Services, typed: str) -> CodeCheck:
    """Resolve what a person typed to their submission. Audits every code that resolves; never logs a code."""
    code = normalise_receipt_code(typed)
    if code is None:
        return CodeCheck("malformed")
    digest = lookup_hash(found.config.secrets.lookup.value, "receipt", code)
    is_addition = exists().where(submission_additions.c.submission_id == submissions.c.id)
    with write(found.engine) as connection:
        row = connection.execute(
            select(submissions.c.id, submissions.c.service_id, submissions.c.status, consent_receipts.c.withdrawn_at)
            .join(consent_receipts, consent_receipts.c.submission_id == submissions.c.id, isouter=True)
            .where(submissions.c.receipt_hash == digest, ~is_addition)).first()
        if row is None:
            return CodeCheck("unknown")
        outcome: Literal["withdrawn", "active"] = "active" if row.status == "active" else "withdrawn"
        found.audit.append(connection, AuditEvent(
            action=Action.RECEIPT_VERIFY, outcome=outcome, actor_id=HOLDER.id, actor_role=HOLDER.role,
            object_type="submission", object_id=row.id))
    return CodeCheck(outcome, row.id, row.service_id, row.withdrawn_at)


def status_of(connection: Connection, submission_id: str) -> str | None:
    found: str | None = connection.execute(
        select(submissions.c.status).where(submissions.c.id == submission_id)).scalar()
    return found


@dataclass(frozen=True)
class RecordStatus:
    service_id: str
    active: bool
    withdrawn_at: datetime | None = None


def record_status(found: Services, root_id: str) -> RecordStatus | None:
    """Whether this feedback is still held (and if not, when it was withdrawn); None if there is no such thing."""
    with read(found.engine) as connection:
        row = connection.execute(
            select(submissions.c.service_id, submissions.c.status, consent_receipts.c.withdrawn_at)
            .join(consent_receipts, consent_receipts.c.submission_id == submissions.c.id, isouter=True)
            .where(submissions.c.id == root_id)).first()
    if row is None:
        return None
    return RecordStatus(row.service_id, row.status == "active", row.withdrawn_at)


def additions_of(connection: Connection, root_id: str) -> list[str]:
    return list(connection.execute(
        select(submission_additions.c.submission_id).where(submission_additions.c.parent_id == root_id)
        .order_by(submission_additions.c.added_at, submission_additions.c.submission_id)).scalars())


def consent_of(connection: Connection, submission_id: str) -> ConsentState:
    row = connection.execute(select(consent_receipts)
                             .where(consent_receipts.c.submission_id == submission_id)).one()
    return ConsentState(row.consent_version, row.language, row.given_at, json.loads(row.choices))


@dataclass(frozen=True)
class Summary:
    """What a page needs to know about the feedback without opening a single answer."""

    submitted_at: datetime
    additions: int
    consent: ConsentState


def summary(found: Services, root_id: str) -> Summary:
    """Dates, counts and consent only: pages that need no answers open none (and so audit none)."""
    with read(found.engine) as connection:
        row = connection.execute(select(submissions.c.status, submissions.c.submitted_at)
                                 .where(submissions.c.id == root_id)).first()
        if row is None or row.status != "active":
            raise Withdrawn()
        return Summary(row.submitted_at, len(additions_of(connection, root_id)), consent_of(connection, root_id))


def own_record(found: Services, root_id: str) -> OwnRecord:
    """Everything the person gave, opened field by field through the reading service (each open audited)."""
    with read(found.engine) as connection:
        if status_of(connection, root_id) != "active":
            raise Withdrawn()
        addition_ids = additions_of(connection, root_id)
        consent = consent_of(connection, root_id)
    view = read_submission(found, HOLDER, root_id, "own_record", receipt_submission_id=root_id)
    policy = found.policies.service(view.service_id)
    if policy is None:
        raise Withdrawn()  # the service is no longer offered: nothing can be shown against it
    # Each addition is proven theirs by its link to the root, which their code resolved to.
    added = [read_submission(found, HOLDER, addition_id, "own_record", receipt_submission_id=addition_id)
             for addition_id in addition_ids]
    replies = [reply for part in [root_id, *addition_ids]
               for reply in read_replies(found, HOLDER, part, "own_record", receipt_submission_id=part)]
    return OwnRecord(policy, view, added, consent, sorted(replies, key=lambda r: (r.written_at, r.id)))


@dataclass(frozen=True)
class Added:
    alerts: list[AlertRule]  # the rules the addition met, exactly as for a first submission
    linked_to_case: bool


def record_addition(found: Services, policy: ServicePolicy, *, root_id: str, addition_id: str,
                    given: Mapping[str, str], language: str) -> Added:
    """Store more answers as a new submission linked to the root, in one transaction.

    Sealed exactly as intake seals answers (a data key per class, AAD binding
    each ciphertext to its row). It inherits the root's case (so the named
    caseworker sees it) and its consent. The receipt hash is of a fresh code that
    nobody is ever shown: the column must be unique, and no code should open
    an addition on its own.
    """
    texts = {qid: value for qid, value in given.items() if value.strip()}
    if not texts:
        raise NothingToAdd()
    now = found.clock()
    keys, rows = seal_answers(found, policy, addition_id, texts, now)
    unseen = lookup_hash(found.config.secrets.lookup.value, "receipt", new_receipt_code().replace("-", ""))
    try:
        with write(found.engine) as connection:
            root = connection.execute(select(submissions).where(submissions.c.id == root_id)).first()
            if root is None or root.status != "active":
                raise Withdrawn()
            consent = consent_of(connection, root_id)
            connection.execute(insert(submissions).values(
                id=addition_id, service_id=policy.id, policy_version=policy.version, case_id=root.case_id,
                language=language, submitted_at=now, receipt_hash=unseen, status="active"))
            connection.execute(insert(consent_receipts).values(
                id=str(uuid.uuid4()), submission_id=addition_id, consent_version=consent.version,
                language=consent.language, choices=json.dumps(dict(consent.choices), sort_keys=True),
                given_at=now, withdrawn_at=None))
            connection.execute(data_keys.insert(), keys)
            connection.execute(answers.insert(), rows)
            connection.execute(insert(submission_additions).values(
                submission_id=addition_id, parent_id=root_id, added_at=now))
            found.audit.append(connection, AuditEvent(
                action=Action.SUBMISSION_ADD, outcome="stored", actor_id=HOLDER.id, actor_role=HOLDER.role,
                object_type="submission", object_id=addition_id,
                detail={"parent": root_id, "answered": len(rows)}))
            # An addition can say "I don't feel safe" as surely as the first answers can: the same
            # rules are checked, and alerts are raised in this same transaction, so the addition and
            # its alerts are stored together or not at all.
            met = matching_rules(policy, texts)
            raise_alerts(found, connection, policy, met, submission_id=addition_id, case_id=root.case_id, now=now)
    except IntegrityError:
        raise AlreadyAdded() from None
    return Added(met, root.case_id is not None)
