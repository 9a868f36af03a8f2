"""Legal holds on a screen: the list, setting a hold, and one hold with its review and release forms."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from casefeedback.auth import throttle
from casefeedback.auth.confirmation import recently_confirmed
from casefeedback.ratelimit import limiter
from casefeedback.records import releasing
from casefeedback.records.blueprint import actor, bp, changer, member, refused
from casefeedback.records.forms import HoldForm, ReleaseForm, ReviewForm
from casefeedback.retention import hold_reading, holds
from casefeedback.retention.holds import HoldError
from casefeedback.services import services


def _with_latest(form: HoldForm | ReviewForm) -> None:
    """Say in the date's hint how far off it may be ([legal_hold] review_within)."""
    rules = services().policies.organisation.legal_hold
    latest = holds.default_review(services().clock(), rules.review_within)
    form.review_by.description = (f"The day by which someone must look at this hold again: after today, and "
                                  f"no later than {latest.day} {latest:%B %Y}.")


def _mistake(form: FlaskForm, error: HoldError) -> None:
    """Put the service's message by the field it is about, or above the form."""
    target = getattr(form, error.field, None) if error.field else None
    if target is not None:
        target.errors = [*target.errors, str(error)]
    else:
        form.form_errors.append(str(error))


@bp.route("/")
def holds_list() -> Any:
    active, released = hold_reading.listing(services())
    return render_template("records/holds.html", active=active, released=released)


@bp.route("/holds/new", methods=["GET", "POST"])
def new_hold() -> Any:
    form = HoldForm()
    status = 200
    if form.validate_on_submit():
        try:
            hold_id = holds.place(services(), case_key=form.case.data, reason=form.reason.data,
                                  review_day=form.review_by.data, by=changer())
        except HoldError as error:
            _mistake(form, error)
            status = error.status if error.status != 404 else 400  # an unknown reference is a mistake in the form
        else:
            flash("The case is on legal hold: retention will erase nothing of it until the hold is released.")
            return redirect(url_for("records.hold", hold_id=hold_id), code=303)
    elif form.errors:
        status = 400
    _with_latest(form)
    return render_template("records/new_hold.html", form=form), status


def _hold_page(hold_id: str, status: int = 200, review: ReviewForm | None = None,
               release: ReleaseForm | None = None) -> Any:
    try:
        page = hold_reading.hold_page(services(), actor(), hold_id)
    except HoldError as error:
        return refused(error)
    review = review or ReviewForm(formdata=None)
    _with_latest(review)
    return render_template("records/hold.html", page=page, review_form=review,
                           release_form=release or ReleaseForm(formdata=None),
                           needs_confirm=not recently_confirmed()), status


@bp.route("/holds/<hold_id>")
def hold(hold_id: str) -> Any:
    return _hold_page(hold_id)


@bp.route("/holds/<hold_id>/review", methods=["POST"])
def review(hold_id: str) -> Any:
    form = ReviewForm()
    if not form.validate_on_submit():
        return _hold_page(hold_id, 400, review=form)
    try:
        holds.review(services(), hold_id, note=form.note.data, review_day=form.review_by.data, by=changer())
    except HoldError as error:
        if error.status == 404:
            abort(404)
        _mistake(form, error)
        return _hold_page(hold_id, error.status, review=form)
    flash(f"The hold is reviewed: next review by {form.review_by.data:%d %B %Y}.")
    return redirect(url_for("records.hold", hold_id=hold_id), code=303)


@bp.route("/holds/<hold_id>/release", methods=["POST"])
@limiter.limit("20 per minute;200 per hour")
def release(hold_id: str) -> Any:
    form = ReleaseForm()
    if not form.validate_on_submit():
        return _hold_page(hold_id, 400, release=form)
    try:
        releasing.release(services(), member(), current_user.token, hold_id, reason=form.reason.data,
                          password=form.password.data or "", code=form.code.data or "",
                          confirmed_recently=recently_confirmed())
    except HoldError as error:
        if error.status == 404:
            abort(404)
        _mistake(form, error)
        return _hold_page(hold_id, error.status, release=form)
    except releasing.NotConfirmed as failed:
        if failed.locked_until is not None:
            minutes = throttle.minutes_left(failed.locked_until, services().clock())
            form.form_errors.append(f"There have been too many attempts. Wait {minutes} minute"
                                    f"{'s' if minutes != 1 else ''}, then try again.")
            return _hold_page(hold_id, 429, release=form)
        form.code.errors = ["The password or the code is not right. The hold has not been released."]
        return _hold_page(hold_id, 401, release=form)
    flash("The hold is released. What it kept past its retention goes at the next purge.")
    return redirect(url_for("records.holds_list"), code=303)
