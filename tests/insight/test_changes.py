""""You said, we did": written and previewed by the roles the policy names, published to the front page and the
receipt pages in English and Welsh, taken down again; bad input refused with a message; every step audited."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casefeedback.audit.actions import Action
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import published_changes
from tests.casework.support import Person, events, person
from tests.conftest import csrf_token
from tests.receipts.receipt_holder import ReceiptHolder, give

NONCE = re.compile(r'name="nonce" type="hidden" value="([^"]+)"')
SAID_EN = "It was hard to reach your caseworker after 5pm."
DID_EN = "From January, a caseworker answers the phone until 8pm on weekdays."
SAID_CY = "Roedd hi'n anodd cysylltu â'ch gweithiwr achos ar ôl 5pm."
DID_CY = "O fis Ionawr, bydd gweithiwr achos yn ateb y ffôn tan 8pm yn ystod yr wythnos."
GOOD = {"service": "victim-support", "period": "2026-Q3", "said_en": SAID_EN, "did_en": DID_EN,
        "said_cy": SAID_CY, "did_cy": DID_CY}


def save(who: Person, data: dict[str, str], path: str = "/insight/changes"):  # type: ignore[no-untyped-def]
    page = who.get(path if path != "/insight/changes" else "/insight/changes").get_data(as_text=True)
    nonce = NONCE.search(page)
    return who.client.post(path, data={**data, "nonce": nonce.group(1) if nonce else "n" * 32,
                                       "csrf_token": csrf_token(page)})


def button(who: Person, change_id: str, action: str):  # type: ignore[no-untyped-def]
    page = who.get(f"/insight/changes/{change_id}").get_data(as_text=True)
    return who.client.post(f"/insight/changes/{change_id}/{action}", data={"csrf_token": csrf_token(page)})


def front(client: FlaskClient, language: str = "en") -> str:
    client.get("/", follow_redirects=True)
    client.get(f"/start?lang={language}")
    return client.get("/start").get_data(as_text=True)


def _stored(found: Services) -> list:  # type: ignore[type-arg]
    with read(found.engine) as connection:
        return list(connection.execute(select(published_changes)).all())


@pytest.fixture
def analyst(app: Flask) -> Person:
    return person(app, "analyst", team=None)


def test_write_preview_publish_and_unpublish(app: Flask, found: Services, analyst: Person) -> None:
    response = save(analyst, GOOD)
    assert response.status_code == 303
    change_id = response.headers["Location"].rsplit("/", 1)[1]
    preview = analyst.get(f"/insight/changes/{change_id}").get_data(as_text=True)
    assert SAID_EN in preview and DID_CY.replace("'", "&#39;") in preview
    assert "Dywedoch chi, gwnaethon ni" in preview and "Gorffennaf i Fedi 2026" in preview
    assert "July to September 2026" in preview and "Draft" in preview
    visitor = app.test_client()
    assert SAID_EN not in front(visitor)  # a draft is nobody's business yet

    assert button(analyst, change_id, "publish").status_code == 303
    english, welsh = front(visitor), front(visitor, "cy")
    assert "You said, we did" in english and SAID_EN in english and DID_EN in english and SAID_CY not in english
    assert "Dywedoch chi, gwnaethon ni" in welsh and "Gorffennaf i Fedi 2026" in welsh
    assert DID_CY.replace("'", "&#39;") in welsh and DID_EN not in welsh
    start = visitor.get("/feedback/receipt/", follow_redirects=True).get_data(as_text=True)
    assert DID_CY.replace("'", "&#39;") in start  # this browser chose Welsh

    person_browser = app.test_client()
    code, _ = give(person_browser, {"treated": "4"})
    holder = ReceiptHolder(person_browser)
    holder.check(code)
    assert DID_EN in holder.overview().get_data(as_text=True)

    assert button(analyst, change_id, "unpublish").status_code == 303
    assert SAID_EN not in front(visitor) and DID_EN not in holder.overview().get_data(as_text=True)
    assert [e.outcome for e in events(found, Action.CHANGE_SAVE)] == ["success"]
    assert len(events(found, Action.CHANGE_PUBLISH)) == 1 and len(events(found, Action.CHANGE_UNPUBLISH)) == 1
    for event in events(found, Action.CHANGE_SAVE) + events(found, Action.CHANGE_PUBLISH):
        assert SAID_EN not in event.detail and '"period":"2026-Q3"' in event.detail


def test_only_the_roles_the_policy_names_may_publish(app: Flask, found: Services) -> None:
    # victim-support.toml: [changes] publish = ["analyst", "supervisor"]
    for role, status in (("analyst", 200), ("supervisor", 200), ("duty_manager", 403), ("caseworker", 403),
                         ("administrator", 403), ("auditor", 403)):
        who = person(app, role, team="North" if role in ("supervisor", "caseworker") else None)
        assert who.get("/insight/changes").status_code == status, role
        if status == 403:
            html = who.get("/staff/account").get_data(as_text=True)
            refused = who.client.post("/insight/changes", data={**GOOD, "nonce": "n" * 32,
                                                                "csrf_token": csrf_token(html)})
            assert refused.status_code == 403, role
    assert _stored(found) == []


def test_a_change_id_that_is_not_there_is_404(analyst: Person) -> None:
    assert analyst.get("/insight/changes/not-a-change").status_code == 404
    html = analyst.get("/staff/account").get_data(as_text=True)
    assert analyst.client.post("/insight/changes/not-a-change/publish",
                               data={"csrf_token": csrf_token(html)}).status_code == 404


@pytest.mark.parametrize(("field", "value", "message"), [
    ("period", "", "Enter a month, like 2026-11, or a quarter, like 2026-Q4."),
    ("period", "2026-13", "Enter a month, like 2026-11, or a quarter, like 2026-Q4."),
    ("period", "2026-Q5", "Enter a month, like 2026-11, or a quarter, like 2026-Q4."),
    ("period", "November", "Enter a month, like 2026-11, or a quarter, like 2026-Q4."),
    ("period", "2031-01", "a change is published for a time that has already begun"),
    ("period", "1999-12", "Enter a month or quarter from 2000 up to now"),
    ("said_en", "", "Write what people said, in English."),
    ("did_cy", "   ", "Write what you did, in Welsh."),
    ("said_cy", "x" * 601, "Keep what people said in Welsh under 600 characters."),
    ("did_en", "x" * 1201, "Keep what you did in English under 1200 characters."),
    ("service", "no-such-service", "Choose a service you may publish changes for."),
])
def test_bad_input_gets_a_message_and_a_400_and_stores_nothing(found: Services, analyst: Person, field: str,
                                                               value: str, message: str) -> None:
    response = save(analyst, {**GOOD, field: value})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True).replace("&#39;", "'")
    assert _stored(found) == [] and events(found, Action.CHANGE_SAVE) == []


def test_the_same_new_change_sent_twice_is_stored_once(found: Services, analyst: Person) -> None:
    page = analyst.get("/insight/changes").get_data(as_text=True)
    data = {**GOOD, "nonce": NONCE.search(page).group(1), "csrf_token": csrf_token(page)}  # type: ignore[union-attr]
    first = analyst.client.post("/insight/changes", data=data)
    second = analyst.client.post("/insight/changes", data=data)
    assert first.headers["Location"] == second.headers["Location"] and len(_stored(found)) == 1


def test_a_published_change_is_unpublished_before_its_words_change(found: Services, analyst: Person) -> None:
    change_id = save(analyst, GOOD).headers["Location"].rsplit("/", 1)[1]
    button(analyst, change_id, "publish")
    edited = save(analyst, {**GOOD, "said_en": "Other words"}, f"/insight/changes/{change_id}/edit")
    assert edited.status_code == 400 and "Unpublish this change before" in edited.get_data(as_text=True)
    button(analyst, change_id, "unpublish")
    assert save(analyst, {**GOOD, "said_en": "Other words"}, f"/insight/changes/{change_id}/edit").status_code == 303
    (row,) = _stored(found)
    assert "Other words" in row.said and row.status == "unpublished"
