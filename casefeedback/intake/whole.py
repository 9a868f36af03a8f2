"""Taking a whole feedback at once, whatever way it came: the channel-neutral intake service.

The web form builds a submission answer by answer in a draft. Feedback taken
by phone, in person or from a paper form (a member of staff recording it on the
person's behalf), or arriving whole from a kiosk, an SMS gateway or a partner's
form through the API, has no draft: it comes as one ``WholeFeedback``, and
``take_whole`` stores it exactly as a web send stores its draft — the same
policy questions and limits, the same sealing under fresh data keys, the same
consent receipt, alert rules, insight contributions, retention and audit
events — through the send's own pieces (``submissions.prepare`` and
``insert_prepared``) in one short write transaction. Besides, it records how
the feedback came (``submission_channels``): the channel, how consent was
given, the exact consent text read out or shown, who recorded it.

Usage (a view or the API)::

    taken = take_whole(services(), WholeFeedback(
        service_id="victim-support", language="cy", answers={"treated": "4", "anything_else": "..."},
        consent=WholeConsent(choices={"store": True}, method="verbal", version=1),
        channel="phone", recorded_by=member.id))
    taken.receipt_code  # read it out; shown once, never stored

Anything outside the policy raises ``Invalid`` with ``errors``: {field: message},
the field named as in ``WholeFeedback`` (``"answers.treated"``,
``"consent.choices.store"``, ``"channel"``...). Nothing is stored before consent
and nothing is half-written: either the submission, its consent, answers,
channel record, alerts and audit events are all stored, or none is.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy.exc import IntegrityError

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.codes import new_receipt_code
from casefeedback.intake.drafts import ConsentGiven
from casefeedback.intake.receipt_mail import send_receipt
from casefeedback.intake.submissions import AlreadySubmitted, Sent, insert_prepared, prepare, use_invitation
from casefeedback.intake.whole_checks import Checked, Invalid, check
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.tables import submission_channels

__all__ = ["Invalid", "Taken", "WholeConsent", "WholeFeedback", "take_whole"]

Given = str | list[str] | None  # an answer as it arrives: None or "" is a skipped question


@dataclass(frozen=True)
class WholeConsent:
    """What the person agreed to, and how.

    ``choices``: the policy's consent choices, each True or False ("store" must be True).
    ``method``: "online" (ticked by the person on a form we served), "verbal" (read out
    by staff and answered aloud), "written" (signed on a paper form) or "channel" (a
    kiosk, SMS or partner form whose own record of consent the client vouches for).
    ``version``: the policy's ``[consent] version`` that was shown or read out, in
    ``WholeFeedback.language``; if the policy has moved on, it is refused.
    """

    choices: Mapping[str, bool]
    method: str
    version: int


@dataclass(frozen=True)
class WholeFeedback:
    """One person's whole feedback, as it came through a channel.

    ``answers``: question id -> answer (text, an option id, a rating as a string, or a
    list of option ids); a question left out, None or "" is skipped.
    ``channel``: a channel id declared in organisation.toml ``[[channels]]``.
    ``recorded_by``: the member of staff who took it on the person's behalf (a role the
    policy lets take feedback, on a staff-assisted channel), or None.
    ``api_client``: the API client it came through, or None.
    ``case_id`` / ``invitation_id``: link it to a case (one the recorder may see) or
    through an invitation (used up as on the web); at most one of the two.
    ``contact``: an email address to send the receipt code to; used once, never stored.
    """

    service_id: str
    language: str
    answers: Mapping[str, Given]
    consent: WholeConsent
    channel: str
    recorded_by: str | None = None
    api_client: str | None = None
    case_id: str | None = None
    invitation_id: str | None = None
    contact: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Taken:
    receipt_code: str = field(repr=False)  # read out or shown once; never stored
    submission_id: str
    alerts: int  # how many alert rules the answers met (raised for staff)
    alert_rules: tuple[str, ...]  # their ids, for signposting the person now
    linked_to_case: bool
    receipt_sent: bool | None  # None: no contact given; False: the email could not be sent


def take_whole(services: Services, feedback: WholeFeedback) -> Taken:
    """Validate against the policy, then store sealed in one short write transaction; return the receipt code.

    Raises ``Invalid`` (nothing written) for anything the policy does not allow,
    ``AlreadySubmitted`` on a replay, and ``InvitationUnusable`` if the invitation
    ran out between the check and the write.
    """
    checked = check(services, feedback)
    policy = checked.policy
    submission_id, receipt_code, now = str(uuid.uuid4()), new_receipt_code(), services.clock()
    consent = ConsentGiven(feedback.consent.version, feedback.language, dict(checked.choices))
    sent = Sent(submission_id, checked.given, consent, now, now, feedback.language, checked.case_id)
    # Sealing and matching outside any write transaction, as the web send does.
    prepared = prepare(services, policy, [sent], [receipt_code])
    events = [_received(event, feedback) for event in prepared.received]
    events.append(_taken_event(checked, feedback, submission_id))
    try:
        with write(services.engine) as connection:
            if checked.invitation_id is not None:
                use_invitation(connection, checked.invitation_id, now)
            insert_prepared(services, connection, policy, prepared, events)
            connection.execute(submission_channels.insert().values(
                submission_id=submission_id, channel=feedback.channel, consent_method=feedback.consent.method,
                consent_text=checked.consent_text, recorded_by=feedback.recorded_by,
                api_client_id=feedback.api_client))
    except IntegrityError:
        raise AlreadySubmitted() from None
    met = prepared.met[0]
    sent_receipt = None
    if checked.contact is not None:
        sent_receipt = send_receipt(services, checked.contact, receipt_code, feedback.language, submission_id)
    return Taken(receipt_code, submission_id, len(met), tuple(rule.id for rule in met),
                 checked.case_id is not None, sent_receipt)


def _received(event: AuditEvent, feedback: WholeFeedback) -> AuditEvent:
    """The send's own "received" event, saying which channel and how consent was given."""
    return replace(event, detail={**event.detail, "channel": feedback.channel,
                                  "consent": feedback.consent.method})


def _taken_event(checked: Checked, feedback: WholeFeedback, submission_id: str) -> AuditEvent:
    """Who took it on the person's behalf (or which API client passed it on), by what channel."""
    actor_id: str | None = feedback.recorded_by or feedback.api_client
    actor_role: str | None = checked.recorder_role
    if feedback.recorded_by is None:
        actor_role = "api_client" if feedback.api_client else "service_user"
    return AuditEvent(action=Action.SUBMISSION_TAKE, outcome="stored", actor_id=actor_id, actor_role=actor_role,
                      object_type="submission", object_id=submission_id,
                      detail={"service": checked.policy.id, "channel": feedback.channel,
                              "consent": feedback.consent.method, "language": feedback.language,
                              "consent_version": feedback.consent.version, "answered": len(checked.given),
                              "case": checked.case_id, "api_client": feedback.api_client})
