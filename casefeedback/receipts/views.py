"""Receipt views: the code check, then what the person gave — to view, download, print, add to or withdraw.

The routes live in one module per kind of page; importing them here registers
them on the blueprint that ``create_app`` installs.
"""

from __future__ import annotations

from casefeedback.receipts import changing, viewing
from casefeedback.receipts.blueprint import bp

__all__ = ["bp", "changing", "viewing"]
