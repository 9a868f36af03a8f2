"""The auditor's view: search and filter, a case's history, flags, signed exports — and never any content."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from casefeedback.audit import AuditEvent
from casefeedback.audit.checkpoints import Checkpoint
from casefeedback.policy.decisions import Actor
from casefeedback.reading import read_submission
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events, staff
from tests.conftest import canary
from tests.retention.conftest import seed_case, seed_submission

WEEKDAY_MORNING = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # a Monday, 09:30 in London
SATURDAY_NIGHT = datetime(2026, 11, 7, 23, 15, tzinfo=UTC)


def team_of(found, staff_id):
    with read(found.engine) as connection:
        return connection.execute(select(staff.c.team_id).where(staff.c.id == staff_id)).scalar_one()


@pytest.fixture
def scene(app, found, clock, staff_factory, auth):
    """An owner, their supervisor, an auditor; reads in and out of hours; a burst; a break-glass."""
    owner_id, _, _ = staff_factory("caseworker")
    boss_id, _, _ = staff_factory("supervisor")
    auditor_id, auditor_name, auditor_password = staff_factory("auditor")
    secrets = [canary() for _ in range(6)]
    cases = [seed_case(found, owner=owner_id) for _ in range(6)]
    subs = [seed_submission(found, {"anything_else": secrets[i], "treated": "2"}, case_id=case)
            for i, case in enumerate(cases)]
    owner = Actor(owner_id, "caseworker", team_of(found, owner_id))
    boss = Actor(boss_id, "supervisor", team_of(found, boss_id))
    clock.now = WEEKDAY_MORNING
    for sub in subs[:5]:  # five cases in five minutes: a burst
        read_submission(found, owner, sub, "casework")
        clock.advance(minutes=1)
    clock.now = SATURDAY_NIGHT
    read_submission(found, boss, subs[5], "casework")  # out of hours, and not the supervisor's own case
    with write(found.engine) as connection:
        found.audit.append(connection, AuditEvent(action="break_glass.open", outcome="granted", actor_id=boss_id,
                                                  actor_role="supervisor", object_type="case", object_id=cases[5],
                                                  detail={"break_glass": True, "reason": "urgent safeguarding"}))
    clock.now = WEEKDAY_MORNING + timedelta(days=14)
    auth.sign_in(auditor_name, auditor_password)
    return {"owner": owner_id, "boss": boss_id, "auditor": auditor_id, "cases": cases, "subs": subs,
            "secrets": secrets}


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def test_only_auditors_may_look(app, staff_factory, auth):
    _, name, password = staff_factory("caseworker")
    anonymous = app.test_client()
    assert anonymous.get("/audit/").status_code in (302, 303)
    auth.sign_in(name, password)
    assert auth.client.get("/audit/").status_code == 403
    assert auth.client.get("/audit/export?format=csv").status_code == 403


def test_search_flags_and_no_content(client, scene):
    body = page(client, "/audit/")
    for secret in scene["secrets"]:
        assert secret not in body
    assert "Break-glass" in body and "Read outside working hours" in body
    assert "Read a case not assigned to them" in body and "Opened 5+ cases within 10 minutes" in body
    flagged = page(client, "/audit/?flagged=1")
    assert "<td>staff.sign_in" not in flagged and "<td>field.open" in flagged


def test_filters_by_staff_case_action_and_date(client, scene, found):
    by_boss = page(client, f"/audit/?staff={scene['boss']}&action=field.open")
    assert by_boss.count("<tr") - 1 == 1  # header row + the supervisor's one read
    by_case = page(client, f"/audit/?case={scene['cases'][0]}")
    assert "<td>field.open" in by_case and scene["cases"][1][:8] not in by_case
    none = page(client, "/audit/?since=2030-01-01")
    assert "No events match." in none
    weekend = page(client, "/audit/?since=2026-11-07&until=2026-11-07&action=field.")
    assert weekend.count("<td>field.open") == 1
    assert client.get("/audit/?since=tomorrow").status_code == 400


def test_a_cases_full_access_history(client, scene, found):
    case_id = scene["cases"][5]
    body = page(client, f"/audit/cases/{case_id}")
    assert "<td>break_glass.open" in body and "<td>field.open" in body and "<td>submission.receive" in body
    assert scene["secrets"][5] not in body
    with read(found.engine) as connection:
        viewed = connection.execute(select(audit_events).where(audit_events.c.action == "audit.case_history")).one()
    assert viewed.actor_id == scene["auditor"] and viewed.object_id == case_id


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_exports_carry_the_checkpoint_that_covers_them_and_are_audited(client, scene, found, kind):
    response = client.get(f"/audit/export?format={kind}&case={scene['cases'][5]}")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    raw = response.get_data()
    for secret in scene["secrets"]:
        assert secret.encode() not in raw
    archive = zipfile.ZipFile(io.BytesIO(raw))
    assert set(archive.namelist()) == {f"events.{kind}", "checkpoint.json", "README.txt"}
    checkpoint = Checkpoint.from_json(archive.read("checkpoint.json").decode())
    assert checkpoint.signature_ok()
    text = archive.read(f"events.{kind}").decode()
    if kind == "jsonl":
        rows = [json.loads(line) for line in text.splitlines()]
    else:
        import csv

        rows = list(csv.DictReader(io.StringIO(text)))
    seqs = [int(r["seq"]) for r in rows]
    assert seqs and max(seqs) <= checkpoint.seq
    assert any("break_glass" in r["flags"] for r in rows)
    with read(found.engine) as connection:
        exported = connection.execute(select(audit_events).where(audit_events.c.action == "audit.export")).one()
    assert exported.actor_id == scene["auditor"] and f'"format":"{kind}"' in exported.detail
    assert client.get("/audit/export?format=xml").status_code == 400


def test_a_formula_in_a_reason_cannot_run_in_a_spreadsheet(client, scene, found):
    with write(found.engine) as connection:
        found.audit.append(connection, AuditEvent(action="legal_hold.set", outcome="success", object_type="case",
                                                  object_id="=HYPERLINK(\"x\")", detail={"reason": "=1+1"}))
    raw = client.get("/audit/export?format=csv&action=legal_hold.set").get_data()
    events = zipfile.ZipFile(io.BytesIO(raw)).read("events.csv").decode()
    assert "'=HYPERLINK" in events
