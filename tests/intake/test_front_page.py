"""The front page, "/": the address `scripts/serve` prints. Both languages, the services, a way in with a code.

"/" is a door (intake/arrival.py): it marks the browser as come in and redirects to the page, "/start".
"""

from __future__ import annotations

import shutil

import pytest

from casefeedback import create_app
from tests.alerts.test_rules import EVERY_KIND
from tests.conftest import POLICIES, csrf_token, make_config
from tests.helpers import location
from tests.intake.test_back_after_leaving import assert_neutral
from tests.intake.test_language import english_left_over

PAGE = "/start"


def test_the_address_serve_prints_is_a_start_page_not_a_404(client):
    door = client.get("/")
    assert door.status_code == 303 and location(door) == PAGE
    response = client.get(PAGE)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Page not found" not in page
    assert "<title>Give feedback</title>" in page and "<h1>Give feedback</h1>" in page
    assert '<a href="/feedback/victim-support">Victim support</a>' in page
    assert '<a href="/feedback/code" id="have-a-code">' in page and "I have a code from my caseworker" in page
    assert '<a href="/staff/sign-in">Staff sign in</a>' in page
    assert response.headers["Cache-Control"].startswith("no-store")


def test_the_front_page_has_the_quick_exit_and_the_helplines_like_other_public_pages(client):
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'href="/feedback/leave"' in page and "Exit this page" in page
    assert 'src="/static/exit.js" data-exit-url="/feedback/leave"' in page
    assert "Get help now" in page and 'href="tel:999"' in page
    assert "https://" not in page and "http://" not in page  # nothing from elsewhere


def test_the_front_page_in_welsh(client):
    switched = client.get("/?lang=cy")
    assert switched.status_code == 303 and location(switched) == "/"
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert '<html lang="cy">' in page
    assert f'<a href="{PAGE}?lang=en" hreflang="en" lang="en" rel="alternate">English</a>' in page
    assert '<a href="/feedback/victim-support">Cymorth i ddioddefwyr</a>' in page
    assert "Gadael y dudalen hon" in page and "Give feedback" not in page
    assert english_left_over(page) == []
    # The choice carries on into the journey.
    assert '<html lang="cy">' in client.get("/feedback/code", follow_redirects=True).get_data(as_text=True)


def test_a_welsh_browser_gets_the_front_page_in_welsh(client):
    client.get("/")
    page = client.get(PAGE, headers={"Accept-Language": "cy"}).get_data(as_text=True)
    assert '<html lang="cy">' in page


def test_every_declared_service_is_listed_and_none_is_named_in_the_title(tmp_path, clock):
    policies = tmp_path / "policies"
    policies.mkdir()
    shutil.copy(POLICIES / "victim-support.toml", policies / "victim-support.toml")
    (policies / "kinds.toml").write_bytes(EVERY_KIND)
    app = create_app(make_config(tmp_path / "instance", policies_dir=policies), clock=clock)
    try:
        page = app.test_client().get("/", follow_redirects=True).get_data(as_text=True)
        assert '<a href="/feedback/kinds">Kinds</a>' in page
        assert '<a href="/feedback/victim-support">Victim support</a>' in page
        assert page.index("Kinds") < page.index("Victim support")
        assert "<title>Give feedback</title>" in page
        assert "Get help now" not in page  # several services: no one service's helplines stand for all
    finally:
        app.extensions["casefeedback"].engine.dispose()


@pytest.mark.parametrize(("door", "behind"), [("/", PAGE), ("/feedback/code", "/feedback/code/enter")])
def test_the_front_and_code_pages_are_behind_doors_and_neutral_after_leaving(app, client, door, behind):
    """They name the services and the helplines: Back after a quick exit must find only the neutral page."""
    assert_neutral(app, client.get(behind), f"{behind} never come in")
    response = client.get(door)
    assert response.status_code == 303 and location(response) == behind
    mark = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("casefeedback-in="))
    assert "SameSite=Lax" in mark and "HttpOnly" in mark
    shown = client.get(behind).get_data(as_text=True)
    assert "Victim Support Supportline" in shown  # the page as it is, for someone who came in
    client.get("/feedback/leave")
    assert_neutral(app, client.get(behind), f"{behind} after leaving")
    assert "Victim Support Supportline" not in client.get(behind).get_data(as_text=True)


def test_a_code_posted_again_by_back_after_leaving_says_nothing(app, client):
    page = client.get("/feedback/code", follow_redirects=True).get_data(as_text=True)
    client.get("/feedback/leave")
    again = client.post("/feedback/code/enter", data={"code": "K7QM-4TXR-9P", "csrf_token": csrf_token(page)})
    assert_neutral(app, again, "posted again")
