"""Replies: a caseworker writes back to the person who gave a piece of feedback, sealed like an answer.

The reply is sealed under the submission's data key for the reply class
(``[classes.reply]`` in the service policy), created with the first reply and
kept in ``data_keys`` like any class's key: withdrawal and retention destroy it
exactly as they destroy answers, and every reply it sealed is gone with it.
Who may write one is decided in ``policy/replies.py``; who may read one is the
one access decision, on the reply class (``reading.read_replies``).

If the person agreed to be contacted and the feedback is on a case, the people
who hold the case's contact details (its caseworker and deputy) are told that
a reply is waiting, so that they can tell the person "there is a reply to your
feedback" — never what it says. This service keeps no contact details of its
own (see ``alerts/explaining.py``): the case file is the one contact path. The
email that carries the notice names neither the case nor the person.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from casefeedback.alerts.channels import DeliveryFailed, send_plain_email
from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import NotAllowed
from casefeedback.casework.notifications import notify
from casefeedback.crypto.envelope import SubmissionSealer, WrappedDataKey, seal_under
from casefeedback.policy.decisions import Actor
from casefeedback.policy.model import REPLY_CLASS, ServicePolicy
from casefeedback.policy.relations import relations
from casefeedback.policy.replies import may_write_reply
from casefeedback.reading import NotFound, case_facts
from casefeedback.retention.schedule import Events, is_due
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.tables import cases, consent_receipts, data_keys, feedback_replies, staff, submissions

log = logging.getLogger(__name__)

MAX_LENGTH = 2000
TABLE = "feedback_replies"
FIELD = "reply"
CONTACT_CHOICE = "contact_me"
NOTICE_KIND = "reply_waiting"


class ReplyRefused(Exception):
    """The reply cannot be stored as asked; the message says why, in words for the member of staff."""


@dataclass(frozen=True)
class Written:
    stored: bool  # False: this very form was sent before, and the reply is kept once
    contact_agreed: bool = False
    told: tuple[str, ...] = ()  # staff ids told to pass the word on
    emailed: int = 0
    # The writer holds the contact details themselves: the page asks them to tell the person.
    writer_tells: bool = False
    emails: list[str] = field(default_factory=list, repr=False)


def write_reply(found: Services, member: StaffMember, submission_id: str, *, text: str, language: str,
                nonce: str) -> Written:
    """Seal and store a reply, audit it, and tell the case team if the person agreed to be contacted.

    ``reading.NotFound`` if the member may not know the feedback exists (the same as for no such feedback),
    ``NotAllowed`` if they may see it but not reply, ``ReplyRefused`` with a reason otherwise.
    """
    now = found.clock()
    reply_id = str(uuid.uuid4())
    with write(found.engine) as connection:
        sub = connection.execute(select(submissions).where(submissions.c.id == submission_id,
                                                           submissions.c.status == "active")).first()
        policy = found.policies.service(sub.service_id) if sub else None
        if sub is None or policy is None:
            raise NotFound()
        facts = case_facts(connection, sub.case_id, Actor(member.id, member.role, member.team_id), found=found)
        if not relations(member, facts) and (facts is None or facts.break_glass is None):
            raise NotFound()
        if not may_write_reply(policy, member, facts):
            raise NotAllowed()
        if language not in policy.languages:
            raise ReplyRefused("Choose one of the languages this service offers.")
        if _past_keeping(connection, policy, sub, now):
            raise ReplyRefused("This feedback's replies are past the time the policy keeps them, so a reply "
                               "would be erased straight away. Contact the person another way.")
        if connection.execute(select(feedback_replies.c.id)
                              .where(feedback_replies.c.form_nonce == nonce)).first() is not None:
            return Written(stored=False)
        store_reply(found, connection, reply_id=reply_id, submission_id=submission_id, written_by=member.id,
                    text=text, language=language, nonce=nonce, now=now)
        found.audit.append(connection, AuditEvent(
            action=Action.REPLY_WRITE, outcome="stored", actor_id=member.id, actor_role=member.role,
            object_type="submission", object_id=submission_id, field_class=REPLY_CLASS, purpose="casework",
            detail={"reply": reply_id, "language": language}))
        written = _tell_case_team(found, connection, member, sub, now)
    _email(found, written.emails)
    return written


def store_reply(found: Services, connection: Connection, *, reply_id: str, submission_id: str, written_by: str,
                text: str, language: str, nonce: str, now: datetime) -> None:
    """Seal and store one reply in the caller's transaction (the caller has decided it may be written)."""
    key_id, ciphertext = _seal(found, connection, submission_id, reply_id, text, now)
    connection.execute(insert(feedback_replies).values(
        id=reply_id, submission_id=submission_id, field_class=REPLY_CLASS, data_key_id=key_id,
        language=language, written_by=written_by, written_at=now, form_nonce=nonce, ciphertext=ciphertext))


def _seal(found: Services, connection: Connection, submission_id: str, reply_id: str, text: str,
          now: datetime) -> tuple[str, bytes]:
    """Seal under the submission's reply key, making (and storing, wrapped) that key with the first reply.

    Returns (data key id, ciphertext)."""
    row = connection.execute(select(data_keys).where(data_keys.c.submission_id == submission_id,
                                                     data_keys.c.field_class == REPLY_CLASS)).first()
    if row is not None:
        key = WrappedDataKey(row.id, submission_id, REPLY_CLASS, row.kek_id, row.wrapped)
        sealed = seal_under(found.keyring, key, table=TABLE, row_id=reply_id, field_id=FIELD, plaintext=text)
        return key.id, sealed.ciphertext
    sealer = SubmissionSealer(found.keyring, submission_id)
    sealed = sealer.seal(table=TABLE, row_id=reply_id, field_id=FIELD, field_class=REPLY_CLASS, plaintext=text)
    (new_key,) = sealer.wrapped_keys()
    connection.execute(insert(data_keys).values(id=new_key.id, submission_id=submission_id, field_class=REPLY_CLASS,
                                                kek_id=new_key.kek_id, wrapped=new_key.wrapped, created_at=now))
    return new_key.id, sealed.ciphertext


def _past_keeping(connection: Connection, policy: ServicePolicy, sub: Any, now: datetime) -> bool:
    """Whether the reply class of this submission is already due for erasure (the purge would take it at once)."""
    closed_at = None
    if sub.case_id is not None:
        closed_at = connection.execute(select(cases.c.closed_at).where(cases.c.id == sub.case_id)).scalar()
    return is_due(policy.classes[REPLY_CLASS].retention, Events(sub.submitted_at, sub.case_id is not None,
                                                                closed_at, None), now)


def _tell_case_team(found: Services, connection: Connection, member: StaffMember, sub: Any,
                    now: datetime) -> Written:
    """If the person agreed to be contacted, ask whoever holds their contact details to tell them; no content."""
    choices_text = connection.execute(select(consent_receipts.c.choices)
                                      .where(consent_receipts.c.submission_id == sub.id)).scalar()
    agreed = bool(json.loads(choices_text or "{}").get(CONTACT_CHOICE))
    if not agreed or sub.case_id is None:
        # Anonymous feedback has no contact path at all: the person sees the reply when they next open
        # their receipt, as the receipt page tells everyone who gives feedback.
        return Written(stored=True, contact_agreed=agreed)
    case = connection.execute(select(cases.c.reference, cases.c.owner_id, cases.c.deputy_id)
                              .where(cases.c.id == sub.case_id)).one()
    holders = [i for i in (case.owner_id, case.deputy_id) if i is not None]
    others = [i for i in holders if i != member.id]
    message = (f"There is a reply waiting for the person who gave feedback on case {case.reference}, and they "
               "agreed to be contacted. Using the contact details on the case file, tell them only that there is "
               "a reply to their feedback, which they can read with their receipt code. Do not read it out or "
               "send it on.")
    for staff_id in others:
        notify(connection, recipient_id=staff_id, kind=NOTICE_KIND, message=message, now=now,
               case_id=sub.case_id, subject_id=sub.id)
    emails = [] if not found.config.smtp_host or not others else list(connection.execute(
        select(staff.c.email).where(staff.c.id.in_(others), staff.c.enabled.is_(True),
                                    staff.c.email.is_not(None))).scalars())
    found.audit.append(connection, AuditEvent(
        action=Action.REPLY_NOTICE, outcome="asked", actor_id=member.id, actor_role=member.role,
        object_type="submission", object_id=sub.id,
        detail={"told": len(others), "emails": len(emails), "writer_tells": member.id in holders}))
    return Written(stored=True, contact_agreed=True, told=tuple(others), emailed=len(emails),
                   writer_tells=member.id in holders, emails=emails)


NOTICE_SUBJECT = "A reply is waiting to be passed on"


def notice_body(link: str) -> str:
    """The email: that a reply is waiting, and where to sign in. No case, no person, no words of the reply."""
    return ("A reply has been written to feedback on one of your cases, and the person agreed to be contacted.\n\n"
            f"Sign in to see which case:\n{link}\n\n"
            "Then, using the contact details on the case file, tell them only that there is a reply to their "
            "feedback, which they can read with their receipt code.\n")


def _email(found: Services, addresses: list[str]) -> None:
    """Send each notice after the reply is committed; a failure is logged by kind, and the in-app notice stays."""
    link = f"{found.config.public_url}/casework/notifications"
    for address in addresses:
        try:
            send_plain_email(found.config, address, NOTICE_SUBJECT, notice_body(link))
        except DeliveryFailed as error:
            log.warning("a reply notice could not be emailed (%s); the notice is on the notifications page",
                        error.kind)
