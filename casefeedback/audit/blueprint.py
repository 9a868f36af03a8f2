"""The auditor's blueprint (/audit) and what its views share: the filters from the address bar.

Only auditors reach it (``policy.pages``). Auditors see audit rows and
nothing else: no view here opens a field.
"""

from __future__ import annotations

import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, request
from flask.blueprints import BlueprintSetupState

from casefeedback.audit.review import Filters
from casefeedback.audit.watch import raised_alarm
from casefeedback.backup.lock import hold_running, release
from casefeedback.policy.pages import role_gate
from casefeedback.services import services

bp = Blueprint("auditor", __name__, url_prefix="/audit")
role_gate(bp)
FILTER_ARGS = ("staff", "case", "action", "since", "until", "flagged")


@bp.record_once
def _hold_running_lock(state: BlueprintSetupState) -> None:
    # Every web process holds the instance's running lock for as long as its app
    # lives, so `casefeedback restore` and `keys rekey-db` refuse to run under it.
    found = state.app.extensions["casefeedback"]
    fd = hold_running(found.config.instance_dir)
    weakref.finalize(state.app, release, fd)


@bp.context_processor
def _integrity_alarm() -> dict[str, Any]:
    # Every auditor page says so at the top while the worker's alarm stands: the
    # email may sit unread, and an auditor looking at a cut log must know it first.
    return {"integrity_alarm": raised_alarm(services().config)}


DATE_FORMAT = "as YYYY-MM-DD, for example 2026-11-30"
DATE_LABELS = {"since": "'from'", "until": "'to'"}


def _day(name: str, errors: dict[str, str]) -> datetime | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        errors[name] = f"Enter the {DATE_LABELS[name]} date {DATE_FORMAT}"
        return None


def read_filters() -> tuple[Filters, dict[str, str]]:
    """The search filters in the query string, each cut short, and what is wrong with the dates by field."""
    errors: dict[str, str] = {}
    since, until = _day("since", errors), _day("until", errors)
    if since and until and until < since:
        errors["until"] = "The 'to' date must be on or after the 'from' date"
    return Filters(staff=request.args.get("staff", "").strip()[:64] or None,
                   case_id=request.args.get("case", "").strip()[:36] or None,
                   action=request.args.get("action", "").strip()[:64] or None,
                   since=since, until=until + timedelta(days=1) if until else None,
                   flagged_only=request.args.get("flagged") == "1"), errors


def filters() -> Filters:
    """The search filters for a request with no page to explain itself on (an export): bad dates are a 400."""
    wanted, errors = read_filters()
    if errors:
        abort(400)
    return wanted


def typed() -> dict[str, str]:
    """The filters as typed, to keep in the form and in every paging and export link."""
    return {k: request.args[k][:64] for k in FILTER_ARGS if request.args.get(k)}
