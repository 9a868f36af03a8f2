"""Insight for a partner: the de-identified figures, suppressed exactly as on the insight page.

Counts only: every figure below the service's ``suppress_below`` is null, and
totals are of what is shown (insight/report.py, insight/suppression.py).
"""

from __future__ import annotations

from typing import Any

from casefeedback.api.blueprint import answer, bp, query
from casefeedback.api.operations import operation
from casefeedback.api.problems import FieldError, Problem
from casefeedback.insight.report import QuestionInsight, Report, Row
from casefeedback.insight.service import ScopeRefused, figures
from casefeedback.services import services

MONTH = {"type": "string", "pattern": r"^\d{4}-\d{2}$", "description": "A month, as 2026-03"}
COUNT = {"type": ["integer", "null"], "description": "null: suppressed (too few to show safely)"}
ROW = {"type": "object", "required": ["key", "label", "value"],
       "properties": {"key": {"type": "string"}, "label": {"type": "string"}, "value": COUNT}}
ROWS = {"type": "array", "items": ROW}
QUESTION = {"type": "object", "required": ["id", "text", "kind", "failure_demand", "answers", "months", "total"],
            "properties": {"id": {"type": "string"}, "text": {"type": "string"}, "kind": {"type": "string"},
                           "failure_demand": {"type": "boolean"}, "answers": ROWS, "months": ROWS,
                           "total": COUNT, "mean": {"type": ["number", "null"]}}}
REPORT = {"type": "object",
          "required": ["service", "from", "to", "team", "suppress_below", "volumes", "volume_total", "questions"],
          "properties": {"service": {"type": "string"}, "from": MONTH, "to": MONTH,
                         "team": {"type": ["string", "null"]}, "suppress_below": {"type": "integer"},
                         "volumes": ROWS, "volume_total": COUNT, "questions": {"type": "array", "items": QUESTION}}}
# Which query parameter each of the insight service's refusals is about.
_FIELDS = {"service": "#/query/service", "team": "#/query/team", "first": "#/query/from", "last": "#/query/to",
           "period": "#/query/from"}


def _rows(rows: tuple[Row, ...]) -> list[dict[str, Any]]:
    return [{"key": r.key, "label": r.label, "value": r.value} for r in rows]


def _question(q: QuestionInsight) -> dict[str, Any]:
    return {"id": q.id, "text": q.text, "kind": q.kind, "failure_demand": q.failure_demand,
            "answers": _rows(q.answers), "months": _rows(q.months), "total": q.total, "mean": q.mean}


def _document(report: Report) -> dict[str, Any]:
    return {"service": report.service_id, "from": report.scope.first_month, "to": report.scope.last_month,
            "team": report.scope.team_id, "suppress_below": report.threshold, "volumes": _rows(report.volumes),
            "volume_total": report.volume_total, "questions": [_question(q) for q in report.questions]}


def _field_of(problem: str) -> str:
    words = problem.lower()
    for word, pointer in _FIELDS.items():
        if word in words:
            return pointer
    return "#/query"


@operation(bp, "/api/v1/insight", "GET", operation_id="getInsight", summary="Suppressed insight figures",
           tag="Insight", scope="insight:read",
           query={"service": {"type": "string", "maxLength": 64}, "team": {"type": "string", "maxLength": 36},
                  "from": MONTH, "to": MONTH},
           responses={200: ("Counts per month and per answer; small numbers suppressed", REPORT)},
           problems={422: "No such service or team, or a period that cannot be shown"},
           description="Defaults: the first service, all teams, the last 24 months.")
def get_insight() -> Any:
    try:
        shown = figures(services(), query())
    except ScopeRefused as refused:
        raise Problem(422, refused.problem, [FieldError(_field_of(refused.problem), refused.problem)],
                      kind="scope") from None
    return answer(_document(shown.report))
