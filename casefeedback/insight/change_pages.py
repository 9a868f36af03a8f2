"""The "You said, we did" screens (/insight/changes): write, preview in each language, publish, unpublish.

Open to the roles ``policy/pages.py`` lists for them; each service's ``[changes] publish`` then decides
(``insight/changes.py``): a role no service names gets 403, a change of another service 404.
"""

from __future__ import annotations

import secrets
from typing import Any

import flask_babel  # type: ignore[import-untyped]
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from markupsafe import Markup
from werkzeug.exceptions import Forbidden, NotFound
from wtforms import SelectChoice

from casefeedback.auth.sessions import StaffMember
from casefeedback.insight.blueprint import bp
from casefeedback.insight.change_forms import ButtonForm, ChangeForm
from casefeedback.insight.changes import (
    Change,
    ChangeNotFound,
    ChangeRefused,
    NotPermitted,
    change_for,
    changes_for,
    publishable_services,
    save_change,
    set_published,
)
from casefeedback.insight.periods import period_text
from casefeedback.policy.replies import may_publish_changes
from casefeedback.services import services

bp.add_app_template_global(period_text, "period_text")


@bp.app_context_processor
def _navigation() -> dict[str, Any]:
    def publishes_changes() -> bool:
        # For the staff menu: shown only to roles some service's [changes] publish names.
        if not current_user.is_authenticated:
            return False
        role = current_user.member.role
        return any(may_publish_changes(p, role) for p in services().policies.services.values())

    return {"publishes_changes": publishes_changes}


@bp.errorhandler(NotPermitted)
def _not_permitted(_error: Exception) -> Any:
    return current_app.handle_http_exception(Forbidden())


@bp.errorhandler(ChangeNotFound)
def _no_such_change(_error: Exception) -> Any:
    return current_app.handle_http_exception(NotFound())


def _member() -> StaffMember:
    signed_in: StaffMember = current_user.member
    return signed_in


def _form_page(form: ChangeForm, status: int = 200, *, change: Change | None = None) -> Any:
    found = services()
    form.service.choices = [SelectChoice(p.id, p.name.get("en", p.id))
                            for p in publishable_services(found, _member())]
    listed = changes_for(found, _member()) if change is None else []
    return render_template("insight/changes.html", form=form, changes=listed, editing=change), status


def _refused(form: ChangeForm, refused: ChangeRefused) -> None:
    for name, message in refused.problems.items():
        form[name].errors = [*form[name].errors, message]


@bp.route("/changes", methods=["GET"])
def changes() -> Any:
    return _form_page(ChangeForm(formdata=None, nonce=secrets.token_hex(16)))


@bp.route("/changes", methods=["POST"])
def change_save() -> Any:
    form = ChangeForm()
    if not form.validate_on_submit():
        return _form_page(form, 400)
    try:
        change_id = save_change(services(), _member(), form.typed(), nonce=form.nonce.data)
    except ChangeRefused as refused:
        _refused(form, refused)
        return _form_page(form, 400)
    flash("Saved as a draft. Check how it reads in each language, then publish it.")
    return redirect(url_for("insight.change", change_id=change_id), code=303)


def _preview(change: Change) -> dict[str, Markup]:
    """The public section exactly as each language's readers will see it (the same template)."""
    shown = {}
    for language in ("en", "cy"):
        with flask_babel.force_locale(language):
            shown[language] = Markup(render_template("_you_said_we_did.html", changes=[change],  # noqa: S704
                                                     change_services={}, heading_level=3))
    return shown


@bp.route("/changes/<change_id>", methods=["GET"])
def change(change_id: str) -> Any:
    shown = change_for(services(), _member(), change_id)
    return render_template("insight/change.html", change=shown, preview=_preview(shown), form=ButtonForm())


@bp.route("/changes/<change_id>/edit", methods=["GET", "POST"])
def change_edit(change_id: str) -> Any:
    found = services()
    current = change_for(found, _member(), change_id)
    form = ChangeForm(formdata=None, nonce=secrets.token_hex(16), service=current.service_id, period=current.period,
                      said_en=current.said.get("en"), said_cy=current.said.get("cy"),
                      did_en=current.did.get("en"), did_cy=current.did.get("cy"))
    if not ChangeForm().is_submitted():
        return _form_page(form, change=current)
    form = ChangeForm()
    if not form.validate_on_submit():
        return _form_page(form, 400, change=current)
    try:
        save_change(found, _member(), form.typed(), nonce=form.nonce.data, change_id=change_id)
    except ChangeRefused as refused:
        _refused(form, refused)
        return _form_page(form, 400, change=current)
    flash("Your changes are saved. Check how it reads, then publish it.")
    return redirect(url_for("insight.change", change_id=change_id), code=303)


def _switch(change_id: str, publish: bool) -> Any:
    if not ButtonForm().validate_on_submit():
        abort(400)
    if set_published(services(), _member(), change_id, publish):
        flash("Published: it is on the front page and on the receipt pages now." if publish
              else "Unpublished: it is no longer shown to the public.")
    else:
        flash("Nothing has changed: it already was." if publish else "Nothing has changed: it was not published.")
    return redirect(url_for("insight.change", change_id=change_id), code=303)


@bp.route("/changes/<change_id>/publish", methods=["POST"])
def change_publish(change_id: str) -> Any:
    return _switch(change_id, True)


@bp.route("/changes/<change_id>/unpublish", methods=["POST"])
def change_unpublish(change_id: str) -> Any:
    return _switch(change_id, False)
