"""Administrator views: staff accounts, teams, case handovers and the keys and policies in force — never content.

The routes live in one module per part; importing them here registers them on
the blueprint that ``create_app`` installs. ``admin.staffing`` owns every change.
"""

from __future__ import annotations

from casefeedback.admin import api_clients, handover, in_force, people, teams
from casefeedback.admin.blueprint import bp

__all__ = ["api_clients", "bp", "handover", "in_force", "people", "teams"]
