"""Intake views: consent first, then one thing per page, then check, send and the receipt.

The routes live in one module per part of the journey; importing them here
registers them on the blueprint that ``create_app`` installs.
"""

from __future__ import annotations

from casefeedback.intake import asking, errors, finish, later, start
from casefeedback.intake.blueprint import bp

__all__ = ["asking", "bp", "errors", "finish", "later", "start"]
