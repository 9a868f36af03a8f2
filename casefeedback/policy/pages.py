"""Who may open which page: deny by default, public pages marked where they are declared, a role gate per blueprint.

A page nobody marked is for signed-in staff only (``security._deny_by_default``
sends everyone else to sign in), and a staff page opens only for the roles its
blueprint declares here — so a view added later is private, and a role added
later sees nothing until someone decides what it may see. Reading this module
and grepping for ``@public`` answers "which endpoints are public" completely.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Blueprint, Flask, abort, current_app, request
from flask_login import current_user

from casefeedback.policy.roles import (
    ADMIN_ROLES,
    AUDITOR_ROLES,
    CHANGE_ROLES,
    CONTENT_ROLES,
    DEAD_LETTER_ROLES,
    INSIGHT_EXPORT_ROLES,
    INSIGHT_ROLES,
    RECORDS_ROLES,
    ROTA_ROLES,
    STAFF_ROLES,
)

View = TypeVar("View", bound=Callable[..., Any])
_PUBLIC = "_casefeedback_public"
# Served by Flask or the app itself, with nothing personal in them.
ALWAYS_PUBLIC = frozenset({"static", "health"})

# Each staff blueprint's roles. Separation of duties: administrators, auditors and
# analysts have no casework; nobody but the auditor reads the audit log.
BLUEPRINT_ROLES: Mapping[str, frozenset[str]] = {
    "auth": STAFF_ROLES,
    "casework": CONTENT_ROLES,
    "alerts": CONTENT_ROLES,
    "admin": ADMIN_ROLES,
    "auditor": AUDITOR_ROLES,
    "insight": INSIGHT_ROLES,
    # Legal holds: the records officer only (case references and holds, never content).
    "records": RECORDS_ROLES,
}
# Pages inside a blueprint that a different set of roles may open.
ENDPOINT_ROLES: Mapping[str, frozenset[str]] = {
    "alerts.undelivered": DEAD_LETTER_ROLES,
    "alerts.rota_page": ROTA_ROLES,
    "alerts.remove_shift": ROTA_ROLES,
    "alerts.absence": ROTA_ROLES,
    "alerts.remove_absence": ROTA_ROLES,
    "insight.export": INSIGHT_EXPORT_ROLES,
    # "You said, we did": each service's [changes] publish then decides among these (policy/replies.py).
    "insight.changes": CHANGE_ROLES,
    "insight.change_save": CHANGE_ROLES,
    "insight.change": CHANGE_ROLES,
    "insight.change_edit": CHANGE_ROLES,
    "insight.change_publish": CHANGE_ROLES,
    "insight.change_unpublish": CHANGE_ROLES,
}


def public(view: View) -> View:
    """Mark a view as open to anyone without signing in. Put it directly under ``@bp.route``."""
    setattr(view, _PUBLIC, True)
    return view


def is_public(app: Flask, endpoint: str | None) -> bool:
    if endpoint is None:
        return False
    return endpoint in ALWAYS_PUBLIC or bool(getattr(app.view_functions.get(endpoint), _PUBLIC, False))


def public_endpoints(app: Flask) -> frozenset[str]:
    """Every endpoint of ``app`` anyone may reach without signing in."""
    return frozenset(e for e in app.view_functions if is_public(app, e))


def roles_for(endpoint: str) -> frozenset[str]:
    """The roles that may open a staff page; none for a page no blueprint declares (deny by default)."""
    if endpoint in ENDPOINT_ROLES:
        return ENDPOINT_ROLES[endpoint]
    return BLUEPRINT_ROLES.get(endpoint.split(".", 1)[0], frozenset())


def may_open(role: str, endpoint: str) -> bool:
    return role in roles_for(endpoint)


def role_gate(bp: Blueprint) -> None:
    """Install the blueprint's declared role gate: a signed-in member of another role gets 403."""
    if bp.name not in BLUEPRINT_ROLES:
        raise LookupError(f"blueprint {bp.name!r} declares no roles in casefeedback.policy.pages")

    @bp.before_request
    def _role_gate() -> None:
        endpoint = request.endpoint or ""
        if is_public(current_app, endpoint) or not current_user.is_authenticated:
            return  # public, or the application's deny-by-default sends them to sign in
        if not may_open(current_user.member.role, endpoint):
            abort(403)

