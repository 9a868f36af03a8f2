"""The insight blueprint (/insight) and what its views share: the filters, and the page for bad ones.

Who: analysts, and supervisors and duty managers (who run services and are the
managers the figures are for), as ``policy.pages`` declares. All three see
only suppressed aggregates; no view here opens a field or reads an answer.
Sharing an export outside the organisation is an analyst's job only.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from casefeedback.insight.service import ScopeRefused
from casefeedback.policy.pages import role_gate

bp = Blueprint("insight", __name__, url_prefix="/insight")
role_gate(bp)
FILTER_ARGS = ("service", "team", "from", "to")
# The export page, whose roles policy.pages declares: the overview offers it only to them.
EXPORT_ENDPOINT = f"{bp.name}.export"


def filter_args(source: Any) -> dict[str, str]:
    # Only the filter fields, each cut short: nothing else from the request goes anywhere.
    return {k: str(source.get(k, ""))[:80] for k in FILTER_ARGS}


def refused_page(refused: ScopeRefused) -> tuple[str, int]:
    return render_template("insight/overview.html", report=None, error=refused.problem, choices=refused.choices,
                           args={}, can_export=False), 400
