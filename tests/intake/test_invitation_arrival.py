"""An invitation's link opened from another site keeps its invitation: the feedback reaches the caseworker.

The session cookie is SameSite=Strict: a browser does not send it on the redirects of a
navigation that began on another site (webmail, a text message). The invitation therefore
crosses the doors in a short-lived SameSite=Lax cookie of its own (intake/arrival.py),
which the consent page takes into the session and deletes. Here the browser's part is
played by dropping the session cookie between the door and the consent page; the real
browser is in tests/browser/test_invitation_from_another_site.py.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from casefeedback.storage.engine import read
from casefeedback.storage.schema.intake import drafts
from casefeedback.storage.tables import invitations, submissions
from tests.helpers import ServiceUser, location
from tests.intake.test_invitation_code import invite

BASE = "/feedback/victim-support"
CARRIER = "casefeedback-invitation"
LINKED = "Your feedback will be linked to your case"


def arrive_from_another_site(person, token: str) -> None:  # type: ignore[no-untyped-def]
    """Open the link, then follow its doors as a browser would after a link on another site."""
    door = person.get(f"/feedback/i/{token}")
    assert door.status_code == 303 and location(door) == BASE
    assert location(person.get(BASE)) == f"{BASE}/consent"
    person.delete_cookie("casefeedback")  # SameSite=Strict: not sent in a navigation begun elsewhere


def carrier_header(response) -> str:  # type: ignore[no-untyped-def]
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{CARRIER}="))


def test_the_invitation_is_carried_in_a_lax_short_lived_cookie_without_its_token(app, found, staff_factory):
    owner_id, *_ = staff_factory()
    made = invite(found, owner_id)
    carried = carrier_header(app.test_client().get(f"/feedback/i/{made.token}"))
    assert "SameSite=Lax" in carried and "HttpOnly" in carried and "Path=/" in carried
    assert "Max-Age=600" in carried  # minutes, not the session's life
    assert made.token not in carried and made.short_code.replace("-", "") not in carried


def test_after_a_link_from_another_site_the_feedback_is_linked_to_the_case(app, found, staff_factory):
    owner_id, *_ = staff_factory()
    made = invite(found, owner_id)
    person = app.test_client()
    arrive_from_another_site(person, made.token)
    consent = person.get(f"{BASE}/consent")
    assert consent.status_code == 200 and LINKED in consent.get_data(as_text=True)
    assert carrier_header(consent).startswith(f"{CARRIER}=;")  # adopted into the session, then deleted
    assert person.get_cookie(CARRIER) is None
    ServiceUser(person).consent("store")
    with read(found.engine) as connection:
        assert connection.execute(select(drafts.c.invitation_id)).scalar_one() == made.id
    ServiceUser(person).answer({"treated": "4"})
    with read(found.engine) as connection:
        linked = connection.execute(select(submissions.c.case_id)).scalar_one()
        case_id = connection.execute(select(invitations.c.case_id).where(invitations.c.id == made.id)).scalar_one()
    assert linked == case_id


def test_a_forged_or_altered_carrier_links_nothing(app, found, staff_factory):
    owner_id, *_ = staff_factory()
    made = invite(found, owner_id)
    person = app.test_client()
    arrive_from_another_site(person, made.token)
    genuine = person.get_cookie(CARRIER).value
    person.set_cookie(CARRIER, genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB"))
    assert LINKED not in person.get(f"{BASE}/consent").get_data(as_text=True)
    stranger = app.test_client()
    stranger.get(BASE)
    stranger.set_cookie(CARRIER, json.dumps({"service": "victim-support", "invitation_id": made.id}))
    assert LINKED not in stranger.get(f"{BASE}/consent").get_data(as_text=True)


def test_the_carrier_lasts_minutes(app, found, staff_factory, clock):
    owner_id, *_ = staff_factory()
    made = invite(found, owner_id)
    person = app.test_client()
    arrive_from_another_site(person, made.token)
    clock.advance(minutes=11)
    assert LINKED not in person.get(f"{BASE}/consent").get_data(as_text=True)


def test_the_quick_exit_deletes_the_carrier(app, found, staff_factory):
    owner_id, *_ = staff_factory()
    made = invite(found, owner_id)
    person = app.test_client()
    person.get(f"/feedback/i/{made.token}")
    leaving = person.get("/feedback/leave")
    assert carrier_header(leaving).startswith(f"{CARRIER}=;")
    assert person.get_cookie(CARRIER) is None
