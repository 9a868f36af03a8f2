"""Registering and revoking clients: on the administrator's screen through real forms, and on the command line.
The token is shown once, kept only as its hash, and stops working on the next request once revoked."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import api_clients, audit_events
from tests.api.support import is_problem
from tests.casework.support import person
from tests.conftest import make_config
from tests.test_cli import run

SHOWN = re.compile(r"<code>(cfk_[A-Za-z0-9_-]{43})</code>")


def test_an_administrator_registers_and_revokes_a_client_through_the_forms(app: Flask, found: Services) -> None:
    admin = person(app, "administrator", team=None)
    page = admin.get("/admin/api-clients")
    assert page.status_code == 200 and "No system may use the API yet" in page.get_data(as_text=True)
    missing = admin.form_post("/admin/api-clients", "/admin/api-clients", {"name": "Pager"})
    assert missing.status_code == 400 and "Choose at least one" in missing.get_data(as_text=True)

    made = admin.form_post("/admin/api-clients", "/admin/api-clients",
                           {"name": "Duty pager", "scopes": ["alerts:read", "alerts:acknowledge"]})
    assert made.status_code == 200
    (token,) = SHOWN.findall(made.get_data(as_text=True))
    with read(found.engine) as connection:
        row = connection.execute(select(api_clients)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.scopes == "alerts:acknowledge alerts:read"
    assert token not in found.config.database_path.read_bytes().decode("latin-1")
    listed = admin.get("/admin/api-clients").get_data(as_text=True)
    assert row.token_prefix in listed and token not in listed  # never shown again

    system = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert system.get("/api/v1/alerts", headers=headers).status_code == 200
    is_problem(system.get("/api/v1/insight", headers=headers), 403)

    taken = admin.form_post("/admin/api-clients", "/admin/api-clients",
                            {"name": "Duty pager", "scopes": ["insight:read"]})
    assert taken.status_code == 409 and "already a client with that name" in taken.get_data(as_text=True)
    revoked = admin.form_post("/admin/api-clients", f"/admin/api-clients/{row.id}/revoke")
    assert revoked.status_code == 303
    is_problem(system.get("/api/v1/alerts", headers=headers), 401)
    with read(found.engine) as connection:
        events = connection.execute(select(audit_events.c.action, audit_events.c.actor_id).where(
            audit_events.c.object_id == row.id).order_by(audit_events.c.seq)).all()
    assert [(e.action, e.actor_id) for e in events if e.action.startswith("api.client")] == [
        ("api.client_add", admin.id), ("api.client_revoke", admin.id)]


def test_only_administrators_reach_the_client_screen(app: Flask) -> None:
    for role in ("caseworker", "duty_manager", "auditor", "analyst"):
        assert person(app, role).get("/admin/api-clients").status_code == 403, role


def test_the_command_line_adds_lists_and_revokes(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    make_config(instance)
    added = run("api-clients", "add", "Case system", "--scope", "cases:write", "--scope", "invitations:write",
                instance=instance)
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("cfk_") and len(token) == 47
    listed = run("api-clients", "list", instance=instance)
    assert "Case system" in listed.stdout and token[:12] in listed.stdout and token not in listed.stdout
    wrong = run("api-clients", "add", "Other", "--scope", "everything", instance=instance)
    assert wrong.returncode == 1 and "is not a scope" in wrong.stderr and "Traceback" not in wrong.stderr
    assert run("api-clients", "revoke", "Case system", instance=instance).returncode == 0
    again = run("api-clients", "revoke", "Case system", instance=instance)
    assert again.returncode == 1 and "revoked already" in again.stderr
    assert "revoked" in run("api-clients", "list", instance=instance).stdout
