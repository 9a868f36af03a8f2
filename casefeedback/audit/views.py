"""The auditor's view (/audit): search the log, a case's access history, flags, signed exports.

The routes live in one module per part; importing them here registers them on
the blueprint that ``create_app`` installs.
"""

from __future__ import annotations

from casefeedback.audit import exporting, searching
from casefeedback.audit.blueprint import bp

__all__ = ["bp", "exporting", "searching"]
