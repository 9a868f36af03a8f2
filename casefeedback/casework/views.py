"""Casework views: the workspace, a case and its feedback, break-glass, invitations.

The routes live in one module per part of the work; importing them here
registers them on the blueprint that ``create_app`` installs.
"""

from __future__ import annotations

from casefeedback.casework import (
    breakglass_pages,
    case_pages,
    invitation_pages,
    reply_pages,
    taking_pages,
    voice_pages,
    workspace,
)
from casefeedback.casework.blueprint import bp

__all__ = ["bp", "breakglass_pages", "case_pages", "invitation_pages", "reply_pages", "taking_pages",
           "voice_pages", "workspace"]
