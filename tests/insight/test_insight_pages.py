"""The insight pages: who may see them, bad filters, CSP-clean charts with tables, signed audited exports."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile

import pytest
from sqlalchemy import select

from casefeedback.audit.checkpoints import public_key_of as audit_public_key
from casefeedback.insight.export import public_key_of, verify_bundle
from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events
from tests.conftest import csrf_token
from tests.insight.support import SERVICE, set_counts, team

PERIOD = "from=2026-01&to=2026-03"


@pytest.fixture
def seeded(found):
    north = team(found, "North")
    counts = {(SERVICE, north, m, "listened", a): n for m in ("2026-01", "2026-02", "2026-03")
              for a, n in (("yes", 30), ("no", 12))}
    counts[(SERVICE, north, "2026-02", "chased", "yes")] = 7  # below the threshold
    counts[(SERVICE, north, "2026-03", "chased", "yes")] = 11
    counts[(SERVICE, north, "2026-03", "chased", "no")] = 20
    set_counts(found, counts)
    return north


def sign_in_as(staff_factory, auth, role):
    _id, username, password = staff_factory(role=role)
    auth.sign_in(username, password)


@pytest.mark.parametrize("role", ["caseworker", "auditor", "administrator"])
def test_other_roles_cannot_see_insight(client, staff_factory, auth, role):
    sign_in_as(staff_factory, auth, role)
    assert client.get("/insight/").status_code == 403
    assert client.post("/insight/export", data={}).status_code in (400, 403)


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get("/insight/")
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]


def test_analyst_sees_charts_with_tables_and_suppression(client, staff_factory, auth, seeded):
    sign_in_as(staff_factory, auth, "analyst")
    response = client.get(f"/insight/?{PERIOD}&team={seeded}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<svg" in page and "<table" in page and ">Hidden<" in page
    assert not re.search(r">[^<]*suppressed", page)  # said in words ("Hidden"), never as jargon
    assert page.count("<svg") <= page.count("<table")  # every chart has its table
    # CSP-clean: no inline style, no inline or external script beyond our own static files.
    assert "style=" not in page and "<style" not in page
    assert all(src.startswith("/static/") for src in re.findall(r'<script[^>]*src="([^"]+)"', page))
    assert "<script>" not in page
    assert "Failure demand" in page and ">90<" in page
    assert not re.search(r">\s*7\s*<", page)  # the small count appears nowhere


def test_supervisor_may_look_but_not_export(client, staff_factory, auth, seeded):
    sign_in_as(staff_factory, auth, "supervisor")
    page = client.get(f"/insight/?{PERIOD}").get_data(as_text=True)
    assert "Export for sharing" not in page
    assert client.post("/insight/export", data={"csrf_token": csrf_token(page)}).status_code == 403


@pytest.mark.parametrize("query, message", [
    ("service=nope", "We do not know that service"),
    ("team=not-a-team", "We do not know that team"),
    ("from=2026-13", "must be a real month"),
    ("from=2026-02-30", "must be a real month"),
    ("to=%3Cscript%3Ealert(1)%3C/script%3E", "must be a real month"),
    ("from=2026-05&to=2026-01", "on or before"),
    ("from=1990-01", "must be a real month"),
    ("from=2000-01&to=2100-01", "at most"),
    ("service=%27%20OR%201=1--", "We do not know that service"),
])
def test_bad_filters_get_a_clear_message_and_no_figures(client, staff_factory, auth, seeded, query, message):
    sign_in_as(staff_factory, auth, "analyst")
    response = client.get(f"/insight/?{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert "<script>alert" not in page and "OR 1=1" not in page
    assert "<svg" not in page and "insight-table" not in page


def test_export_is_signed_verifiable_and_audited(client, staff_factory, auth, found, seeded):
    sign_in_as(staff_factory, auth, "analyst")
    page = client.get(f"/insight/?{PERIOD}").get_data(as_text=True)
    response = client.post("/insight/export", data={"csrf_token": csrf_token(page), "service": SERVICE,
                                                    "from": "2026-01", "to": "2026-03"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    key = public_key_of(found.config.secrets.insight_signing.value)
    assert key != audit_public_key(found.config.secrets.audit_signing.value)
    assert verify_bundle(files, key) == []
    document = json.loads(files["datapackage.json"])
    assert document["casefeedback"]["profile"] == "casefeedback.insight/2"
    assert document["casefeedback"]["suppress_below"] == 10
    counts = [line.rsplit(",", 1)[1] for line in files["insight.csv"].decode().splitlines()[1:]]
    published = [int(n) for n in counts if n != "suppressed"]
    assert published and min(published) >= 10
    tampered = {**files, "insight.csv": files["insight.csv"].replace(b",30", b",31")}
    assert verify_bundle(tampered, key) == ["insight.csv is missing or changed"]
    assert verify_bundle(files, "00" * 32)  # another agency's key does not verify it
    with read(found.engine) as connection:
        event = connection.execute(select(audit_events).where(audit_events.c.action == "insight.export")).one()
    detail = json.loads(event.detail)
    assert detail["rows"] == len(published)
    assert detail["manifest_sha256"] == hashlib.sha256(files["datapackage.json"]).hexdigest()


def test_export_without_a_token_is_refused(client, staff_factory, auth, seeded):
    sign_in_as(staff_factory, auth, "analyst")
    assert client.post("/insight/export", data={"service": SERVICE}).status_code == 400



def test_without_a_signing_key_the_export_is_refused_clearly(config, clock, staff_factory, found, seeded):
    from dataclasses import replace

    from casefeedback import create_app
    from tests.conftest import AuthActions

    unsigned = create_app(replace(config, secrets=replace(config.secrets, insight_signing=None)), clock=clock)
    client = unsigned.test_client()
    _id, username, password = staff_factory(role="analyst")
    AuthActions(client).sign_in(username, password)
    page = client.get(f"/insight/?{PERIOD}").get_data(as_text=True)
    response = client.post("/insight/export", data={"csrf_token": csrf_token(page), "service": SERVICE})
    unsigned.extensions["casefeedback"].engine.dispose()
    assert response.status_code == 409 and "casefeedback init" in response.get_data(as_text=True)
    with read(found.engine) as connection:
        assert connection.execute(select(audit_events).where(audit_events.c.action == "insight.export")).first() is None
