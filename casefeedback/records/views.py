"""Records views: legal holds. Importing the routes registers them on the blueprint ``create_app`` installs."""

from __future__ import annotations

from casefeedback.records import hold_pages
from casefeedback.records.blueprint import bp

__all__ = ["bp", "hold_pages"]
