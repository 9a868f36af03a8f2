"""The insight pages (/insight): de-identified, suppressed figures, charts with tables, signed exports.

The routes live in one module per part; importing them here registers them on
the blueprint that ``create_app`` installs.
"""

from __future__ import annotations

from casefeedback.insight import change_pages, figures, sharing
from casefeedback.insight.blueprint import bp

__all__ = ["bp", "change_pages", "figures", "sharing"]
