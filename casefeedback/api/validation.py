"""Every input checked against the operation's own schema (jsonschema, Draft 2020-12) before any work.

The messages are our own, not jsonschema's: its messages quote the value sent,
and a value may be someone's words. Each names the field by a JSON Pointer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, cast

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from werkzeug.datastructures import MultiDict

from casefeedback.api.operations import Operation, Schema
from casefeedback.api.problems import FieldError, Problem

_VALIDATORS: dict[int, Draft202012Validator] = {}


def _validator(schema: Schema) -> Draft202012Validator:
    key = id(schema)  # the schemas are module constants, built once
    if key not in _VALIDATORS:
        Draft202012Validator.check_schema(schema)
        _VALIDATORS[key] = Draft202012Validator(schema, format_checker=FormatChecker())
    return _VALIDATORS[key]


def pointer(parts: Iterable[Any]) -> str:
    """RFC 6901: ``~`` and ``/`` inside a name are escaped."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _said(error: ValidationError) -> list[FieldError]:
    """What is wrong, field by field, in words that never repeat the value."""
    where = pointer(error.absolute_path)
    rule, schema = error.validator, error.schema if isinstance(error.schema, dict) else {}
    instance, value = error.instance, cast(Any, error.validator_value)
    if rule == "required" and isinstance(instance, dict):
        return [FieldError(f"{where}{pointer([name])}", "is required") for name in value if name not in instance]
    if rule in ("additionalProperties", "unevaluatedProperties") and isinstance(instance, dict):
        known = set(schema.get("properties", {}))
        return [FieldError(f"{where}{pointer([name])}", "is not a field this operation takes")
                for name in instance if name not in known]
    messages = {
        "type": f"must be {_a(value)}",
        "enum": "must be one of: " + ", ".join(json.dumps(v) for v in (value if isinstance(value, list) else ())),
        "const": f"must be {json.dumps(value)}",
        "maxLength": f"must be at most {value} characters",
        "minLength": f"must be at least {value} characters",
        "maximum": f"must be at most {value}",
        "minimum": f"must be at least {value}",
        "maxItems": f"must have at most {value} items",
        "minItems": f"must have at least {value} items",
        "maxProperties": f"must have at most {value} entries",
        "minProperties": f"must have at least {value} entries",
        "pattern": "is not in the expected form",
        "format": f"must be a valid {value}",
        "uniqueItems": "must not repeat an item",
    }
    return [FieldError(where or "/", messages.get(str(rule), "is not valid here"))]


def _a(kind: object) -> str:
    kinds = kind if isinstance(kind, list) else [kind]
    words = {"string": "a string", "integer": "a whole number", "number": "a number", "boolean": "true or false",
             "object": "an object", "array": "a list", "null": "null"}
    return " or ".join(words.get(str(k), str(k)) for k in kinds)


def _check(schema: Schema, value: Any, prefix: str = "") -> None:
    errors = sorted(_validator(schema).iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    # One error per field and message: jsonschema reports a missing field once per "required" it breaks.
    found = list(dict.fromkeys(FieldError(prefix + e.pointer if prefix else e.pointer, e.detail)
                               for err in errors for e in _said(err)))
    if found:
        raise Problem(400, "Some fields are not valid: see errors.", found, kind="invalid")


def body(op: Operation, content_type: str | None, raw: bytes) -> dict[str, Any]:
    """The request body as JSON that fits the operation's schema; Problem 415 or 400 otherwise."""
    if op.body is None:
        if raw:
            raise Problem(400, "This operation takes no request body.", kind="invalid")
        return {}
    if (content_type or "").split(";")[0].strip().lower() != "application/json":
        raise Problem(415, "Send the request body as JSON, with Content-Type: application/json.")
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Problem(400, "The request body is not valid JSON.", [FieldError("/", "is not valid JSON")],
                      kind="invalid") from None
    _check(op.body, parsed)
    return parsed if isinstance(parsed, dict) else {}


def query(op: Operation, args: MultiDict[str, str]) -> dict[str, str]:
    """The query parameters, each declared, given once and fitting its schema; Problem 400 otherwise."""
    problems = [FieldError(f"#/query/{name}", "is not a parameter this operation takes")
                for name in args if name not in op.query]
    problems += [FieldError(f"#/query/{name}", "must be given once") for name in op.query
                 if len(args.getlist(name)) > 1]
    if problems:
        raise Problem(400, "Some parameters are not valid: see errors.", problems, kind="invalid")
    given = {name: args[name] for name in op.query if name in args}
    _check({"type": "object", "properties": dict(op.query)}, given, prefix="#/query")
    return given


def path(op: Operation, values: Mapping[str, Any]) -> None:
    """A path parameter that cannot name anything is simply not found."""
    for name, schema in op.path_params.items():
        if list(_validator(schema).iter_errors(values.get(name))):
            raise Problem(404, "There is nothing at this address.")
