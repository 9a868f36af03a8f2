"""Writing a reply to a piece of feedback, from its page: parse, one service call, and back to the page."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for

from casefeedback.casework.blueprint import bp, member
from casefeedback.casework.case_pages import submission_page
from casefeedback.casework.forms import ReplyForm
from casefeedback.casework.replies import ReplyRefused, write_reply
from casefeedback.services import services


@bp.route("/submissions/<submission_id>/replies", methods=["POST"])
def reply(submission_id: str) -> Any:
    form = ReplyForm()
    if not form.validate_on_submit():
        return submission_page(submission_id, 400, reply_form=form)
    try:
        written = write_reply(services(), member(), submission_id, text=form.text.data,
                              language=form.language.data, nonce=form.nonce.data)
    except ReplyRefused as refused:
        form.text.errors = [*form.text.errors, str(refused)]
        return submission_page(submission_id, 400, reply_form=form)
    if not written.stored:
        flash("This reply was already saved (the form was sent twice). It has been kept once.")
        return submission_page(submission_id, 409)
    flash(_said(written))
    return redirect(url_for("casework.submission", submission_id=submission_id), code=303)


def _said(written: Any) -> str:
    """What the writer is told happens next: who tells the person, if anyone."""
    saved = "Your reply is saved. The person will see it when they next open their feedback with their receipt code."
    if not written.contact_agreed:
        return f"{saved} They did not agree to be contacted, so nobody will tell them it is there."
    if written.writer_tells:
        return (f"{saved} They agreed to be contacted: using the contact details on the case file, tell them only "
                "that there is a reply to their feedback.")
    if written.told:
        return f"{saved} They agreed to be contacted: their caseworker has been asked to tell them there is a reply."
    return f"{saved} They agreed to be contacted, but this feedback is not on a case, so we cannot tell them."
