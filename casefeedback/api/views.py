"""API views: one module per resource; importing them here registers them on the blueprint ``create_app``
installs. Each view parses (the gate has checked every input already), calls one service and answers JSON."""

from __future__ import annotations

from casefeedback.api import alerts, cases, docs, feedback, insight, invitations
from casefeedback.api.blueprint import bp

__all__ = ["alerts", "bp", "cases", "docs", "feedback", "insight", "invitations"]
