"""A partner reads the insight figures: de-identified counts, every small number suppressed as on the page."""

from __future__ import annotations

from flask import Flask

from tests.api.support import Caller, is_problem, pointers, register


def _send(caller: Caller, rating: int) -> None:
    sent = caller.post("/api/v1/feedback", {
        "service_id": "victim-support", "language": "en", "channel": "kiosk", "answers": {"treated": rating},
        "consent": {"choices": {"store": True, "share_insight": True}, "method": "channel", "version": 1}})
    assert sent.status_code == 201, sent.get_data(as_text=True)


def test_aggregates_are_suppressed_below_the_threshold(app: Flask, caller: Caller) -> None:
    for _ in range(11):
        _send(caller, 4)
    for _ in range(3):
        _send(caller, 2)
    partner = register(app, "partner agency", ["insight:read"])
    response = partner.get("/api/v1/insight?service=victim-support&from=2026-01&to=2026-12")
    assert response.status_code == 200, response.get_data(as_text=True)
    report = response.get_json()
    assert report["suppress_below"] == 10 and (report["from"], report["to"]) == ("2026-01", "2026-12")
    treated = next(q for q in report["questions"] if q["id"] == "treated")
    shown = {row["key"]: row["value"] for row in treated["answers"]}
    assert shown["4"] == 11 and shown["2"] is None and treated["total"] == 11  # 3 is too few to show
    assert "receipt" not in response.get_data(as_text=True)
    # The partner may read figures and nothing else.
    is_problem(partner.get("/api/v1/alerts"), 403)


def test_a_scope_the_insight_service_refuses_names_the_parameter(app: Flask, caller: Caller) -> None:
    assert pointers(is_problem(caller.get("/api/v1/insight?service=nothing"), 422)) == {"#/query/service"}
    assert pointers(is_problem(caller.get("/api/v1/insight?from=2026-13"), 422)) == {"#/query/from"}
    assert pointers(is_problem(caller.get("/api/v1/insight?from=26-1"), 400)) == {"#/query/from"}
    assert pointers(is_problem(caller.get("/api/v1/insight?colour=red"), 400)) == {"#/query/colour"}
