"""take_whole, the channel-neutral intake service, called directly: what it stores, and what it refuses."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from sqlalchemy import func, select

from casefeedback.intake.submissions import AlreadySubmitted
from casefeedback.intake.whole import Invalid, WholeConsent, WholeFeedback, take_whole
from casefeedback.policy.consent_text import consent_script
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import (
    alerts,
    answers,
    audit_events,
    consent_receipts,
    data_keys,
    submission_channels,
    submissions,
)
from tests.conftest import StaffFactory, canary
from tests.stores import store_files

SERVICE = "victim-support"


def _feedback(recorded_by: str | None = None, **changes: object) -> WholeFeedback:
    base: dict[str, object] = {
        "service_id": SERVICE, "language": "en", "answers": {"treated": "4", "listened": "yes"},
        "consent": WholeConsent({"store": True, "contact_me": False, "share_insight": True}, "verbal", 1),
        "channel": "phone", "recorded_by": recorded_by}
    base.update(changes)
    return WholeFeedback(**base)  # type: ignore[arg-type]


def _counts(found: Services) -> dict[str, int]:
    with read(found.engine) as connection:
        return {table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
                for table in (submissions, consent_receipts, answers, data_keys, submission_channels, alerts)}


def test_a_phone_feedback_is_stored_sealed_with_its_channel_and_the_consent_text_read_out(
        app: Flask, found: Services, staff_factory: StaffFactory) -> None:
    staff_id, _, _ = staff_factory("caseworker")
    words = canary()
    with app.app_context():
        taken = take_whole(found, _feedback(staff_id, language="cy", answers={
            "treated": 1, "safe_now": "no", "anything_else": f"  {words}  ", "listened": ""}))
    assert taken.alerts == 2 and set(taken.alert_rules) == {"unsafe-now", "treated-badly"}
    assert taken.receipt_sent is None and len(taken.receipt_code.replace("-", "")) >= 16
    with read(found.engine) as connection:
        channel = connection.execute(select(submission_channels)).one()
        consent = connection.execute(select(consent_receipts)).one()
        stored = connection.execute(select(answers.c.question_id)).scalars().all()
        taken_events = connection.execute(select(audit_events).where(
            audit_events.c.action == "submission.take")).all()
    assert (channel.submission_id, channel.channel, channel.consent_method, channel.recorded_by) == (
        taken.submission_id, "phone", "verbal", staff_id)
    # The exact words read out, in Welsh, from the policy in force.
    assert channel.consent_text == consent_script(found.policies.services[SERVICE], "cy")
    assert "Hoffwn i ofyn" in channel.consent_text
    assert consent.language == "cy" and json.loads(consent.choices)["store"] is True
    assert sorted(stored) == ["anything_else", "safe_now", "treated"]  # "listened" skipped: nothing stored
    assert len(taken_events) == 1 and taken_events[0].actor_id == staff_id
    assert words not in json.dumps([list(e) for e in taken_events], default=str)
    assert not any(words.encode() in path.read_bytes() for path in store_files(found.config) if path.exists())


@pytest.mark.parametrize(("changes", "field"), [
    ({"service_id": "nope"}, "service_id"),
    ({"language": "fr"}, "language"),
    ({"channel": "carrier-pigeon"}, "channel"),
    ({"channel": "kiosk"}, "channel"),  # not staff-assisted: nobody takes kiosk feedback for someone
    ({"answers": {"treated": "9"}}, "answers.treated"),
    ({"answers": {"no_such_question": "yes"}}, "answers.no_such_question"),
    ({"answers": {"anything_else": "x" * 4001}}, "answers.anything_else"),
    ({"answers": {"listened": ["yes"]}}, "answers.listened"),
    ({"consent": WholeConsent({"store": False}, "verbal", 1)}, "consent.choices.store"),
    ({"consent": WholeConsent({"store": True, "marketing": True}, "verbal", 1)}, "consent.choices.marketing"),
    ({"consent": WholeConsent({"store": True}, "online", 1)}, "consent.method"),
    ({"consent": WholeConsent({"store": True}, "telepathy", 1)}, "consent.method"),
    ({"consent": WholeConsent({"store": True}, "verbal", 99)}, "consent.version"),
    ({"contact": "not an address"}, "contact"),
    ({"case_id": "no-such-case"}, "case_id"),
    ({"recorded_by": "no-such-person"}, "recorded_by"),
])
def test_anything_outside_the_policy_is_refused_by_field_and_nothing_is_written(
        app: Flask, found: Services, staff_factory: StaffFactory, changes: dict[str, object], field: str) -> None:
    staff_id, _, _ = staff_factory("caseworker")
    before = _counts(found)
    with app.app_context(), pytest.raises(Invalid) as refused:
        take_whole(found, _feedback(**{"recorded_by": staff_id, **changes}))
    assert refused.value.errors.get(field)
    assert _counts(found) == before


@pytest.mark.parametrize("role", ["analyst", "administrator", "auditor", "supervisor"])
def test_only_roles_the_policy_names_may_take_feedback(app: Flask, found: Services, staff_factory: StaffFactory,
                                                       role: str) -> None:
    staff_id, _, _ = staff_factory(role)
    with app.app_context(), pytest.raises(Invalid) as refused:
        take_whole(found, _feedback(staff_id))
    assert "recorded_by" in refused.value.errors
    assert _counts(found)["submissions"] == 0


def test_an_api_client_may_pass_on_kiosk_feedback_with_the_channels_consent(app: Flask, found: Services) -> None:
    with app.app_context():
        taken = take_whole(found, _feedback(None, channel="kiosk", api_client="client-1",
                                            consent=WholeConsent({"store": True}, "channel", 1)))
    with read(found.engine) as connection:
        row = connection.execute(select(submission_channels)).one()
    assert (row.channel, row.consent_method, row.recorded_by, row.api_client_id) == (
        "kiosk", "channel", None, "client-1")
    assert taken.alerts == 0


def test_nobody_named_is_refused(app: Flask, found: Services) -> None:
    with app.app_context(), pytest.raises(Invalid) as refused:
        take_whole(found, _feedback(None, channel="kiosk", consent=WholeConsent({"store": True}, "channel", 1)))
    assert "recorded_by" in refused.value.errors


def test_the_same_submission_cannot_be_stored_twice(app: Flask, found: Services,
                                                    staff_factory: StaffFactory) -> None:
    assert AlreadySubmitted  # replays are the API's concern (idempotency keys); here each call is one person
    staff_id, _, _ = staff_factory("caseworker")
    with app.app_context():
        first = take_whole(found, _feedback(staff_id))
        second = take_whole(found, _feedback(staff_id))
    assert first.submission_id != second.submission_id and first.receipt_code != second.receipt_code
