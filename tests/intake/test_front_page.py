"""The front page, "/": the address `scripts/serve` prints. Both languages, the services, a way in with a code."""

from __future__ import annotations

import shutil

from casefeedback import create_app
from tests.alerts.test_rules import EVERY_KIND
from tests.conftest import POLICIES, make_config
from tests.helpers import location
from tests.intake.test_language import english_left_over


def test_the_address_serve_prints_is_a_start_page_not_a_404(client):
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Page not found" not in page
    assert "<title>Give feedback</title>" in page and "<h1>Give feedback</h1>" in page
    assert '<a href="/feedback/victim-support">Victim support</a>' in page
    assert '<a href="/feedback/code" id="have-a-code">' in page and "I have a code from my caseworker" in page
    assert '<a href="/staff/sign-in">Staff sign in</a>' in page
    assert response.headers["Cache-Control"].startswith("no-store")


def test_the_front_page_has_the_quick_exit_and_the_helplines_like_other_public_pages(client):
    page = client.get("/").get_data(as_text=True)
    assert 'href="/feedback/leave"' in page and "Exit this page" in page
    assert 'src="/static/exit.js" data-exit-url="/feedback/leave"' in page
    assert "Get help now" in page and 'href="tel:999"' in page
    assert "https://" not in page and "http://" not in page  # nothing from elsewhere


def test_the_front_page_in_welsh(client):
    switched = client.get("/?lang=cy")
    assert switched.status_code == 303 and location(switched) == "/"
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="cy">' in page
    assert '<a href="/?lang=en" hreflang="en" lang="en" rel="alternate">English</a>' in page
    assert '<a href="/feedback/victim-support">Cymorth i ddioddefwyr</a>' in page
    assert "Gadael y dudalen hon" in page and "Give feedback" not in page
    assert english_left_over(page) == []
    # The choice carries on into the journey.
    assert '<html lang="cy">' in client.get("/feedback/code").get_data(as_text=True)


def test_a_welsh_browser_gets_the_front_page_in_welsh(client):
    page = client.get("/", headers={"Accept-Language": "cy"}).get_data(as_text=True)
    assert '<html lang="cy">' in page


def test_every_declared_service_is_listed_and_none_is_named_in_the_title(tmp_path, clock):
    policies = tmp_path / "policies"
    policies.mkdir()
    shutil.copy(POLICIES / "victim-support.toml", policies / "victim-support.toml")
    (policies / "kinds.toml").write_bytes(EVERY_KIND)
    app = create_app(make_config(tmp_path / "instance", policies_dir=policies), clock=clock)
    try:
        page = app.test_client().get("/").get_data(as_text=True)
        assert '<a href="/feedback/kinds">Kinds</a>' in page
        assert '<a href="/feedback/victim-support">Victim support</a>' in page
        assert page.index("Kinds") < page.index("Victim support")
        assert "<title>Give feedback</title>" in page
        assert "Get help now" not in page  # several services: no one service's helplines stand for all
    finally:
        app.extensions["casefeedback"].engine.dispose()
