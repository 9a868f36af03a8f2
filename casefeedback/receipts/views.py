"""Receipt pages: the code check, then what the person gave — to view, download or print.

The code travels only in POST bodies, never in a URL (URLs reach logs and
history). Wrong codes are throttled per address; correct ones are not counted,
so a person who comes back often is never locked out by their own visits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, g, redirect, render_template, url_for
from flask.blueprints import BlueprintSetupState
from flask_wtf.csrf import CSRFError

from casefeedback.intake.i18n import current_language
from casefeedback.policy.model import ServicePolicy
from casefeedback.ratelimit import limiter
from casefeedback.receipts import holder
from casefeedback.receipts.export import answer_text, document
from casefeedback.receipts.forms import CodeForm
from casefeedback.receipts.service import RecordStatus, check_code, own_record, record_status
from casefeedback.services import services

bp = Blueprint("receipts", __name__, url_prefix="/feedback/receipt")

# Guessing a 100-bit code is hopeless anyway; the limit stops a script from
# trying, and keeps the lookups cheap. Only wrong codes count (deduct_when).
CODE_LIMITS = "10 per minute;50 per day"


def _wrong_code(_response: Response) -> bool:
    return bool(g.get("receipt_code_wrong"))


code_limit = limiter.shared_limit(CODE_LIMITS, scope="receipt-code", methods=["POST"], deduct_when=_wrong_code)


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


@bp.route("/", methods=["GET"])
def start() -> Any:
    return ask_for_code()


@bp.route("/check", methods=["POST"])
@code_limit
def check() -> Any:
    found = services()
    form = CodeForm()
    if not form.validate_on_submit():
        return page("start.html", 400, form=form)
    result = check_code(found, form.code.data)
    if result.outcome in ("malformed", "unknown"):
        g.receipt_code_wrong = True
        return page("start.html", 400 if result.outcome == "malformed" else 404, form=form, problem=result.outcome)
    policy = found.policies.service(result.service_id or "")
    if result.outcome == "withdrawn" or result.submission_id is None:
        holder.forget()  # nothing to remember: there is nothing left to show
        return page("withdrawn.html", policy=policy, withdrawn_at=result.withdrawn_at)
    holder.remember(result.submission_id, found.clock())
    return redirect(url_for("receipts.overview"), code=303)


@bp.route("/yours", methods=["GET"])
def overview() -> Any:
    mine = held()
    if not isinstance(mine, Held):
        return mine
    record = own_record(services(), mine.submission_id)
    contact = any(c.id == "contact_me" for c in mine.policy.consent.choices)
    return page("overview.html", policy=mine.policy, record=record, held=True, offers_contact=contact)


@bp.route("/yours/download", methods=["GET"])
def download() -> Any:
    mine = held()
    if not isinstance(mine, Held):
        return mine
    body = json.dumps(document(own_record(services(), mine.submission_id), language()), ensure_ascii=False,
                      indent=2)
    # A neutral file name: it may sit in a shared Downloads folder. no-store comes from security.py.
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="my-feedback.json"'})


@bp.route("/yours/print", methods=["GET"])
def printable() -> Any:
    mine = held()
    if not isinstance(mine, Held):
        return mine
    return page("print.html", policy=mine.policy, record=own_record(services(), mine.submission_id), held=True)


@bp.route("/forget", methods=["POST"])
def forget() -> Any:
    holder.forget()
    return page("forgotten.html")


@bp.record_once
def _forgetting_needs_no_token(state: BlueprintSetupState) -> None:
    # Forgetting can only take away: a forged request could at worst make this
    # browser forget a code, and a stale form must never keep it remembered.
    state.app.extensions["csrf"].exempt(forget)


@bp.errorhandler(429)
def _too_many(_error: Exception) -> Any:
    return page("too_many.html", 429)


@bp.errorhandler(CSRFError)
def _form_expired(_error: CSRFError) -> Any:
    return page("form_expired.html", 400)


# Adding, changing consent and withdrawing register on ``bp`` from their own module.
from casefeedback.receipts import change_views  # noqa: E402, F401
