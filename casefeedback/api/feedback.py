"""Feedback from another channel (a kiosk, an SMS or IVR gateway, a partner's form), with its consent.

The same service as every other way in (``intake.whole.take_whole``): the same
policy checks, sealing, consent receipt, alert rules and audit events as the web
form. The answers are never echoed back: only the receipt code, shown once.
"""

from __future__ import annotations

from typing import Any

from flask import g

from casefeedback.api.blueprint import about, answer, body, bp
from casefeedback.api.operations import operation
from casefeedback.api.problems import FieldError, Problem
from casefeedback.api.schemas import ID, answered, closed
from casefeedback.intake.submissions import AlreadySubmitted, InvitationUnusable
from casefeedback.intake.whole import Invalid, Taken, WholeConsent, WholeFeedback, take_whole
from casefeedback.policy.assisted import CONSENT_METHODS
from casefeedback.services import services

ANSWER = {"type": ["string", "integer", "array", "null"], "maxLength": 20000, "maxItems": 50,
          "items": {"type": "string", "maxLength": 64},
          "description": "Text, an option id, a rating, or a list of option ids; null or \"\" skips the question"}
FEEDBACK = closed(
    ["service_id", "language", "channel", "answers", "consent"],
    service_id={"type": "string", "minLength": 1, "maxLength": 64},
    language={"type": "string", "minLength": 2, "maxLength": 8},
    channel={"type": "string", "minLength": 1, "maxLength": 32,
             "description": "A channel the organisation policy declares"},
    answers={"type": "object", "maxProperties": 200, "propertyNames": {"maxLength": 64},
             "additionalProperties": ANSWER},
    consent=closed(["choices", "method", "version"],
                   choices={"type": "object", "maxProperties": 20, "propertyNames": {"maxLength": 64},
                            "additionalProperties": {"type": "boolean"}},
                   method={"type": "string", "enum": list(CONSENT_METHODS)},
                   version={"type": "integer", "minimum": 1, "maximum": 1000000}),
    case_id=ID, invitation_id=ID,
    contact={"type": "string", "maxLength": 254, "description": "An email address for the receipt code; never kept"})
TAKEN = answered(["receipt_code", "alerts", "linked_to_case", "receipt_sent"],
                 receipt_code={"type": "string", "description": "Give it to the person; it is shown only once"},
                 alerts={"type": "integer", "description": "How many alert rules the answers met"},
                 linked_to_case={"type": "boolean"}, receipt_sent={"type": ["boolean", "null"]})


def _pointer(field: str) -> str:
    """``answers.q3`` (intake.whole's name for a field) → ``/answers/q3``."""
    return "/" + field.replace("~", "~0").replace("/", "~1").replace(".", "/")


def _taken(taken: Taken) -> dict[str, Any]:
    return {"receipt_code": taken.receipt_code, "alerts": taken.alerts, "linked_to_case": taken.linked_to_case,
            "receipt_sent": taken.receipt_sent}


@operation(bp, "/api/v1/feedback", "POST", operation_id="submitFeedback",
           summary="Send a person's feedback, with their consent", tag="Feedback", scope="feedback:submit",
           body=FEEDBACK, responses={201: ("Stored, sealed; the receipt code is shown once", TAKEN)},
           problems={409: "Already sent, or the invitation was used up meanwhile",
                     422: "Outside the service's policy: see errors, field by field"},
           description="Checked against the service's policy exactly as the web form is: its questions, "
                       "options and limits, its consent choices and version. Nothing is stored unless "
                       "the required consent is true.")
def submit_feedback() -> Any:
    sent = body()
    consent = sent["consent"]
    try:
        taken = take_whole(services(), WholeFeedback(
            service_id=sent["service_id"], language=sent["language"], answers=sent["answers"],
            consent=WholeConsent(choices=consent["choices"], method=consent["method"], version=consent["version"]),
            channel=sent["channel"], api_client=g.api_client.id, case_id=sent.get("case_id"),
            invitation_id=sent.get("invitation_id"), contact=sent.get("contact")))
    except Invalid as invalid:
        raise Problem(422, "The feedback is outside the service's policy: see errors.",
                      [FieldError(_pointer(f), m) for f, m in invalid.errors.items()], kind="policy") from None
    except (AlreadySubmitted, InvitationUnusable):
        raise Problem(409, "This feedback was sent already, or its invitation can no longer be used.") from None
    about(taken.submission_id)
    return answer(_taken(taken), 201)
