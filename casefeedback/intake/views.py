"""Intake views: consent first, then one thing per page, then check, send and the receipt.

The routes live in one module per part of the journey; importing them here
registers them on the blueprints that ``create_app`` installs (``front_bp`` is
the front page, "/").
"""

from __future__ import annotations

from casefeedback.intake import asking, code_entry, errors, finish, front, later, safety, start
from casefeedback.intake.blueprint import bp, front_bp

__all__ = ["asking", "bp", "code_entry", "errors", "finish", "front", "front_bp", "later", "safety", "start"]
