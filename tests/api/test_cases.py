"""A case-management system: create a case for a caseworker, choose its deputy, invite, close — each decided as it
would be for the named staff member, and each audited with the client as the actor."""

from __future__ import annotations

import base64

from flask import Flask
from sqlalchemy import func, select

from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events, cases, invitations
from tests.api.support import Caller, calls_of, is_problem, pointers
from tests.casework.support import person
from tests.conftest import StaffFactory


def _count(found: Services, table) -> int:  # type: ignore[no-untyped-def]
    with read(found.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_create_assign_invite_close(app: Flask, found: Services, caller: Caller,
                                    staff_factory: StaffFactory) -> None:
    owner_id, owner, _ = staff_factory("caseworker", team="North")
    deputy_id, deputy, _ = staff_factory("caseworker", team="North")

    created = caller.post("/api/v1/cases", {"owner": owner, "service_id": "victim-support", "reference": "VS-77"})
    assert created.status_code == 201, created.get_data(as_text=True)
    case_id = created.get_json()["id"]
    with read(found.engine) as connection:
        row = connection.execute(select(cases).where(cases.c.id == case_id)).one()
    assert (row.owner_id, row.reference, row.status) == (owner_id, "VS-77", "open")

    assigned = caller.put(f"/api/v1/cases/{case_id}/deputy", {"on_behalf_of": owner, "deputy": deputy})
    assert assigned.status_code == 200 and assigned.get_json()["deputy"] == deputy
    with read(found.engine) as connection:
        assert connection.execute(select(cases.c.deputy_id).where(cases.c.id == case_id)).scalar_one() == deputy_id

    invited = caller.post(f"/api/v1/cases/{case_id}/invitations", {"on_behalf_of": owner, "uses": 2, "days": 7})
    assert invited.status_code == 201
    made = invited.get_json()
    assert made["uses"] == 2 and len(made["short_code"]) == 12
    assert base64.b64decode(made["qr_png"]).startswith(b"\x89PNG")
    assert made["qr_svg"].lstrip().startswith("<svg")
    # The link is a real, working invitation: opening it leads to the consent page.
    opened = app.test_client().get(made["link"].removeprefix("http://localhost"))
    assert opened.status_code in (302, 303) and "/feedback/" in opened.headers["Location"]
    token = made["link"].rsplit("/", 1)[1]
    with read(found.engine) as connection:
        stored = " ".join(str(v) for r in connection.execute(select(invitations)).all() for v in r)
    assert token not in stored and made["short_code"].replace("-", "") not in stored

    closed = caller.post(f"/api/v1/cases/{case_id}/close", {"on_behalf_of": owner})
    assert closed.get_json() == {"id": case_id, "status": "closed", "changed": True}
    again = caller.post(f"/api/v1/cases/{case_id}/close", {"on_behalf_of": owner})
    assert again.get_json()["changed"] is False
    is_problem(caller.post(f"/api/v1/cases/{case_id}/invitations", {"on_behalf_of": owner}), 422)

    # Each call is audited with the client as its actor, naming whom it acted for; the services' own events
    # name the staff member, exactly as on a screen.
    audited = [(e.detail, e.outcome) for e in calls_of(found, caller.id)]
    operations = [d for d, _ in audited]
    assert [o for o in ("createCase", "setDeputy", "createInvitation", "closeCase")
            if not any(f'"{o}"' in d for d in operations)] == []
    assert all(owner_id in d for d in operations[1:4]) and caller.name in operations[0]
    with read(found.engine) as connection:
        actions = list(connection.execute(select(audit_events.c.action).where(
            audit_events.c.actor_id == owner_id).order_by(audit_events.c.seq)).scalars())
    assert actions[:4] == ["case.create", "case.deputy", "invitation.create", "case.close"]


def test_a_staff_member_may_not_do_through_the_api_what_they_may_not_do_on_screen(
        found: Services, caller: Caller, staff_factory: StaffFactory) -> None:
    _, owner, _ = staff_factory("caseworker", team="North")
    _, stranger, _ = staff_factory("caseworker", team="South")
    _, admin, _ = staff_factory("administrator", team=None)
    case_id = caller.post("/api/v1/cases", {"owner": owner, "service_id": "victim-support",
                                            "reference": "VS-8"}).get_json()["id"]
    is_problem(caller.post(f"/api/v1/cases/{case_id}/close", {"on_behalf_of": stranger}), 404)
    is_problem(caller.post(f"/api/v1/cases/{case_id}/invitations", {"on_behalf_of": stranger}), 404)
    assert pointers(is_problem(caller.post("/api/v1/cases", {"owner": admin, "service_id": "victim-support",
                                                            "reference": "X"}), 422)) == {"/owner"}
    assert pointers(is_problem(caller.post("/api/v1/cases", {"owner": "nobody", "service_id": "victim-support",
                                                            "reference": "X"}), 422)) == {"/owner"}
    assert pointers(is_problem(caller.post("/api/v1/cases", {"owner": owner, "service_id": "nothing",
                                                            "reference": "X"}), 422)) == {"/service_id"}
    is_problem(caller.post("/api/v1/cases/00000000-0000-0000-0000-000000000000/close", {"on_behalf_of": owner}),
               404)
    with read(found.engine) as connection:
        assert connection.execute(select(cases.c.status).where(cases.c.id == case_id)).scalar_one() == "open"
    assert _count(found, invitations) == 0


def test_the_auditor_reads_each_call_as_the_api_client_by_name(app: Flask, caller: Caller,
                                                              staff_factory: StaffFactory) -> None:
    _, owner, _ = staff_factory("caseworker", team="North")
    caller.post("/api/v1/cases", {"owner": owner, "service_id": "victim-support", "reference": "VS-5"})
    auditor = person(app, "auditor", team=None)
    page = auditor.get("/audit/?action=api.call").get_data(as_text=True)
    assert caller.name in page and "API client" in page and "createCase" in page
