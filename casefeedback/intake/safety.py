"""Staying safe online: private browsing, clearing history and the quick exit, offered before the first question.

Domestic-abuse services give this advice before anything else, because the
person may be using a device someone else checks; waiting until the receipt's
"forgotten" page is too late. The page names no service and shows no answer.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for

from casefeedback.intake.blueprint import bp, policy_for
from casefeedback.policy.pages import public


@bp.route("/<service_id>/staying-safe", methods=["GET"])
@public
def staying_safe(service_id: str) -> Any:
    policy = policy_for(service_id)
    return render_template("intake/staying_safe.html", policy=policy,
                           back_url=url_for("intake.consent_page", service_id=policy.id))
