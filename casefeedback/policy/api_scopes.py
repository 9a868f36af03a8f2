"""What an API client may do: the scope vocabulary, and the one decision that reads it.

Scopes are named ``resource:action``, in the spirit of Warehouse's one
alphabetised permissions list, and an administrator grants each client the few
it needs (a case-management system has no business reading insight). Every API
operation declares the one scope it needs next to its route (api/operations.py);
``allows`` is the only place a client's scopes are compared with it, so a new
operation without a declared scope cannot be reached at all.

A scope opens an operation, never content: the API has no operation that returns
a sealed field (an answer, an outcome), whatever scopes a client holds. Acting on
behalf of a named staff member (closing a case, acknowledging an alert) passes the
same decision that person would get on a screen (policy/relations.py,
policy/alert_access.py), because the API calls the same services.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Every scope, alphabetised, with what it lets a client do, as the administrator reads it.
SCOPES: Mapping[str, str] = {
    "alerts:acknowledge": "Acknowledge an alert on behalf of a named staff member who may act on it",
    "alerts:read": "Read the states of alerts (never what the feedback said)",
    "cases:write": "Create and close cases and choose their deputy caseworker",
    "feedback:submit": "Send feedback taken through another channel, with its consent",
    "insight:read": "Read the de-identified, suppressed insight figures",
    "invitations:write": "Create invitations (link, short code and QR code) for a case",
}

# What the API says about an alert: its state and timing, for a duty system.
# Never the rule's title (it says what the person wrote about), the case, or the feedback.
ALERT_STATE_FIELDS = ("reference", "service", "severity", "state", "raised_at", "acknowledge_by", "overdue",
                      "acknowledged_at", "resolved_at", "step")


class UnknownScope(ValueError):
    """A scope that is not in the vocabulary."""


def checked_scopes(asked: Iterable[str]) -> frozenset[str]:
    """The scopes asked for, each known; UnknownScope names the first that is not."""
    chosen = frozenset(s.strip() for s in asked if s.strip())
    for scope in sorted(chosen):
        if scope not in SCOPES:
            raise UnknownScope(f"{scope!r} is not a scope; choose from {', '.join(SCOPES)}")
    if not chosen:
        raise UnknownScope("a client needs at least one scope")
    return chosen


def allows(granted: Iterable[str], needed: str | None) -> bool:
    """Whether a client holding ``granted`` may call an operation that needs ``needed``.

    Deny by default: an operation that declares no scope, or one not in the
    vocabulary, is refused to everyone.
    """
    return needed is not None and needed in SCOPES and needed in frozenset(granted)
