"""The receipts blueprint and what its pages share: the code limit, the page frame, what this browser holds.

The code travels only in POST bodies, never in a URL (URLs reach logs and
history). Wrong codes are throttled per address; correct ones are not counted,
so a person who comes back often is never locked out by their own visits.

A public blueprint: the receipt code, proved in this session (``holder``), is
what lets a person in, never a staff role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, g, render_template, request
from flask_wtf.csrf import CSRFError

from casefeedback.intake import arrival
from casefeedback.language import current_language
from casefeedback.policy.model import ServicePolicy
from casefeedback.ratelimit import limiter
from casefeedback.receipts import holder
from casefeedback.receipts.export import answer_text
from casefeedback.receipts.forms import CodeForm
from casefeedback.receipts.service import RecordStatus, record_status
from casefeedback.services import services

bp = Blueprint("receipts", __name__, url_prefix="/feedback/receipt")

# Guessing a 100-bit code is hopeless anyway; the limit stops a script from
# trying, and keeps the lookups cheap. Only wrong codes count (deduct_when).
CODE_LIMITS = "10 per minute;50 per day"


def _wrong_code(_response: Response) -> bool:
    return bool(g.get("receipt_code_wrong"))


code_limit = limiter.shared_limit(CODE_LIMITS, scope="receipt-code", methods=["POST"], deduct_when=_wrong_code)


def count_wrong_code() -> None:
    """Make this request count against the code limit (``deduct_when``)."""
    g.receipt_code_wrong = True


def language() -> str:
    """The page's language, as the intake journey chose it (Flask-Babel's locale)."""
    return current_language()


def entry_policy() -> ServicePolicy | None:
    """The policy whose helplines a page shows before a code says which service it is: the only one, if one."""
    policies = list(services().policies.services.values())
    return policies[0] if len(policies) == 1 else None


def page(template: str, status: int = 200, *, policy: ServicePolicy | None = None, **context: Any) -> Any:
    return render_template(f"receipts/{template}", policy=policy or entry_policy(), language=language(),
                           answer_text=answer_text, **context), status


def ask_for_code(status: int = 200, **context: Any) -> Any:
    return page("start.html", status, form=CodeForm(formdata=None), **context)


@dataclass(frozen=True)
class Held:
    submission_id: str
    policy: ServicePolicy
    status: RecordStatus


def held() -> Held | Any:
    """What this browser proved it holds the code for; otherwise the page to show instead (as a response)."""
    found = services()
    submission_id, expired = holder.current(found.clock())
    if submission_id is None:
        return ask_for_code(403, expired=expired)
    status = record_status(found, submission_id)
    policy = found.policies.service(status.service_id) if status else None
    if status is None or policy is None:
        holder.forget()
        return ask_for_code(403)
    if not status.active:
        return page("withdrawn.html", policy=policy, withdrawn_at=status.withdrawn_at, held=True)
    return Held(submission_id, policy, status)


# Open to a browser that has not come in (intake/arrival.py): the receipt's address, a door.
OPEN_TO_ANYONE = frozenset({"receipts.start"})


def _may_show() -> bool:
    return request.endpoint in OPEN_TO_ANYONE or arrival.arrived()


@bp.before_request
def _only_after_coming_in() -> Any:
    # After a quick exit, Back asks for these pages again with no session: they must not show the service.
    return None if _may_show() else arrival.unavailable()


@bp.errorhandler(429)
def _too_many(_error: Exception) -> Any:
    return page("too_many.html", 429) if _may_show() else arrival.unavailable()


@bp.errorhandler(CSRFError)
def _form_expired(_error: CSRFError) -> Any:
    # A form posted again by Back after a quick exit fails its token check before any view runs.
    return page("form_expired.html", 400) if _may_show() else arrival.unavailable()
