"""The insight export as a Frictionless Data Package: the descriptor and a Table Schema for every CSV.

Why a Data Package: a partner agency should be able to load and check the
figures with tools it already has (frictionless, pandas, R's ``frictionless``
package, a spreadsheet) without reading our code. Every column is typed, has a
description and constraints; a suppressed count is the declared missing value
``suppressed``, so a tool reads it as "not known", never as a number. Each
resource carries its SHA-256 and size; the descriptor's exact bytes are signed
(``export.py``), so one signature covers every file. Format: docs/insight-export.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from casefeedback.policy.model import Question, ServicePolicy

PROFILE = "casefeedback.insight/2"
SUPPRESSED = "suppressed"
NO_TEAM = "(no team)"
# Open Definition ids we can describe in full; any other id or address is passed on as given.
LICENCES = {
    "OGL-UK-3.0": ("Open Government Licence v3.0",
                   "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"),
    "CC-BY-4.0": ("Creative Commons Attribution 4.0", "https://creativecommons.org/licenses/by/4.0/"),
}
INSIGHT_COLUMNS = ("service_id", "team", "month", "question_id", "answer", "count")


def licence(value: str) -> dict[str, str]:
    if value.startswith(("https://", "http://")):
        return {"path": value, "title": "Terms of sharing"}
    title, path = LICENCES.get(value, (value, ""))
    return {"name": value, "title": title, **({"path": path} if path else {})}


def _field(name: str, kind: str, description: str, **constraints: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if kind == "yearmonth":
        extra["format"] = "default"
    return {"name": name, "type": kind, "description": description, **extra,
            "constraints": {"required": True, **constraints}}


def insight_schema(policy: ServicePolicy, questions: Sequence[Question], teams: Sequence[str]) -> dict[str, Any]:
    answers = sorted({a for q in questions for a in q.option_ids()})
    threshold = policy.suppress_below
    count = _field("count", "integer",
                   f"How many answers. A count under {threshold} (the service's suppression threshold), "
                   f"including none at all, is written `{SUPPRESSED}`: a small number could point at people, "
                   "and 'none' reads the same as 'a few' so neither can be told apart.", minimum=threshold)
    del count["constraints"]["required"]  # a suppressed count is missing by design
    count["unit"] = "answers"
    return {
        "fields": [
            _field("service_id", "string", "The service's id in its policy.", enum=[policy.id]),
            _field("team", "string", f"The team's name, or `{NO_TEAM}` for feedback not tied to a case. A name "
                   "starting with = + - @ is prefixed with ' so spreadsheets do not run it.", enum=list(teams)),
            _field("month", "yearmonth", "The month (UTC) the feedback was sent, YYYY-MM."),
            _field("question_id", "string", "The question's id: see the `questions` resource.",
                   enum=[q.id for q in questions]),
            _field("answer", "string", "An option's id, a rating as a number, or prefer_not_to_say: "
                   "see the `answers` resource.", enum=answers),
            count,
        ],
        "missingValues": [SUPPRESSED],
        "primaryKey": ["service_id", "team", "month", "question_id", "answer"],
        "foreignKeys": [{"fields": ["question_id", "answer"],
                         "reference": {"resource": "answers", "fields": ["question_id", "answer"]}}],
    }


def questions_schema(questions: Sequence[Question]) -> dict[str, Any]:
    return {
        "fields": [
            _field("question_id", "string", "The question's id in the service's policy.",
                   enum=[q.id for q in questions]),
            _field("text", "string", "The question as it was asked, in English."),
            _field("kind", "string", "choice (one answer), multi_choice (any number) or rating (a scale).",
                   enum=sorted({q.kind for q in questions}) or ["choice"]),
            {**_field("failure_demand", "boolean",
                      "True when the policy declares the question as failure demand: for it, the answer "
                      "`yes` means demand caused by a failure (having to chase, to repeat oneself)."),
             "trueValues": ["true"], "falseValues": ["false"]},
        ],
        "missingValues": [],
        "primaryKey": ["question_id"],
    }


def answers_schema(questions: Sequence[Question]) -> dict[str, Any]:
    return {
        "fields": [
            _field("question_id", "string", "The question's id: see the `questions` resource.",
                   enum=[q.id for q in questions]),
            _field("answer", "string", "The answer as it appears in the `insight` resource."),
            _field("label", "string", "The answer as people saw it, in English."),
        ],
        "missingValues": [],
        "primaryKey": ["question_id", "answer"],
        "foreignKeys": [{"fields": ["question_id"],
                         "reference": {"resource": "questions", "fields": ["question_id"]}}],
    }


def resource(name: str, title: str, description: str, body: bytes, digest: str,
             schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": name, "path": f"{name}.csv", "title": title, "description": description,
            "profile": "tabular-data-resource", "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "dialect": {"delimiter": ",", "lineTerminator": "\r\n", "header": True},
            "hash": f"sha256:{digest}", "bytes": len(body), "schema": schema}


def describe(policy: ServicePolicy, resources: list[dict[str, Any]], about: Mapping[str, Any],
             licence_id: str) -> dict[str, Any]:
    """The descriptor (``datapackage.json``): the package's own fields, then ours under ``casefeedback``."""
    period = about["period"]
    name = f"casefeedback-insight-{policy.id}-{period['first_month']}-{period['last_month']}".lower()
    threshold = policy.suppress_below
    return {
        "name": "".join(c if c.isalnum() or c in "-._" else "-" for c in name),
        "title": f"Feedback insight: {about['service']['name']}, {period['first_month']} to {period['last_month']}",
        "description": (
            "Counts of answers to option and rating questions, from people whose consent included sharing "
            f"insight. Suppressed: every count under {threshold}, including none, is written `{SUPPRESSED}`; "
            "suppression is applied at this finest grain, so any total of the published counts, or any "
            "difference between exports, contains no suppressed count. No free text, no person, case or "
            "submission, no time finer than the month."),
        "created": about["generated_at"],
        "version": "2.0.0",
        "profile": "tabular-data-package",
        "keywords": ["feedback", "insight", "small-number suppression"],
        "licenses": [licence(licence_id)],
        "sources": [{"title": f"casefeedback instance {about['instance_id']}: {about['service']['name']}, "
                              "answers given by people who agreed to share insight"}],
        "resources": resources,
        "casefeedback": {"profile": PROFILE, **about, "suppress_below": threshold},
    }
