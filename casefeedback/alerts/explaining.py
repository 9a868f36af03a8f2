"""One alert's page: why it was raised, what to do, whom to call, how long is left, and who has been told.

Everything a person needs to act is on the one page, because the alert is read
in a hurry: the rule's title and guidance, the question it watches with the
answer that raised it, whether the person agreed to be contacted, and the
escalation so far. The answer is content, so it is opened exactly as the case
page opens it (``reading.read_answers``: one access decision, one audit event
per field); the duty manager told of anonymous feedback reads it because the
class's ``read`` declares ``duty_manager``, a relation held without a case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, select

from casefeedback.alerts.inbox import AlertView, find_in, outcome_of
from casefeedback.alerts.listing import actor_of, rule_of
from casefeedback.alerts.timeline import Moment, timeline
from casefeedback.auth.sessions import StaffMember
from casefeedback.policy.model import PREFER_NOT_TO_SAY, AlertRule, Question, ServicePolicy, Text
from casefeedback.reading import WITHHELD, FieldView, read_answers
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.tables import consent_receipts, data_keys, submissions

CONTACT_CHOICE = "contact_me"
AnswerState = Literal["open", "withheld", "gone", "skipped", "unreadable"]


@dataclass(frozen=True)
class AnswerShown:
    question: str  # the question's words in English, the staff language
    state: AnswerState
    value: str | None = None  # the answer as staff read it, when "open"


@dataclass(frozen=True)
class Contact:
    agreed: bool | None  # None: nothing recorded
    said: str  # whether they agreed, in a sentence
    how: str  # how to reach them, as far as this service knows


@dataclass(frozen=True)
class AlertPage:
    alert: AlertView
    answers: list[AnswerShown]
    contact: Contact
    timeline: list[Moment]
    outcome_state: str
    outcome_text: str | None


def alert_page(found: Services, member: StaffMember, reference: str) -> AlertPage:
    """The alert, explained, for someone who may act on it (``inbox.NoSuchAlert`` for anyone else).

    One transaction: the answers opened and the audit events saying so commit together."""
    with write(found.engine) as connection:
        view = find_in(found, connection, member, reference)
        rule = rule_of(found, view.service_id, view.rule_id)
        shown = _answers(found, connection, member, view, rule)
        contact = _contact(connection, view)
        moments = timeline(connection, view)
        state, text = outcome_of(found, connection, member, view)
    return AlertPage(view, shown, contact, moments, state, text)


def watched_questions(rule: AlertRule | None) -> tuple[str, ...]:
    """The questions a rule looks at: the one it names, or those a score adds up."""
    if rule is None:
        return ()
    return (rule.when.question,) if rule.when.question else rule.when.score_questions


def _answers(found: Services, connection: Connection, member: StaffMember, view: AlertView,
             rule: AlertRule | None) -> list[AnswerShown]:
    policy = found.policies.service(view.service_id)
    asked = watched_questions(rule)
    if policy is None or not asked:
        return []
    opened = read_answers(found, connection, actor_of(member), view.submission_id, asked)
    held = _held_classes(connection, view.submission_id)
    return [_shown(policy, question_id, opened.get(question_id), held) for question_id in asked]


def _held_classes(connection: Connection, submission_id: str) -> set[str]:
    """The classes of this submission whose data key still exists: the rest were erased (or withdrawn)."""
    active = connection.execute(select(submissions.c.id).where(
        submissions.c.id == submission_id, submissions.c.status == "active")).first()
    if active is None:
        return set()
    return set(connection.execute(select(data_keys.c.field_class)
                                  .where(data_keys.c.submission_id == submission_id)).scalars())


def _shown(policy: ServicePolicy, question_id: str, field: FieldView | None, held: set[str]) -> AnswerShown:
    question = policy.question(question_id)
    words = _english(question.text, question_id) if question else "A question no longer in the policy"
    if field is None:
        # An answer row goes only with its class's data key; with the key still held it was never given.
        kept = question is not None and question.field_class in held
        return AnswerShown(words, "skipped" if kept else "gone")
    if field.state == WITHHELD:
        return AnswerShown(words, "withheld")
    if field.state != "open":
        return AnswerShown(words, "unreadable")
    return AnswerShown(words, "open", answer_words(question, field.value))


def answer_words(question: Question | None, value: str | list[str] | None) -> str:
    """An answer in the staff language: the option's English words, a rating out of its scale."""
    if value is None:
        return "Skipped"
    if isinstance(value, list):
        return ", ".join(answer_words(question, item) for item in value)
    if value == PREFER_NOT_TO_SAY:
        return "Prefer not to say"
    if question is None:
        return value
    if question.kind == "rating":
        return f"{value} out of {question.scale_max}"
    option = next((o for o in question.options if o.id == value), None)
    return _english(option.text, value) if option else value


def _english(text: Text, fallback: str) -> str:
    return text.get("en") or fallback


def _contact(connection: Connection, view: AlertView) -> Contact:
    """What the person said about being contacted. This service keeps no contact details of its own:
    for a case they are on the case file; anonymous feedback has none, and the person was told so."""
    row = connection.execute(select(consent_receipts.c.choices, consent_receipts.c.withdrawn_at).where(
        consent_receipts.c.submission_id == view.submission_id)).first()
    choices = json.loads(row.choices) if row is not None else {}
    agreed = choices.get(CONTACT_CHOICE) if isinstance(choices.get(CONTACT_CHOICE), bool) else None
    if row is not None and row.withdrawn_at is not None:
        said = "They have withdrawn this feedback."
    elif agreed is None:
        said = "They did not say whether they can be contacted."
    else:
        said = "They agreed to be contacted." if agreed else "They did not agree to be contacted about this feedback."
    if view.case_id is None:
        how = ("We do not know who they are: the feedback is anonymous. They were told we cannot contact them, "
               "and given helpline numbers.")
    else:
        how = f"Through their case, {view.case_reference}: use the contact details on the case file."
    return Contact(agreed, said, how)
