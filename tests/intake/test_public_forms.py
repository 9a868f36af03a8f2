"""``autocomplete="off"`` on every form a member of the public can see.

A shared phone must not offer the next person what the last one typed (a code,
an answer, a way to be contacted) as a suggestion. SECURITY.md promises it on
every form; these tests hold every public page to it: the pages met along the
whole journey as it is really walked, every public page that opens without
anything in the session (so a page added later is covered without a change
here), and the source of every template a public page can use.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, current_app, request, template_rendered
from flask.testing import FlaskClient

from casefeedback import TEMPLATES, create_app
from casefeedback.policy.pages import BLUEPRINT_ROLES, is_public, public_endpoints
from tests.alerts.test_rules import EVERY_KIND
from tests.conftest import POLICIES, csrf_token, make_config
from tests.helpers import ServiceUser
from tests.intake.test_leaving_and_invitations import invitation
from tests.receipts.receipt_holder import ReceiptHolder, give

# Templates only signed-in staff ever see; every other template may be shown to the public.
STAFF_TEMPLATES = ("admin/", "alerts/", "audit/", "auth/", "casework/", "insight/", "records/", "staff_layout.html")
# The templates with a form that the walk below must reach (so it cannot silently walk past one).
WALKED_FORMS = {
    "intake/consent.html", "intake/question.html", "intake/section_warning.html", "intake/check.html",
    "intake/save.html", "intake/resume.html", "intake/invitation_unusable.html",
    "receipts/start.html", "receipts/overview.html", "receipts/add.html", "receipts/contact.html",
    "receipts/withdraw.html",
}


class Forms(HTMLParser):
    """Every ``<form>`` start tag of a page, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            self.forms.append(dict(attrs))


def forms_in(html: str) -> list[dict[str, str | None]]:
    parser = Forms()
    parser.feed(html)
    parser.close()
    return parser.forms


def without_autocomplete_off(pages: dict[str, str]) -> list[str]:
    return [f"{where}: {form}" for where, html in pages.items() for form in forms_in(html)
            if form.get("autocomplete") != "off"]


def for_the_public(endpoint: str | None) -> bool:
    """A page for members of the public: public, and not a staff blueprint's (staff sign-in is public, but
    its form should let a password manager fill it). An unknown address's error page counts too."""
    if endpoint is None:
        return True
    return is_public(current_app, endpoint) and endpoint.split(".")[0] not in BLUEPRINT_ROLES


class Seen:
    """Every public HTML page the app answers with, and every template it rendered for one."""

    def __init__(self, app: Flask) -> None:
        self.pages: dict[str, str] = {}
        self.templates: set[str] = set()
        app.after_request(self._keep)
        template_rendered.connect(self._rendered, app)

    def _keep(self, response: Response) -> Response:
        if response.mimetype == "text/html" and for_the_public(request.endpoint):
            where = f"#{len(self.pages)} {request.method} {request.full_path.rstrip('?')} ({response.status_code})"
            self.pages[where] = response.get_data(as_text=True)
        return response

    def _rendered(self, _app: Flask, template: Any, context: dict[str, Any], **_extra: Any) -> None:
        if template.name:
            self.templates.add(template.name)


@pytest.fixture
def seen(app: Flask) -> Iterator[Seen]:
    watcher = Seen(app)
    yield watcher
    template_rendered.disconnect(watcher._rendered, app)


def walk_the_journey(app: Flask, found: Any, staff_factory: Any) -> None:
    """Start, consent, every question and section, a refused answer, check, save, resume, send;
    an invitation used up before sending; and the receipt's pages: start, overview, add, contact, withdraw."""
    person = ServiceUser(app.test_client())
    person.consent("store")
    person.answer_question("listened", "not-an-option")  # the question again, with its error
    person.answer_all({"treated": "3"})
    person.keep_resume_code()
    later = ServiceUser(app.test_client())
    later.resume("ABCD-EFGH-JKMN-PQRS-TVWX")  # the resume form, then again with "no such code"
    person.send()

    owner_id, *_ = staff_factory()
    token = invitation(found, owner_id, uses=1)
    first, second = app.test_client(), app.test_client()
    first.get(f"/feedback/i/{token}")
    second.get(f"/feedback/i/{token}")
    ServiceUser(first).give_feedback({"treated": "5"})
    ServiceUser(second).consent("store")
    ServiceUser(second).answer({"treated": "1"})  # used up meanwhile: "send as general feedback"

    holder = app.test_client()
    code, _submission_id = give(holder, {"treated": "2"}, choices=("store", "contact_me"))
    receipt = ReceiptHolder(holder)
    receipt.check("WRONG-CODE")
    receipt.check(code)
    receipt.overview()
    page = holder.get("/feedback/receipt/yours/add").get_data(as_text=True)
    receipt.post_add({"anything_else": "x" * 100_000}, csrf_token(page))  # too long: the form again
    holder.get("/feedback/receipt/yours/contact")
    receipt.withdraw()


def open_page(client: FlaskClient, path: str) -> None:
    """GET ``path``, following redirects within the site."""
    for _hop in range(5):
        response = client.get(path)
        target = response.headers.get("Location", "").removeprefix("http://localhost")
        if response.status_code not in (301, 302, 303, 307, 308) or not target.startswith("/"):
            return
        path = target


def test_every_form_met_on_the_journey_has_autocomplete_off(app, found, staff_factory, seen):
    walk_the_journey(app, found, staff_factory)
    missing = WALKED_FORMS - seen.templates
    assert not missing, f"the walk never reached {sorted(missing)}"
    assert sum(len(forms_in(html)) for html in seen.pages.values()) >= len(WALKED_FORMS)
    assert without_autocomplete_off(seen.pages) == []


def test_every_public_page_that_opens_on_its_own_has_autocomplete_off(app, seen):
    """Every public GET address with no part but the service in it, by a stranger, by someone who came in
    through the service's address, and by someone answering: a front page or a code entry page added later
    is checked here without anyone listing it."""
    arrived, answering = app.test_client(), app.test_client()
    arrived.get("/feedback/victim-support")  # in through the service's address, nothing more
    ServiceUser(answering).consent("store")
    opened = []
    for rule in app.url_map.iter_rules():
        # The quick exit is never a page: it forgets the session and leaves the site.
        if rule.endpoint not in public_endpoints(app) or rule.endpoint in ("static", "intake.leave"):
            continue
        if "GET" not in rule.methods or not set(rule.arguments) <= {"service_id"}:
            continue
        path = rule.rule.replace("<service_id>", "victim-support")
        for client in (app.test_client(), arrived, answering):
            open_page(client, path)
        opened.append(path)
    assert "/feedback/victim-support" in opened and "/feedback/receipt/" in opened
    assert seen.pages and without_autocomplete_off(seen.pages) == []


def test_every_kind_of_question_has_autocomplete_off(tmp_path, clock):
    """Choice, several choices, rating and text, from a policy that has each."""
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    (policies / "kinds.toml").write_bytes(EVERY_KIND)
    app = create_app(make_config(tmp_path / "instance", policies_dir=policies), clock=clock)
    watcher = Seen(app)
    try:
        person = ServiceUser(app.test_client(), "kinds")
        person.consent("store")
        person.answer_all({"many": ["x", "y"], "words": "a few words"})
        kinds = {q.kind for q in app.extensions["casefeedback"].policies.service("kinds").questions}
        assert kinds == {"choice", "multi_choice", "rating", "text"}
        assert sum("/feedback/kinds/q/" in where for where in watcher.pages) >= 5
        assert without_autocomplete_off(watcher.pages) == []
    finally:
        template_rendered.disconnect(watcher._rendered, app)
        app.extensions["casefeedback"].engine.dispose()


def public_templates() -> list[Path]:
    return [path for path in sorted(TEMPLATES.rglob("*.html"))
            if not str(path.relative_to(TEMPLATES)).startswith(STAFF_TEMPLATES)]


def test_every_form_in_a_public_template_has_autocomplete_off():
    """The templates themselves, including any added later under a public folder."""
    pages = {str(path.relative_to(TEMPLATES)): path.read_text() for path in public_templates()}
    assert "receipts/add.html" in pages and "intake/question.html" in pages
    with_forms = [name for name, source in pages.items() if forms_in(source)]
    assert set(WALKED_FORMS) - {"receipts/overview.html"} <= set(with_forms)  # overview's is in its layout
    assert without_autocomplete_off(pages) == []


def test_the_check_notices_a_form_without_it():
    pages = {"a": '<form method="post" autocomplete="off"></form><form method="post"></form>',
             "b": '<form autocomplete="on"></form>'}
    assert len(without_autocomplete_off(pages)) == 2
