"""Administrator views: staff accounts, teams and case handovers — never content.

The routes live in one module per part; importing them here registers them on
the blueprint that ``create_app`` installs. ``admin.staffing`` owns every change.
"""

from __future__ import annotations

from casefeedback.admin import handover, people, teams
from casefeedback.admin.blueprint import bp

__all__ = ["bp", "handover", "people", "teams"]
