"""API clients: the list, registering one (its token shown once), revoking one. ``api.clients`` owns every change."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length

from casefeedback.admin.blueprint import bp, operator
from casefeedback.admin.forms import EmptyForm
from casefeedback.api import clients
from casefeedback.auth.confirmation import confirmation_required
from casefeedback.policy.api_scopes import SCOPES
from casefeedback.services import services


class ApiClientForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Name of the system", description="As your colleagues know it, for example "
                                                         "\"Case management (North)\". Shown in the audit log.",
                       validators=[DataRequired("Enter a name for the system"), Length(max=clients.MAX_NAME)])
    scopes = SelectMultipleField(
        "What it may do", description="Give it only what it needs.",
        choices=[SelectChoice(name, f"{name}: {words}") for name, words in SCOPES.items()],
        option_widget=widgets.CheckboxInput(), widget=widgets.ListWidget(prefix_label=False),
        validators=[DataRequired("Choose at least one thing the system may do")])


def _page(form: ApiClientForm, status: int = 200) -> Any:
    return render_template("admin/api_clients.html", clients=clients.listing(services()), form=form,
                           revoke_form=EmptyForm()), status


@bp.route("/api-clients", methods=["GET"])
@confirmation_required()
def api_clients() -> Any:
    return _page(ApiClientForm(formdata=None))


@bp.route("/api-clients", methods=["POST"])
@confirmation_required(back="admin.api_clients")
def register_api_client() -> Any:
    form = ApiClientForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    by = operator()
    try:
        registered = clients.register(services(), form.name.data, form.scopes.data, by_id=by.id, by_role=by.role)
    except clients.ClientError as error:
        form.name.errors.append(str(error))
        return _page(form, 409)
    # The token is in this response only: only its hash is kept.
    return render_template("admin/api_client_token.html", client=registered.client, token=registered.token)


@bp.route("/api-clients/<client_id>/revoke", methods=["POST"])
@confirmation_required(back="admin.api_clients")
def revoke_api_client(client_id: str) -> Any:
    if not EmptyForm().validate_on_submit():
        return _page(ApiClientForm(formdata=None), 400)
    by = operator()
    try:
        revoked = clients.revoke(services(), client_id, by_id=by.id, by_role=by.role)
    except clients.ClientError as error:
        flash(str(error))
    else:
        flash(f"{revoked.name} can no longer use the API: its token stopped working now.")
    return redirect(url_for("admin.api_clients"), code=303)
