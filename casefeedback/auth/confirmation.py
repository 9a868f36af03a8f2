"""Re-authentication before key operations (break-glass, managing accounts, new recovery codes).

Signing in counts as confirming who one is; after ``reauthenticate_within``
(organisation policy) a key operation asks for the password and a fresh code
again. A stolen, still-live session cookie therefore cannot open a case
outside normal access, nor hand out accounts.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import flash, redirect, request, url_for
from flask_login import current_user

from casefeedback.services import services

F = TypeVar("F", bound=Callable[..., Any])


def recently_confirmed() -> bool:
    info = getattr(current_user, "info", None)
    rules = services().policies.organisation.staff_sessions
    return info is not None and bool(info.recently_confirmed(services().clock(), rules))


def safe_next(target: str | None, fallback: str) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target


def confirmation_required(back: str | None = None) -> Callable[[F], F]:
    """Send the person to confirm who they are first. ``back``: the page to return to after a refused POST."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if recently_confirmed():
                return view(*args, **kwargs)
            if request.method == "GET":
                target = request.full_path.rstrip("?")
            else:
                target = url_for(back, **kwargs) if back else url_for("auth.home")
                flash("Nothing was changed. Confirm it is you, then try again.")
            return redirect(url_for("auth.confirm", next=target), code=303)

        return wrapper  # type: ignore[return-value]

    return decorate
