"""The front page, "/": where the address `scripts/serve` prints leads, in Welsh and English.

It lists the feedback services the policies declare (rather than sending
straight to the only one: the list also leads to the page for a caseworker's
short code and to a receipt), and nothing else. Registered on its own Blueprint,
``front_bp`` (intake/blueprint.py), because the intake blueprint's url_prefix
cannot serve "/". The title is the neutral "Give feedback" and no service is
named in it: titles stay in a shared device's history.

"/" is a door (intake/arrival.py): the list, which names services and their
helplines, is behind it at "/start", so Back after a quick exit finds only the
neutral page there.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for

from casefeedback.insight.changes import published
from casefeedback.intake import arrival
from casefeedback.intake.blueprint import front_bp, only_policy
from casefeedback.language import translate
from casefeedback.policy.pages import public
from casefeedback.services import services


@front_bp.route("/", methods=["GET"])
@public
def start() -> Any:
    """The address `scripts/serve` prints and people are given: a door, never a page of its own."""
    return arrival.door(url_for("front.give_feedback"))


@front_bp.route("/start", methods=["GET"])
@public
def give_feedback() -> Any:
    found = services()
    offered = sorted(found.policies.services.values(), key=lambda policy: translate(policy.name))
    # "You said, we did": only what a service manager has published (insight/changes.py), in the page's language.
    return render_template("front.html", policy=only_policy(), offered=offered, changes=published(found),
                           change_services=found.policies.services)
