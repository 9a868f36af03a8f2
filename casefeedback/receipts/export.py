"""The person's own record as plain values: for their pages, and as the JSON they can download.

The JSON format is documented in README.md ("Your own record: the download").
Its ``format`` and ``version`` keys say which shape it has; a change of shape
raises ``version``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from casefeedback.policy.model import PREFER_NOT_TO_SAY, Question, ServicePolicy
from casefeedback.reading import UNREADABLE, FieldView, SubmissionView
from casefeedback.receipts.forms import text_in
from casefeedback.receipts.service import OwnRecord

FORMAT = "casefeedback.own-record"
# 2: ``replies`` added (what staff wrote back to the person).
VERSION = 2
PREFER_NOT_TO_SAY_TEXT = {"en": "Prefer not to say", "cy": "Mae'n well gennyf beidio â dweud"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _one(question: Question | None, value: str, language: str) -> str:
    if value == PREFER_NOT_TO_SAY:
        return text_in(PREFER_NOT_TO_SAY_TEXT, language)
    for option in question.options if question else ():
        if option.id == value:
            return text_in(option.text, language)
    return value


def answer_text(field: FieldView, language: str) -> str:
    """The answer as the person would say it: option texts, not ids."""
    if field.value is None:
        return ""
    if isinstance(field.value, list):
        return ", ".join(_one(field.question, v, language) for v in field.value)
    return _one(field.question, str(field.value), language)


def _answer(policy: ServicePolicy, field: FieldView, language: str) -> dict[str, Any]:
    declared = policy.classes.get(field.field_class)
    return {
        "question_id": field.question_id,
        "question": text_in(field.question.text, language) if field.question else field.question_id,
        "kind": field.question.kind if field.question else None,
        "kept_as": text_in(declared.description, language) if declared else field.field_class,
        "state": "unreadable" if field.state == UNREADABLE else "open",
        "answer": field.value,
        "answer_text": answer_text(field, language),
    }


def _part(policy: ServicePolicy, view: SubmissionView, language: str) -> dict[str, Any]:
    return {"sent_at": _iso(view.submitted_at), "language": view.language,
            "answers": [_answer(policy, field, language) for field in view.fields]}


def document(record: OwnRecord, language: str) -> dict[str, Any]:
    policy = record.policy
    return {
        "format": FORMAT,
        "version": VERSION,
        "service": {"id": policy.id, "name": text_in(policy.name, language)},
        "status": "active",
        **_part(policy, record.submission, language),
        "consent": {"version": record.consent.version, "language": record.consent.language,
                    "given_at": _iso(record.consent.given_at), "choices": dict(record.consent.choices)},
        "additions": [_part(policy, view, language) for view in record.additions],
        "replies": [{"written_at": _iso(reply.written_at), "language": reply.language,
                     "state": "unreadable" if reply.state == UNREADABLE else "open",
                     "text": reply.text if reply.state == "open" else None} for reply in record.replies],
    }
