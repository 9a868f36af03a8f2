"""The document itself (/api/openapi.json) and its page for people (/api/docs), drawn by our own template:
no script or style from anywhere else, which the Content-Security-Policy would refuse anyway."""

from __future__ import annotations

import json
from typing import Any

from flask import render_template, request

from casefeedback.api.blueprint import bp
from casefeedback.api.document import openapi
from casefeedback.api.problems import TITLES
from casefeedback.policy.api_scopes import SCOPES
from casefeedback.policy.pages import public


@bp.route("/openapi.json")
@public
def openapi_document() -> Any:
    return openapi(request.host_url)


@bp.route("/docs")
@public
def docs() -> Any:
    document = openapi(request.host_url)
    grouped: dict[str, list[dict[str, Any]]] = {tag["name"]: [] for tag in document["tags"]}
    for path, methods in document["paths"].items():
        for method, described in methods.items():
            grouped[described["tags"][0]].append({"path": path, "method": method.upper(), **described})
    return render_template("api/docs.html", document=document, grouped=grouped, scopes=SCOPES,
                           problems=TITLES, pretty=lambda value: json.dumps(value, indent=2),
                           compact=lambda value: json.dumps(value, separators=(", ", ": ")))
