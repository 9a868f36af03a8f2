"""Caseworker views: thin; the services decide and record.

Only caseworkers, supervisors and duty managers reach this blueprint (403 for
everyone else). A case that does not exist and a case that is not yours get
exactly the same 404, so ids cannot be probed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import Connection
from wtforms import SelectChoice

from casefeedback.audit import AuditEvent
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework import outcomes
from casefeedback.casework.cases import (
    CaseError,
    CaseSummary,
    can_manage,
    can_record_outcome,
    case_submissions,
    cases_for,
    close_case,
    create_case,
    deputy_choices,
    mark_read,
    set_deputy,
    visible_case,
)
from casefeedback.casework.forms import DeputyForm, EmptyForm, NewCaseForm, OutcomeForm
from casefeedback.casework.notifications import unread_count
from casefeedback.casework.reading import NotFound, read_outcomes, read_submission
from casefeedback.policy.decisions import CONTENT_ROLES, Actor
from casefeedback.services import services
from casefeedback.storage.engine import read, write

bp = Blueprint("casework", __name__, url_prefix="/casework")


@bp.before_request
def _content_roles_only() -> None:
    # Separation of duties: administrators, auditors and analysts have no casework.
    if current_user.is_authenticated and current_user.member.role not in CONTENT_ROLES:
        abort(403)


@bp.app_context_processor
def _navigation() -> dict[str, Any]:
    def unread_notifications() -> int:
        if not current_user.is_authenticated or current_user.member.role not in CONTENT_ROLES:
            return 0
        with read(services().engine) as connection:
            return unread_count(connection, current_user.member.id)

    return {"unread_notifications": unread_notifications}


def _actor() -> Actor:
    member = current_user.member
    return Actor(member.id, member.role, member.team_id)


def _audit(connection: Any, action: str, case_id: str, outcome: str = "success",
           **detail: str | int | bool | None) -> None:
    member = current_user.member
    services().audit.append(connection, AuditEvent(action=action, outcome=outcome, actor_id=member.id,
                                                   actor_role=member.role, object_type="case", object_id=case_id,
                                                   detail=detail))


def _service_choices() -> list[SelectChoice]:
    return [SelectChoice(p.id, p.name.get("en", p.id)) for p in services().policies.services.values()]


@bp.route("/", methods=["GET", "POST"])
def my_cases() -> Any:
    found = services()
    form = NewCaseForm()
    form.service.choices = _service_choices()
    status = 200
    if form.validate_on_submit():
        try:
            with write(found.engine) as connection:
                case_id = create_case(connection, member=current_user.member, service_id=form.service.data,
                                      reference=form.reference.data.strip(), now=found.clock())
                _audit(connection, "case.create", case_id)
        except CaseError as error:
            form.reference.errors.append(str(error))
            status = 409
        else:
            flash("The case has been created.")
            return redirect(url_for("casework.case", case_id=case_id), code=303)
    elif form.errors:
        status = 400
    shown = "closed" if request.args.get("status") == "closed" else "open"
    with read(found.engine) as connection:
        every = cases_for(connection, current_user.member, now=found.clock())
    counts = {state: sum(1 for c in every if c.status == state) for state in ("open", "closed")}
    return render_template("casework/cases.html", cases=[c for c in every if c.status == shown], shown=shown,
                           counts=counts, form=form), status


def _case_or_404(connection: Any, case_id: str, *, break_glass: bool = False) -> CaseSummary:
    summary = visible_case(connection, current_user.member, case_id,
                           now=services().clock() if break_glass else None)
    if summary is None:
        abort(404)
    return summary


@contextmanager
def _case_to_change(case_id: str, allowed: Callable[[StaffMember, CaseSummary], bool],
                    ) -> Iterator[tuple[Connection, CaseSummary]]:
    """The case in a write transaction: 404 unless this member may see it, 403 unless ``allowed`` lets them
    change it."""
    with write(services().engine) as connection:
        summary = _case_or_404(connection, case_id)
        if not allowed(current_user.member, summary):
            abort(403)
        yield connection, summary


def _case_page(case_id: str, status: int = 200, *, outcome_form: OutcomeForm | None = None,
               deputy_form: DeputyForm | None = None) -> Any:
    found = services()
    member = current_user.member
    with read(found.engine) as connection:
        summary = _case_or_404(connection, case_id, break_glass=True)
        received = case_submissions(connection, case_id, member.id)
        choices = deputy_choices(connection, summary) if can_manage(member, summary) else []
    opened = read_outcomes(found, _actor(), case_id)
    if deputy_form is None:
        deputy_form = DeputyForm(formdata=None, deputy=summary.deputy_id or "")
    deputy_form.deputy.choices = [SelectChoice("", "No deputy")] + [SelectChoice(i, n) for i, n in choices]
    outcome_form = outcome_form or OutcomeForm(formdata=None, nonce=secrets.token_hex(16))
    return render_template("casework/case.html", case=summary, submissions=received, outcomes=opened,
                           form=EmptyForm(), deputy_form=deputy_form, outcome_form=outcome_form,
                           may_manage=can_manage(member, summary),
                           may_record=can_record_outcome(member, summary) and summary.status == "open"), status


@bp.route("/cases/<case_id>", methods=["GET"])
def case(case_id: str) -> Any:
    return _case_page(case_id)


@bp.route("/cases/<case_id>/close", methods=["POST"])
def close(case_id: str) -> Any:
    found = services()
    if not EmptyForm().validate_on_submit():
        abort(400)
    with _case_to_change(case_id, can_manage) as (connection, _case):
        closed = close_case(connection, case_id, found.clock())
        if closed:
            _audit(connection, "case.close", case_id)
    if not closed:
        flash("This case was already closed. Nothing has changed.")
        return _case_page(case_id, 409)
    flash("The case is closed. Its invitation links no longer work, and retention periods start from today.")
    return redirect(url_for("casework.case", case_id=case_id), code=303)


@bp.route("/cases/<case_id>/deputy", methods=["POST"])
def deputy(case_id: str) -> Any:
    form = DeputyForm()
    with _case_to_change(case_id, can_manage) as (connection, summary):
        form.deputy.choices = [SelectChoice("", "No deputy")] + [
            SelectChoice(i, n) for i, n in deputy_choices(connection, summary)]
        if form.validate_on_submit():
            chosen = form.deputy.data or None
            set_deputy(connection, summary, chosen)
            _audit(connection, "case.deputy", case_id, deputy=chosen)
    if form.errors:
        return _case_page(case_id, 400, deputy_form=form)
    flash("The deputy has been changed." if form.deputy.data else "The case has no deputy now.")
    return redirect(url_for("casework.case", case_id=case_id), code=303)


@bp.route("/cases/<case_id>/outcomes", methods=["POST"])
def record_outcome(case_id: str) -> Any:
    found = services()
    form = OutcomeForm()
    with _case_to_change(case_id, can_record_outcome) as (connection, _case):
        if not form.validate_on_submit():
            recorded = None
        elif outcomes.already_recorded(connection, form.nonce.data):
            recorded = False
        else:
            outcome_id = outcomes.record_outcome(
                connection, found.keyring, case_id=case_id, recorded_by=current_user.member.id,
                text=form.text.data, nonce=form.nonce.data, now=found.clock())
            _audit(connection, "case.outcome", case_id, outcome=outcome_id)
            recorded = True
    if recorded is None:
        return _case_page(case_id, 400, outcome_form=form)
    if recorded is False:
        flash("This outcome was already recorded (the form was sent twice). It has been kept once.")
        return _case_page(case_id, 409)
    flash("The outcome has been recorded.")
    return redirect(url_for("casework.case", case_id=case_id), code=303)


@bp.route("/submissions/<submission_id>", methods=["GET"])
def submission(submission_id: str) -> Any:
    found = services()
    try:
        view = read_submission(found, _actor(), submission_id, purpose="casework")
    except NotFound:
        abort(404)
    with write(found.engine) as connection:
        mark_read(connection, current_user.member.id, submission_id, found.clock())
        summary = (visible_case(connection, current_user.member, view.case_id, now=found.clock())
                   if view.case_id else None)
    policy = found.policies.service(view.service_id)
    return render_template("casework/submission.html", submission=view, policy=policy, case=summary)


@bp.route("/alerts", methods=["GET"])
def alerts() -> Any:
    """The alert inbox (issue 5 owns it: ``alerts.index`` shows the same page)."""
    from casefeedback.alerts.views import index

    return index()


# Break-glass and notifications (breakglass_views), and the invitation routes
# (invitation_views, issue 3) live in modules of their own and register on ``bp``.
from casefeedback.casework import breakglass_views, invitation_views  # noqa: E402, F401
