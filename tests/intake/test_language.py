"""Welsh and English: a switcher that leaves nothing in the URL, policy texts per language, nothing left over."""

from __future__ import annotations

import html as html_module
import re
from pathlib import Path

from babel.messages.pofile import read_po
from sqlalchemy import select

from casefeedback import create_app
from casefeedback.storage.engine import read
from casefeedback.storage.tables import consent_receipts, submissions
from tests.alerts.test_rules import EVERY_KIND
from tests.conftest import make_config
from tests.helpers import ServiceUser, location

BASE = "/feedback/victim-support"
CATALOG = Path(__file__).resolve().parents[2] / "casefeedback" / "translations" / "cy" / "LC_MESSAGES" / "messages.po"


def page(client, path: str) -> str:
    return client.get(path, follow_redirects=True).get_data(as_text=True)  # through the service's door


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<[^>]*\blang="en"[^>]*>[^<]*<', "<", html)  # the switcher's "English" link
    return re.sub(r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", " ", html)))


def english_left_over(html: str) -> list[str]:
    """Interface sentences still in English on a Welsh page."""
    with CATALOG.open("rb") as source:
        catalog = read_po(source)
    text = visible_text(html)
    left = []
    for message in catalog:
        english = message.id if isinstance(message.id, str) else message.id[0]
        if not english or len(english.split()) < 3 or "%(" in english or "<" in english:
            continue
        if english in text:
            left.append(english)
    return left


def test_choosing_welsh_remembers_it_and_comes_straight_back_without_the_query(client):
    response = client.get(f"{BASE}?lang=cy")
    assert response.status_code == 303 and location(response) == BASE
    welsh = page(client, BASE)
    assert '<html lang="cy">' in welsh and "<title>Adborth</title>" in welsh
    assert "Dywedwch wrthon ni sut cawsoch chi eich trin" in welsh  # the interface
    assert "Cadwch fy atebion er mwyn i&#39;r bobl" in welsh  # the policy's own Welsh
    assert "Gadael y dudalen hon" in welsh and "Cael help nawr" in welsh
    assert ('<a href="/feedback/victim-support/consent?lang=en" hreflang="en" lang="en" rel="alternate">English</a>'
            in welsh)
    assert '<span aria-current="true" lang="cy">Cymraeg</span>' in welsh
    assert location(client.get(f"{BASE}?lang=en")) == BASE
    assert '<html lang="en">' in page(client, BASE)


def test_an_unknown_language_is_ignored(client):
    assert location(client.get(f"{BASE}?lang=xx")) == BASE
    assert '<html lang="en">' in page(client, BASE)


def test_a_welsh_browser_gets_welsh_first(client):
    response = client.get(BASE, headers={"Accept-Language": "cy-GB,cy;q=0.9,en;q=0.5"}, follow_redirects=True)
    assert '<html lang="cy">' in response.get_data(as_text=True)


def test_switching_language_part_way_keeps_the_answers_and_only_the_change_flag(client):
    user = ServiceUser(client)
    user.consent("store")
    user.answer_question("treated", "2")
    switch = 'href="/feedback/victim-support/q/treated?change=1&amp;lang=cy"'
    assert switch in page(client, f"{BASE}/q/treated?change=1")
    response = client.get(f"{BASE}/q/treated?change=1&lang=cy&other=x")
    assert location(response) == f"{BASE}/q/treated?change=1"
    welsh = page(client, f"{BASE}/q/treated?change=1")
    assert "Cwestiwn 1 o 8" in welsh and 'value="2" checked' in welsh and "Hepgor y cwestiwn hwn" in welsh


def test_the_whole_journey_in_welsh_leaves_no_english_behind(client, found):
    client.get(f"{BASE}?lang=cy")
    user = ServiceUser(client)
    pages = {"consent": page(client, BASE)}
    user.consent("store", "contact_me")
    pages["question"] = page(client, f"{BASE}/q/treated")
    pages["text question"] = page(client, f"{BASE}/q/anything_else")
    pages["warning"] = page(client, f"{BASE}/section/safety")
    pages["signpost"] = user.answer_question("safe_now", "no").get_data(as_text=True)
    pages["error"] = user.answer_question("listened", "nope").get_data(as_text=True)
    pages["save"] = page(client, f"{BASE}/save")
    pages["resume"] = page(client, f"{BASE}/resume")
    pages["not found"] = page(client, f"{BASE}/q/nope")
    pages["check"] = user.answer_all({"treated": "1", "anything_else": "Diolch"}).get_data(as_text=True)
    pages["sent"] = user.send().get_data(as_text=True)
    for name, html in pages.items():
        assert '<html lang="cy">' in html, name
        assert english_left_over(html) == [], name
    assert "Ydych chi&#39;n teimlo&#39;n ddiogel ar hyn o bryd?" in pages["check"]
    assert "Byddwn ni&#39;n dweud wrth ein tîm ar unwaith." in pages["signpost"]
    assert "byddwn ni'n dweud wrth y rheolwr ar ddyletswydd ar unwaith" in pages["signpost"]
    with read(found.engine) as connection:
        assert connection.execute(select(consent_receipts.c.language)).scalar_one() == "cy"
        assert connection.execute(select(submissions.c.language)).scalar_one() == "cy"


def test_the_leftover_check_would_notice_english():
    assert english_left_over("<p>Check your answers before sending them</p>") == [
        "Check your answers before sending them"]


def test_staff_pages_stay_in_english(client):
    client.get(f"{BASE}?lang=cy")
    assert '<html lang="en">' in page(client, "/staff/sign-in")


def test_a_policy_in_english_only_offers_no_switcher(tmp_path, clock):
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "kinds.toml").write_bytes(EVERY_KIND)
    config = make_config(tmp_path / "instance", policies_dir=policies)
    app = create_app(config, clock=clock)
    try:
        client = app.test_client()
        client.get("/feedback/kinds?lang=cy")
        english = page(client, "/feedback/kinds")
        assert '<html lang="en">' in english and "Cymraeg" not in english and "Keep my answers." in english
    finally:
        app.extensions["casefeedback"].engine.dispose()
