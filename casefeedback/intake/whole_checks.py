"""Checking a whole feedback against the policy before anything is stored: every problem, each by its field.

``check`` reads (never writes) and collects every problem it finds, so a form
or an API client can show them all at once. The answers are held to exactly
what the web form allows (``drafts.valid_value``: the same questions, options
and limits; every question skippable).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from casefeedback.admin.addresses import BadEmail, email_address
from casefeedback.intake.drafts import Answer, valid_value
from casefeedback.intake.submissions import InvitationUnusable, case_of_invitation
from casefeedback.policy.assisted import CONSENT_METHODS, STAFF_CONSENT_METHODS, may_take_feedback
from casefeedback.policy.consent_text import consent_script
from casefeedback.policy.model import Question, ServicePolicy
from casefeedback.policy.relations import may_see_case
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import cases, staff

if TYPE_CHECKING:
    from casefeedback.intake.whole import WholeFeedback

__all__ = ["Checked", "Invalid", "check"]



class Invalid(Exception):
    """The feedback is outside the policy; ``errors`` says, field by field, what to put right."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = dict(errors)
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.errors.items()))


@dataclass(frozen=True)
class Checked:
    policy: ServicePolicy
    given: Mapping[str, Answer]  # answered questions only: a skipped one stores nothing
    choices: Mapping[str, bool]  # every choice of the policy, True or False
    consent_text: str  # exactly what was read out or shown, from the policy, in the language used
    case_id: str | None
    invitation_id: str | None
    recorder_role: str | None
    contact: str | None


@dataclass(frozen=True)
class _Recorder:
    id: str
    role: str
    team_id: str | None


def check(found: Services, feedback: WholeFeedback) -> Checked:
    """Everything ``take_whole`` needs, checked; ``Invalid`` naming every field that is wrong."""
    errors: dict[str, str] = {}
    policy = found.policies.service(feedback.service_id)
    if policy is None:
        raise Invalid({"service_id": "There is no such service."})
    if feedback.language not in policy.languages:
        errors["language"] = f"This service is offered in {', '.join(policy.languages)} only."
    rules = found.policies.organisation.assisted
    channel = rules.channel(feedback.channel)
    if channel is None:
        errors["channel"] = "Choose one of the channels the policy declares."
    method = feedback.consent.method
    if method not in CONSENT_METHODS:
        errors["consent.method"] = f"Say how consent was given: one of {', '.join(CONSENT_METHODS)}."
    elif feedback.recorded_by is not None and method not in STAFF_CONSENT_METHODS:
        errors["consent.method"] = "Consent taken by a member of staff is given aloud or on paper."
    with read(found.engine) as connection:
        recorder = _recorder(connection, feedback.recorded_by, errors)
        if recorder is not None and not may_take_feedback(rules, recorder.role):
            errors["recorded_by"] = "The policy does not let this role take feedback on someone's behalf."
        if recorder is not None and channel is not None and not channel.assisted:
            errors["channel"] = "Feedback taken on someone's behalf comes by phone, in person or on paper."
        if recorder is None and feedback.recorded_by is None and feedback.api_client is None:
            errors["recorded_by"] = "Say who took this feedback, or which client passed it on."
        case_id = _case(connection, policy, feedback, recorder, found, errors)
    if feedback.consent.version != policy.consent.version:
        errors["consent.version"] = ("The consent text has changed since this was shown or read out: "
                                     "read the current one and ask again.")
    choices = _choices(policy, feedback.consent.choices, errors)
    given = _answers(policy, feedback.answers, errors)
    contact = _contact(feedback.contact, errors)
    if errors:
        raise Invalid(errors)
    return Checked(policy, given, choices, consent_script(policy, feedback.language), case_id,
                   feedback.invitation_id, recorder.role if recorder else None, contact)


def _recorder(connection: Connection, staff_id: str | None, errors: dict[str, str]) -> _Recorder | None:
    if staff_id is None:
        return None
    row = connection.execute(select(staff.c.id, staff.c.role, staff.c.team_id, staff.c.enabled)
                             .where(staff.c.id == staff_id)).first()
    if row is None or not row.enabled:
        errors["recorded_by"] = "No such member of staff, or their account is disabled."
        return None
    return _Recorder(row.id, row.role, row.team_id)


def _case(connection: Connection, policy: ServicePolicy, feedback: WholeFeedback, recorder: _Recorder | None,
          found: Services, errors: dict[str, str]) -> str | None:
    """The case to link to, if any: an open case of this service the recorder may see, or a usable invitation's."""
    if feedback.case_id is not None and feedback.invitation_id is not None:
        errors["case_id"] = "Link it to a case or to an invitation, not both."
        return None
    case_id = feedback.case_id
    if feedback.invitation_id is not None:
        try:
            case_id = case_of_invitation(connection, feedback.invitation_id, found.clock())
        except InvitationUnusable:
            errors["invitation_id"] = "That invitation has expired, was revoked or has been used."
            return None
    if case_id is None:
        return None
    row = connection.execute(select(cases).where(cases.c.id == case_id)).first()
    field_name = "invitation_id" if feedback.invitation_id is not None else "case_id"
    # The same answer whether the case does not exist or is not the recorder's: ids cannot be probed.
    if row is None or (recorder is not None and not may_see_case(recorder, row)):
        errors[field_name] = "No such case among yours."
    elif row.service_id != policy.id:
        errors[field_name] = "That case is for another service."
    elif row.status != "open":
        errors[field_name] = "That case is closed."
    return str(case_id)


def _choices(policy: ServicePolicy, given: Mapping[str, bool], errors: dict[str, str]) -> dict[str, bool]:
    known = {choice.id for choice in policy.consent.choices}
    for choice_id, value in given.items():
        if choice_id not in known:
            errors[f"consent.choices.{choice_id}"] = "The consent text has no such choice."
        elif not isinstance(value, bool):
            errors[f"consent.choices.{choice_id}"] = "Record the person's answer as yes or no."
    for choice_id in policy.consent.required:
        if given.get(choice_id) is not True and f"consent.choices.{choice_id}" not in errors:
            # Invariant 4: nothing is stored before consent.
            errors[f"consent.choices.{choice_id}"] = ("Without the person's agreement to this, their feedback "
                                                      "cannot be kept.")
    return {choice.id: given.get(choice.id) is True for choice in policy.consent.choices}


def _answers(policy: ServicePolicy, answers: Mapping[str, object], errors: dict[str, str]) -> dict[str, Answer]:
    given: dict[str, Answer] = {}
    for question_id, raw in answers.items():
        question = policy.question(question_id)
        if question is None:
            errors[f"answers.{question_id}"] = "This service asks no such question."
            continue
        value = _normalised(raw)
        if value is None:
            continue  # skipped: every question may be
        problem = _problem(question, value)
        if problem or not isinstance(value, str | list):
            errors[f"answers.{question_id}"] = problem or "Give this answer as text or a choice."
        else:
            given[question_id] = value  # valid_value has checked its shape
    return given


def _normalised(raw: object) -> object:
    """As the web form reads a post: text trimmed with newlines made plain, an empty answer a skip."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)  # a rating sent as a number
    if isinstance(raw, str):
        raw = raw.strip().replace("\r\n", "\n")
    return raw or None


def _problem(question: Question, value: object) -> str | None:
    if valid_value(question, value):
        return None
    if question.kind == "text":
        if isinstance(value, str) and len(value) > question.max_length:
            return (f"This answer is {len(value) - question.max_length} characters too long: "
                    f"the most is {question.max_length}.")
        return "Give this answer as text."
    if question.kind == "multi_choice":
        return f"Choose one or more of: {', '.join(question.option_ids())} (prefer_not_to_say on its own)."
    return f"Choose one of: {', '.join(question.option_ids())}."


def _contact(contact: str | None, errors: dict[str, str]) -> str | None:
    text = (contact or "").strip()
    if not text:
        return None
    try:
        # The strict check staff addresses get: no second address or header can ride in on it.
        return email_address(text)
    except BadEmail:
        errors["contact"] = "Enter an email address like name@example.com, or leave it empty."
        return None
