"""Searching the log, and one case's whole access history, with the flags that call for a closer look."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import current_user

from casefeedback.audit.blueprint import bp, read_filters, typed
from casefeedback.audit.paging import search_page
from casefeedback.audit.review import FLAGS, case_history
from casefeedback.services import services


@bp.route("/", methods=["GET"])
def search_view() -> Any:
    wanted, errors = read_filters()
    shown = {"filters": wanted, "args": typed(), "flags": FLAGS, "errors": errors, "hours": _hours()}
    if errors:
        return render_template("audit/search.html", log=None, rows=[], **shown), 400
    log = search_page(services(), wanted, page=request.args.get("page", 1, type=int),
                      up_to_seq=request.args.get("upto", type=int))
    return render_template("audit/search.html", log=log, rows=log.rows, **shown)


@bp.route("/cases/<case_id>", methods=["GET"])
def case_view(case_id: str) -> Any:
    rows = case_history(services(), current_user.member, case_id[:36])
    return render_template("audit/case.html", rows=rows, case_id=case_id[:36], flags=FLAGS, hours=_hours())


def _hours() -> str:
    """The working hours reads are judged against, in words, so a flag explains itself."""
    return services().policies.organisation.working_hours.describe()
