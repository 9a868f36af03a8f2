"""Another channel sends feedback with its consent: a receipt code back, the answers sealed (a canary is in no file,
log or response), the alert rule fired — through the same service as every other way in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import alerts, audit_events, consent_receipts, submissions
from tests.api.support import Caller, calls_of, is_problem, pointers, register
from tests.conftest import canary


def _feedback(words: str, **changes: Any) -> dict[str, Any]:
    sent: dict[str, Any] = {
        "service_id": "victim-support", "language": "en", "channel": "kiosk",
        "answers": {"treated": 4, "safe_now": "no", "safer": words, "listened": "yes"},
        "consent": {"choices": {"store": True}, "method": "channel", "version": 1}}
    sent.update(changes)
    return sent


def _files(found: Services) -> bytes:
    database = found.config.database_path
    found.engine.dispose()  # let SQLite fold its WAL back, then read both, as a thief of the disk would
    paths = [database, Path(f"{database}-wal"), found.config.log_path]
    return b"".join(p.read_bytes() for p in paths if p is not None and p.exists())


def _count(found: Services, table: Any) -> int:
    with read(found.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_feedback_is_stored_sealed_with_a_receipt_and_raises_its_alert(app: Flask, found: Services) -> None:
    kiosk = register(app, "kiosk in the station", ["feedback:submit"])
    words = canary()
    response = kiosk.post("/api/v1/feedback", _feedback(words))
    assert response.status_code == 201, response.get_data(as_text=True)
    taken = response.get_json()
    assert len(taken["receipt_code"]) == 24 and taken["alerts"] == 1 and taken["linked_to_case"] is False
    assert words not in response.get_data(as_text=True)
    with read(found.engine) as connection:
        submission = connection.execute(select(submissions)).one()
        raised = connection.execute(select(alerts)).one()
        received = connection.execute(select(audit_events.c.detail).where(
            audit_events.c.object_id == submission.id)).scalars().all()
    assert raised.rule_id == "unsafe-now" and raised.submission_id == submission.id
    assert _count(found, consent_receipts) == 1
    assert any("kiosk" in d for d in received)
    (call,) = calls_of(found, kiosk.id)[-1:]
    assert call.action == "api.call" and "submitFeedback" in call.detail and submission.id in call.detail
    assert words.encode() not in _files(found)


def test_feedback_outside_the_policy_names_each_field_and_stores_nothing(app: Flask, found: Services,
                                                                        caller: Caller) -> None:
    words = canary()
    refused = is_problem(caller.post("/api/v1/feedback", _feedback(
        words, answers={"safe_now": "perhaps", "nonsense": "x", "safer": words},
        consent={"choices": {"store": False}, "method": "channel", "version": 1})), 422)
    assert pointers(refused) == {"/answers/safe_now", "/answers/nonsense", "/consent/choices/store"}
    assert words not in str(refused)
    outside_schema = is_problem(caller.post("/api/v1/feedback", _feedback(
        words, consent={"choices": {"store": "yes"}, "method": "smoke signal", "version": 1},
        extra=True, answers={"treated": {"nested": words}})), 400)
    assert pointers(outside_schema) == {"/extra", "/consent/choices/store", "/consent/method", "/answers/treated"}
    assert words not in str(outside_schema)
    is_problem(caller.post("/api/v1/feedback", _feedback(words, channel="carrier pigeon")), 422)
    assert _count(found, submissions) == 0 and _count(found, consent_receipts) == 0 and _count(found, alerts) == 0
    assert words.encode() not in _files(found)
