"""JSON Schemas the operations share (Draft 2020-12, as OpenAPI 3.1 uses). Requests are closed objects:
a field the operation does not take is refused by name rather than silently ignored."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

USERNAME: Schema = {"type": "string", "minLength": 1, "maxLength": 120, "pattern": r"^\S+$",
                    "description": "A staff member's username"}
ID: Schema = {"type": "string", "minLength": 1, "maxLength": 36, "pattern": "^[A-Za-z0-9-]+$"}
WHEN: Schema = {"type": "string", "format": "date-time"}
MAYBE_WHEN: Schema = {"type": ["string", "null"], "format": "date-time"}
ON_BEHALF: Schema = {"type": "object", "additionalProperties": False, "required": ["on_behalf_of"],
                     "properties": {"on_behalf_of": USERNAME}}


def closed(required: list[str], **properties: Schema) -> Schema:
    """An object with exactly these fields (``required`` among them)."""
    return {"type": "object", "additionalProperties": False, "required": required, "properties": properties}


def answered(required: list[str], **properties: Schema) -> Schema:
    """A response object: every field always present."""
    return {"type": "object", "required": required or list(properties), "properties": properties}
