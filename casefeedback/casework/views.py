"""Caseworker views: thin; the services decide and record."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from casefeedback.audit import AuditEvent
from casefeedback.casework.cases import case_submissions, cases_for, create_case, visible_case
from casefeedback.casework.invitations import create_invitation
from casefeedback.casework.reading import NotFound, read_submission
from casefeedback.policy.decisions import Actor
from casefeedback.services import services
from casefeedback.storage.engine import read, write

bp = Blueprint("casework", __name__, url_prefix="/casework")


def _actor() -> Actor:
    member = current_user.member
    return Actor(member.id, member.role, member.team_id)


class NewCaseForm(FlaskForm):  # type: ignore[misc]
    service = SelectField("Service", validators=[DataRequired()])
    reference = StringField("Case reference", validators=[
        DataRequired("Enter a case reference"), Length(max=64),
        Regexp(r"^[A-Za-z0-9/ ._-]+$", message="Use letters, numbers, spaces and / . _ - only")])


class EmptyForm(FlaskForm):  # type: ignore[misc]
    """A form with only the CSRF token, for buttons that change something."""


def _service_choices() -> list[SelectChoice]:
    return [SelectChoice(p.id, p.name.get("en", p.id)) for p in services().policies.services.values()]


@bp.route("/", methods=["GET", "POST"])
def my_cases() -> Any:
    found = services()
    form = NewCaseForm()
    form.service.choices = _service_choices()
    status = 200
    if form.validate_on_submit():
        with write(found.engine) as connection:
            case_id = create_case(connection, member=current_user.member, service_id=form.service.data,
                                  reference=form.reference.data.strip(), now=found.clock())
            found.audit.append(connection, AuditEvent(
                action="case.create", outcome="success", actor_id=current_user.member.id,
                actor_role=current_user.member.role, object_type="case", object_id=case_id))
        form = NewCaseForm(formdata=None)
        form.service.choices = _service_choices()
    elif form.errors:
        status = 400
    with read(found.engine) as connection:
        mine = cases_for(connection, current_user.member)
    return render_template("casework/cases.html", cases=mine, form=form), status


@bp.route("/cases/<case_id>", methods=["GET"])
def case(case_id: str) -> Any:
    found = services()
    with read(found.engine) as connection:
        summary = visible_case(connection, current_user.member, case_id)
        if summary is None:
            abort(404)
        received = case_submissions(connection, case_id)
    return render_template("casework/case.html", case=summary, submissions=received, form=EmptyForm(),
                           invitation_link=None)


@bp.route("/cases/<case_id>/invitations", methods=["POST"])
def invite(case_id: str) -> Any:
    found = services()
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    with write(found.engine) as connection:
        summary = visible_case(connection, current_user.member, case_id)
        if summary is None or summary.status != "open":
            abort(404)
        token = create_invitation(connection, found.config.secrets.lookup.value, case_id=case_id,
                                  created_by=current_user.member.id, now=found.clock())
        found.audit.append(connection, AuditEvent(
            action="invitation.create", outcome="success", actor_id=current_user.member.id,
            actor_role=current_user.member.role, object_type="case", object_id=case_id))
        received = case_submissions(connection, case_id)
    link = url_for("intake.invitation", token=token, _external=True)
    # The link is shown once, in this response; only its keyed hash is stored.
    return render_template("casework/case.html", case=summary, submissions=received, form=EmptyForm(),
                           invitation_link=link)


@bp.route("/submissions/<submission_id>", methods=["GET"])
def submission(submission_id: str) -> Any:
    found = services()
    try:
        view = read_submission(found, _actor(), submission_id, purpose="casework")
    except NotFound:
        abort(404)
    policy = found.policies.service(view.service_id)
    return render_template("casework/submission.html", submission=view, policy=policy)
