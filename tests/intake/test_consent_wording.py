"""What the consent page says about each kind of answer is what will really happen to it.

For each field class the page states how long it is kept, counted from what, and who can read it. Those
sentences must follow the rules the purge and the access decision apply to THIS kind of feedback: without a
case, "after your case is closed" can never happen (the purge counts from sending) and a relation that needs a
case is held by nobody. The page is parsed, and for every class, for feedback tied to an invitation and for
anonymous feedback, in English and in Welsh, the sentence the policy implies is asserted — the Welsh one
taken from the catalog a translator edits, not from the code that renders the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.support import NullTranslations, Translations
from flask import Flask
from flask.testing import FlaskClient

from casefeedback import create_app
from casefeedback.language import TRANSLATIONS
from casefeedback.policy.model import REPLY_CLASS, Duration, FieldClass, ServicePolicy
from casefeedback.policy.relations import CASE_RELATIONS
from casefeedback.retention.schedule import effective_retention
from casefeedback.services import Services
from tests.conftest import POLICIES, Clock, make_config
from tests.intake.test_leaving_and_invitations import invitation

BASE = "/feedback/victim-support"
CATALOGS: dict[str, NullTranslations] = {"en": NullTranslations(), "cy": Translations.load(str(TRANSLATIONS), ["cy"])}
RELATION_WORDS = {"case_owner": "your caseworker", "case_deputy": "the caseworker who covers for them",
                  "team_member": "their team", "team_supervisor": "their supervisor",
                  "duty_manager": "the duty manager"}
KEPT_AFTER = {"submitted": "Kept for %(duration)s after you send your answers.",
              "case_closed": "Kept for %(duration)s after your case is closed.",
              "consent_withdrawn": "Kept for %(duration)s after you take back your consent."}
GONE_AT = {"submitted": "Deleted as soon as you send your answers.",
           "case_closed": "Deleted as soon as your case is closed.",
           "consent_withdrawn": "Deleted as soon as you take back your consent."}
UNTIL_WITHDRAWN = "Kept until you take back your consent."
READERS = "Who can see them: %(people)s."
NOBODY_WITHOUT_CASE = ("Nobody at the service can read these: only staff working on a case could, and your "
                       "feedback is not linked to one.")
NOBODY_AT_ALL = "Nobody at the service can read these: the service's rules do not let any member of staff open them."


class ClassSentences(HTMLParser):
    """{class id: the text of its paragraph} from the consent page's ``div.retention[data-class]`` blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, str] = {}
        self._class: str | None = None
        self._in_p = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "div" and named.get("class") == "retention":
            self._class = named.get("data-class")
            self.found[self._class or ""] = ""
        elif tag == "p" and self._class:
            self._in_p = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._in_p = False
        elif tag == "div":
            self._class = None

    def handle_data(self, data: str) -> None:
        if self._class and self._in_p:
            self.found[self._class] += data


def sentences_on(page: str) -> dict[str, str]:
    parser = ClassSentences()
    parser.feed(page)
    return {cls: re.sub(r"\s+", " ", text).strip() for cls, text in parser.found.items()}


def duration_words(keep: Duration, catalog: NullTranslations) -> str:
    units = [(n, singular) for n, singular in ((keep.years, "year"), (keep.months, "month"), (keep.weeks, "week"),
                                               (keep.days, "day")) if n]
    assert len(units) <= 1 and not (keep.hours or keep.minutes or keep.seconds), "one unit, as these policies use"
    if not units:
        return ""
    n, unit = units[0]
    return catalog.ngettext(f"%(num)d {unit}", f"%(num)d {unit}s", n) % {"num": n}


def implied(field_class: FieldClass, linked: bool, language: str) -> str:
    """The sentence the policy's effective rules imply for one class, worded from the catalog."""
    catalog = CATALOGS[language]
    rule = effective_retention(field_class.retention, linked)
    if rule.after is None:
        kept = catalog.gettext(UNTIL_WITHDRAWN)
    elif how_long := duration_words(rule.keep, catalog):
        kept = catalog.gettext(KEPT_AFTER[rule.after]) % {"duration": how_long}
    else:
        kept = catalog.gettext(GONE_AT[rule.after])
    readers = [r for r in field_class.read if linked or r not in CASE_RELATIONS]
    if readers:
        who = catalog.gettext(READERS) % {"people": ", ".join(catalog.gettext(RELATION_WORDS[r]) for r in readers)}
    else:
        who = catalog.gettext(NOBODY_WITHOUT_CASE if field_class.read else NOBODY_AT_ALL)
    return f"{kept} {who}"


def consent_page(app: Flask, found: Services, owner_id: str | None, language: str) -> str:
    """The consent page as a person sees it: through their caseworker's invitation (given its owner), or not."""
    client: FlaskClient = app.test_client()
    if owner_id is not None:
        assert client.get(f"/feedback/i/{invitation(found, owner_id)}").status_code == 303
    client.get(f"{BASE}?lang={language}", follow_redirects=True)
    page = client.get(BASE, follow_redirects=True).get_data(as_text=True)
    assert f'<html lang="{language}">' in page
    return page


def assert_page_follows_the_policy(page: str, policy: ServicePolicy, linked: bool, language: str) -> None:
    shown = sentences_on(page)
    # Replies are written only to feedback on a case: anonymous feedback is not told of the reply class.
    stated = {c: declared for c, declared in policy.classes.items() if linked or c != REPLY_CLASS}
    assert set(shown) == set(stated), shown
    for class_id, field_class in stated.items():
        assert shown[class_id] == implied(field_class, linked, language), class_id


@pytest.mark.parametrize("language", ["en", "cy"])
@pytest.mark.parametrize("linked", [True, False], ids=["invitation", "anonymous"])
def test_the_consent_page_states_the_effective_rules(app, found, staff_factory, linked, language):
    owner = staff_factory()[0] if linked else None
    page = consent_page(app, found, owner, language)
    policy = found.policies.service("victim-support")
    assert_page_follows_the_policy(page, policy, linked, language)


def test_anonymous_feedback_is_never_promised_a_case_that_does_not_exist(app, found, staff_factory):
    """The sentences for the real policy, written out: what a person reads, and what the purge does."""
    anonymous = sentences_on(consent_page(app, found, None, "en"))
    assert anonymous["narrative"] == f"Kept for 180 days after you send your answers. {NOBODY_WITHOUT_CASE}"
    assert anonymous["safety"] == "Kept for 1 year after you send your answers. Who can see them: the duty manager."
    assert anonymous["rating"] == "Kept for 2 years after you send your answers. Nobody at the service can read " \
        "these: only staff working on a case could, and your feedback is not linked to one."
    assert not any("case is closed" in text for text in anonymous.values())
    linked = sentences_on(consent_page(app, found, staff_factory()[0], "en"))
    assert linked["narrative"] == "Kept for 180 days after your case is closed. Who can see them: your caseworker."


@pytest.fixture
def other_rules(tmp_path: Path) -> Iterator[tuple[Flask, Services]]:
    """The policy with the rules the real one does not use: counted from withdrawal, from a draft being
    abandoned (which sent feedback never is), a class nobody may read, and a zero keep."""
    text = (POLICIES / "victim-support.toml").read_text(encoding="utf-8")
    for old, new in {
        'retention = { keep = "P2Y", after = "submitted" }\nread = ["case_owner", "team_supervisor"]\n'
        'insight = "aggregate"\n\n[classes.experience]':
            'retention = { keep = "P30D", after = "consent_withdrawn" }\nread = []\n'
            'insight = "aggregate"\n\n[classes.experience]',
        'retention = { keep = "P2Y", after = "submitted" }\nread = ["case_owner", "team_supervisor"]\n'
        'insight = "aggregate"\n\n[classes.narrative]':
            'retention = { keep = "P1Y", after = "draft_abandoned" }\nread = ["case_owner", "team_supervisor"]\n'
            'insight = "aggregate"\n\n[classes.narrative]',
        'retention = { keep = "P180D", after = "case_closed" }': 'retention = { keep = "P0D", after = "case_closed" }',
    }.items():
        assert old in text, old
        text = text.replace(old, new)
    directory = tmp_path / "policies"
    directory.mkdir()
    for extra in POLICIES.glob("*.toml"):
        (directory / extra.name).write_text(extra.read_text(encoding="utf-8"), encoding="utf-8")
    (directory / "victim-support.toml").write_text(text, encoding="utf-8")
    application = create_app(make_config(tmp_path / "instance", policies_dir=directory), clock=Clock())
    yield application, application.extensions["casefeedback"]
    application.extensions["casefeedback"].engine.dispose()


@pytest.mark.parametrize("language", ["en", "cy"])
@pytest.mark.parametrize("linked", [True, False], ids=["invitation", "anonymous"])
def test_every_kind_of_rule_is_stated_as_it_is_applied(other_rules, staff_factory_for, linked, language):
    app, found = other_rules
    owner = staff_factory_for(found) if linked else None
    page = consent_page(app, found, owner, language)
    assert_page_follows_the_policy(page, found.policies.service("victim-support"), linked, language)
    if language == "en":
        shown = sentences_on(page)
        assert shown["rating"] == f"Deleted as soon as you take back your consent. {NOBODY_AT_ALL}"
        assert shown["experience"].startswith(UNTIL_WITHDRAWN)
        assert shown["narrative"].startswith("Deleted as soon as your case is closed." if linked
                                             else "Deleted as soon as you send your answers.")


@pytest.fixture
def staff_factory_for():
    from tests.conftest import StaffFactory

    return lambda found: StaffFactory(found)()[0]
