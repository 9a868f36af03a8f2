"""Searching the log, and one case's whole access history, with the flags that call for a closer look."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import current_user

from casefeedback.audit.blueprint import FILTER_ARGS, bp, filters
from casefeedback.audit.review import FLAGS, PAGE, case_history, search_log
from casefeedback.services import services


@bp.route("/", methods=["GET"])
def search_view() -> Any:
    wanted = filters()
    rows = search_log(services(), wanted, before_seq=request.args.get("before", type=int))
    older = rows[-1].seq if len(rows) == PAGE else None
    query = {k: request.args[k] for k in FILTER_ARGS if request.args.get(k)}
    return render_template("audit/search.html", rows=rows, filters=wanted, args=query, flags=FLAGS,
                           older=older)


@bp.route("/cases/<case_id>", methods=["GET"])
def case_view(case_id: str) -> Any:
    rows = case_history(services(), current_user.member, case_id[:36])
    return render_template("audit/case.html", rows=rows, case_id=case_id[:36], flags=FLAGS)
