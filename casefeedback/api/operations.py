"""Each API operation declared once, beside its route: path, method, scope, schemas and answers.

``operation`` registers the route on the blueprint and records the operation;
the OpenAPI document (``document.py``) is built from these records and the gate
(``blueprint.py``) checks tokens, scopes and every input against the very same
schemas before the view runs. So the document cannot describe a route that does
not exist, nor a route exist that the document does not describe.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint

from casefeedback.policy.pages import public

Schema = dict[str, Any]
View = TypeVar("View", bound=Callable[..., Any])
PREFIX = "/api"


@dataclass(frozen=True)
class Operation:
    endpoint: str  # the Flask endpoint, "api.create_case"
    path: str  # as the document writes it, "/api/v1/cases/{case_id}"
    method: str  # lower case, as OpenAPI keys it
    operation_id: str
    summary: str
    tag: str
    scope: str  # the one scope a client needs (policy/api_scopes.py)
    body: Schema | None = None
    path_params: Mapping[str, Schema] = field(default_factory=dict)
    query: Mapping[str, Schema] = field(default_factory=dict)
    # status -> (description, JSON schema of the body, or None for none); problems are added by the document.
    responses: Mapping[int, tuple[str, Schema | None]] = field(default_factory=dict)
    # Statuses the operation itself may answer with a problem (404, 409, 422...), beyond the gate's.
    problems: Mapping[int, str] = field(default_factory=dict)
    description: str = ""
    media_type: str = "application/json"  # of the success response


OPERATIONS: dict[str, Operation] = {}
_PARAMETER = re.compile(r"\{([a-z_]+)\}")


def flask_rule(path: str) -> str:
    """``/api/v1/cases/{case_id}`` → ``/v1/cases/<case_id>`` (the blueprint adds /api)."""
    return _PARAMETER.sub(r"<\1>", path.removeprefix(PREFIX))


def operation(bp: Blueprint, path: str, method: str, *, operation_id: str, summary: str, tag: str,
              scope: str, **details: Any) -> Callable[[View], View]:
    """Declare an operation and register its view. Put it directly above the view function."""

    def register(view: View) -> View:
        endpoint = f"{bp.name}.{view.__name__}"
        if endpoint in OPERATIONS:
            raise LookupError(f"operation {endpoint} declared twice")
        OPERATIONS[endpoint] = Operation(endpoint, path, method.lower(), operation_id, summary, tag, scope,
                                         **details)
        # Open to no staff session: the API's credential is a bearer token, and the blueprint's
        # gate refuses every call without the right one (deny by default, api/blueprint.py).
        bp.add_url_rule(flask_rule(path), view.__name__, public(view), methods=[method.upper()])
        return view

    return register


def operation_for(endpoint: str | None) -> Operation | None:
    return OPERATIONS.get(endpoint or "")
