"""Reads outside the organisation policy's working hours are flagged, judged in its declared zone and days."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, time
from pathlib import Path

from sqlalchemy import select

from casefeedback import create_app
from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.audit.review import flag, review_rows
from casefeedback.policy.model import WorkingHours
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events
from tests.conftest import POLICIES, AuthActions, Clock, StaffFactory, make_config

SUMMER_WEDNESDAY = datetime(2026, 7, 15, tzinfo=UTC)  # London is on BST (UTC+1)
EARLY = SUMMER_WEDNESDAY.replace(hour=6, minute=30)  # 07:30 in London
ON_TIME = SUMMER_WEDNESDAY.replace(hour=7, minute=30)  # 08:30 in London
SATURDAY = datetime(2026, 7, 18, 11, 0, tzinfo=UTC)  # noon in London


def read_at(found: Services, clock: Clock, moment: datetime, reader: str = "reader-1") -> int:
    """A field read (as the reading service records one) at ``moment``; its seq."""
    clock.now = moment
    with write(found.engine) as connection:
        return found.audit.append(connection, AuditEvent(
            action=Action.FIELD_OPEN, outcome="allowed", actor_id=reader, actor_role="caseworker",
            object_type="submission", object_id=f"sub-{moment:%d%H%M}", field_class="rating", purpose="casework"))


def flagged(found: Services, hours: WorkingHours) -> dict[int, list[str]]:
    with read(found.engine) as connection:
        rows = review_rows(connection.execute(select(audit_events).order_by(audit_events.c.seq)))
        flag(connection, rows, hours)
    return {row.seq: row.flags for row in rows}


def test_early_summer_and_saturday_reads_are_flagged_and_a_working_read_is_not(found, clock):
    early, on_time, saturday = (read_at(found, clock, m) for m in (EARLY, ON_TIME, SATURDAY))
    flags = flagged(found, found.policies.organisation.working_hours)
    assert "outside_hours" in flags[early]
    assert "outside_hours" not in flags[on_time]
    assert "outside_hours" in flags[saturday]


def test_a_changed_policy_changes_the_judgement(found, clock):
    early, on_time, saturday = (read_at(found, clock, m) for m in (EARLY, ON_TIME, SATURDAY))
    # A weekend service in New York (UTC-4 in July): 07:30 London is 02:30 there.
    weekend_new_york = WorkingHours(time(6, 0), time(20, 0), ("Sat", "Sun"), "America/New_York")
    flags = flagged(found, weekend_new_york)
    assert "outside_hours" in flags[early] and "outside_hours" in flags[on_time]
    assert "outside_hours" not in flags[saturday]  # 07:00 on Saturday in New York
    early_starters = WorkingHours(time(7, 0), time(18, 0))
    assert "outside_hours" not in flagged(found, early_starters)[early]


def test_the_log_says_and_uses_the_hours_the_policy_declares(tmp_path: Path):
    policies = tmp_path / "policies"
    policies.mkdir()
    shutil.copy(POLICIES / "victim-support.toml", policies / "victim-support.toml")
    (policies / "organisation.toml").write_text(
        '[working_hours]\nstart = "06:00"\nend = "14:00"\ndays = ["Wed", "Sat"]\ntime_zone = "Europe/Dublin"\n',
        encoding="utf-8")
    clock = Clock()
    app = create_app(make_config(tmp_path / "instance", policies_dir=policies), clock=clock)
    found: Services = app.extensions["casefeedback"]
    try:
        early, saturday = read_at(found, clock, EARLY), read_at(found, clock, SATURDAY)  # 07:30, 12:00 Dublin
        evening = read_at(found, clock, SUMMER_WEDNESDAY.replace(hour=14))  # 15:00 in Dublin
        _, name, password = StaffFactory(found)("auditor")
        auth = AuthActions(app.test_client())
        auth.sign_in(name, password)
        body = auth.client.get("/audit/").get_data(as_text=True)
        assert "Wednesday and Saturday, 06:00–14:00, Europe/Dublin" in body
        flags = flagged(found, found.policies.organisation.working_hours)
        assert "outside_hours" not in flags[early] and "outside_hours" not in flags[saturday]
        assert "outside_hours" in flags[evening]
        only_flagged = auth.client.get("/audit/?flagged=1&action=field.open").get_data(as_text=True)
        assert only_flagged.count("<td>field.open") == 1
    finally:
        found.engine.dispose()


def test_the_default_hours_are_shown_on_the_log_and_a_case_history(app, found, clock, staff_factory, auth):
    _, name, password = staff_factory("auditor")
    auth.sign_in(name, password)
    for url in ("/audit/", "/audit/?since=not-a-date", "/audit/cases/no-such-case"):
        body = auth.client.get(url).get_data(as_text=True)
        assert "Monday to Friday, 08:00–18:00, Europe/London" in body, url
