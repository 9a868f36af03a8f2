"""Alert views: the inbox and one alert's page, the dead-letter list, the duty rota.

The routes live in one module per part of the work; importing them here
registers them on the blueprint that ``create_app`` installs.
"""

from __future__ import annotations

from casefeedback.alerts import inbox_pages, rota_pages
from casefeedback.alerts.blueprint import bp

__all__ = ["bp", "inbox_pages", "rota_pages"]
