"""Staff views: signing in and out, the session, and one's own account.

The routes live in one module per part; importing them here registers them on
the blueprint that ``create_app`` installs.
"""

from __future__ import annotations

from casefeedback.auth import signing_in, staff_session, your_account
from casefeedback.auth.blueprint import bp

__all__ = ["bp", "signing_in", "staff_session", "your_account"]
