"""Auditors find a case's events by the reference staff use for it, not only by its internal id."""

from __future__ import annotations

from sqlalchemy import select

from casefeedback.storage.engine import read
from casefeedback.storage.tables import cases
from tests.retention.conftest import seed_case, seed_submission


def test_the_case_filter_takes_the_reference_staff_see(app, found, client, staff_factory, auth):
    _, name, password = staff_factory("auditor")
    assert auth.sign_in(name, password).status_code == 302
    mine, other = seed_case(found), seed_case(found)
    seed_submission(found, {"treated": "2"}, case_id=mine)
    seed_submission(found, {"treated": "4"}, case_id=other)
    with read(found.engine) as connection:
        reference = connection.execute(select(cases.c.reference).where(cases.c.id == mine)).scalar_one()
    by_reference = client.get(f"/audit/?case={reference}").get_data(as_text=True)
    by_id = client.get(f"/audit/?case={mine}").get_data(as_text=True)
    assert mine in by_reference and other not in by_reference
    assert by_reference.count("<tr") == by_id.count("<tr") > 1
