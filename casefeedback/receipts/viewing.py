"""Receipt pages that only show: the code check, then what the person gave — to view, download or print."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, redirect, url_for
from flask.blueprints import BlueprintSetupState

from casefeedback.insight.changes import published
from casefeedback.intake import arrival
from casefeedback.policy.pages import public
from casefeedback.receipts import holder
from casefeedback.receipts.blueprint import Held, ask_for_code, bp, code_limit, count_wrong_code, held, language, page
from casefeedback.receipts.export import document
from casefeedback.receipts.forms import CodeForm
from casefeedback.receipts.service import CONTACT_CHOICE, check_code, own_record
from casefeedback.services import services


@bp.route("/", methods=["GET"])
@public
def start() -> Any:
    """The receipt's address: a door (intake/arrival.py), so that Back after a quick exit never finds a page here."""
    return arrival.door(url_for("receipts.ask"))


@bp.route("/check", methods=["GET"])
@public
def ask() -> Any:
    found = services()
    return ask_for_code(changes=published(found), change_services=found.policies.services)


@bp.route("/check", methods=["POST"])
@public
@code_limit
def check() -> Any:
    found = services()
    form = CodeForm()
    if not form.validate_on_submit():
        return page("start.html", 400, form=form)
    result = check_code(found, form.code.data)
    if result.outcome in ("malformed", "unknown"):
        count_wrong_code()
        return page("start.html", 400 if result.outcome == "malformed" else 404, form=form, problem=result.outcome)
    policy = found.policies.service(result.service_id or "")
    if result.outcome == "withdrawn" or result.submission_id is None:
        holder.forget()  # nothing to remember: there is nothing left to show
        return page("withdrawn.html", policy=policy, withdrawn_at=result.withdrawn_at)
    holder.remember(result.submission_id, found.clock())
    return redirect(url_for("receipts.overview"), code=303)


@bp.route("/yours", methods=["GET"])
@public
def overview() -> Any:
    mine = held()
    if not isinstance(mine, Held):
        return mine
    found = services()
    record = own_record(found, mine.submission_id)
    contact = any(c.id == CONTACT_CHOICE for c in mine.policy.consent.choices)
    return page("overview.html", policy=mine.policy, record=record, held=True, offers_contact=contact,
                changes=published(found, [mine.policy.id]), change_services=found.policies.services)


@bp.route("/yours/download", methods=["GET"])
@public
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
@public
def printable() -> Any:
    mine = held()
    if not isinstance(mine, Held):
        return mine
    return page("print.html", policy=mine.policy, record=own_record(services(), mine.submission_id), held=True)


@bp.route("/forget", methods=["POST"])
@public
def forget() -> Any:
    holder.forget()
    return page("forgotten.html")


@bp.record_once
def _forgetting_needs_no_token(state: BlueprintSetupState) -> None:
    # Forgetting can only take away: a forged request could at worst make this
    # browser forget a code, and a stale form must never keep it remembered.
    state.app.extensions["csrf"].exempt(forget)
