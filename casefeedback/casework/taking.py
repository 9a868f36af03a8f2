"""Taking feedback on a person's behalf (by phone, in person, from a paper form): what the staff pages ask for.

Who may do it is decided in ``policy/assisted.py`` (``may_take_feedback``); a
member of staff the policy does not name gets ``NotAllowed`` (a 403) from every
step. Storing goes through ``intake.whole.take_whole``, the one service every
channel uses, so the feedback is sealed, alerted on, kept and audited exactly
as if the person had sent it from the web form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, select

from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import CaseNotFound, NotAllowed, visible_case
from casefeedback.codes import lookup_hash, normalise_receipt_code
from casefeedback.intake.receipt_mail import send_receipt
from casefeedback.intake.whole import Given, Invalid, Taken, WholeConsent, WholeFeedback, take_whole
from casefeedback.policy.assisted import STAFF_CONSENT_METHODS, AssistedRules, Channel, may_take_feedback
from casefeedback.policy.consent_text import consent_script
from casefeedback.policy.model import ServicePolicy
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import staff, submission_channels, submissions

__all__ = ["HowItCame", "Invalid", "Setting", "how_it_came", "rules_for", "send_code", "setting", "take"]


@dataclass(frozen=True)
class Setting:
    """What the first step chose: the service, the channel, the person's language, and the case if any."""

    policy: ServicePolicy
    channel: Channel
    language: str
    case_id: str | None
    case_reference: str | None
    consent_text: str  # what to read out, in the person's language


def rules_for(found: Services, member: StaffMember) -> AssistedRules:
    """The organisation's rules for taking feedback; NotAllowed if the policy does not let this member take it."""
    rules = found.policies.organisation.assisted
    if not may_take_feedback(rules, member.role):
        raise NotAllowed()
    return rules


def setting(found: Services, member: StaffMember, *, service_id: str, channel_id: str, language: str,
            case_id: str | None) -> Setting:
    """The first step's choices, checked: Invalid naming each wrong field; CaseNotFound for a case not theirs."""
    rules = rules_for(found, member)
    errors: dict[str, str] = {}
    policy = found.policies.service(service_id)
    channel = rules.channel(channel_id)
    if policy is None:
        errors["service"] = "Choose a service."
    if channel is None or not channel.assisted:
        errors["channel"] = "Choose how the person is giving their feedback."
    if policy is not None and language not in policy.languages:
        errors["language"] = "Choose the language you are speaking with the person."
    reference = None
    if case_id:
        with read(found.engine) as connection:
            case = visible_case(connection, member, case_id, now=None)
        if case is None:
            raise CaseNotFound()
        if policy is not None and case.service_id != policy.id:
            errors["service"] = "This case is for another service."
        if case.status != "open":
            errors["service"] = "This case is closed, so it cannot take new feedback."
        reference = case.reference
    if errors or policy is None or channel is None:
        raise Invalid(errors)
    return Setting(policy, channel, language, case_id or None, reference, consent_script(policy, language))


def take(found: Services, member: StaffMember, chosen: Setting, *, choices: Mapping[str, bool], method: str,
         consent_version: int, answers: Mapping[str, Given]) -> Taken:
    """Store what the person said, under the consent they gave aloud or on paper; Invalid naming what is wrong."""
    if method not in STAFF_CONSENT_METHODS:
        raise Invalid({"consent.method": "Say how the person agreed: aloud, or on a signed paper form."})
    return take_whole(found, WholeFeedback(
        service_id=chosen.policy.id, language=chosen.language, answers=answers,
        consent=WholeConsent(choices, method, consent_version), channel=chosen.channel.id,
        recorded_by=member.id, case_id=chosen.case_id))


def send_code(found: Services, member: StaffMember, *, submission_id: str, receipt_code: str, email: str) -> bool:
    """Email the receipt code of feedback this member just took; NotAllowed for any other code or submission.

    The code comes back from the confirmation page (it is never stored): it must be
    the code of this submission, and the submission one this member recorded.
    """
    rules_for(found, member)
    code = normalise_receipt_code(receipt_code[:64])
    if code is None:
        raise NotAllowed()
    with read(found.engine) as connection:
        row = connection.execute(
            select(submissions.c.language, submissions.c.receipt_hash)
            .join(submission_channels, submission_channels.c.submission_id == submissions.c.id)
            .where(submissions.c.id == submission_id, submission_channels.c.recorded_by == member.id)).first()
    if row is None or row.receipt_hash != lookup_hash(found.config.secrets.lookup.value, "receipt", code):
        raise NotAllowed()
    return send_receipt(found, email, receipt_code, row.language, submission_id)


@dataclass(frozen=True)
class HowItCame:
    """How a feedback came, when not through the person's own web form: shown with it to staff."""

    channel: str
    consent_method: str  # verbal | written | channel | online
    recorded_by: str | None  # the name of the member of staff who took it
    api_client: str | None


def how_it_came(connection: Connection, submission_id: str) -> HowItCame | None:
    """None for feedback the person sent from the web form themselves."""
    row = connection.execute(
        select(submission_channels.c.channel, submission_channels.c.consent_method,
               submission_channels.c.api_client_id, staff.c.display_name)
        .outerjoin(staff, staff.c.id == submission_channels.c.recorded_by)
        .where(submission_channels.c.submission_id == submission_id)).first()
    if row is None:
        return None
    return HowItCame(row.channel, row.consent_method, row.display_name, row.api_client_id)
