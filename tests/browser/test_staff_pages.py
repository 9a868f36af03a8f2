"""Every staff page, as every role that may open it, in real Chromium: no axe violations (WCAG 2.0–2.2 A and AA)
at 1280 and 375 px, never wider than the screen at 375 and 320 px, and the main forms' error states too.

The pages come from the application's own URL map, not from a list kept here: a
new staff page is checked the day it is added, as each role ``policy/pages.py``
lets open it, and the test fails if it cannot tell how to reach it (a path
parameter it has no fixture for, or a page that refuses a role nobody said it
would refuse). Every problem on every page is collected first and reported at
once, so one run shows all there is to fix.

One app and one browser context per role, each signed in once (password and
TOTP code, as a person would): starting over for every page would take minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from casefeedback.auth.sessions import StaffMember
from casefeedback.casework import outcomes
from casefeedback.insight import changes
from casefeedback.policy.pages import is_public, roles_for
from casefeedback.policy.roles import ROLES
from casefeedback.retention import holds
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import alerts, invitations, legal_holds
from tests.browser.conftest import serve
from tests.browser.staff import (
    MISTAKES,
    PlaywrightError,
    World,
    check,
    empty_break_glass,
    error_state,
    sign_in,
    submit,
)
from tests.casework.support import Person, feedback, new_case
from tests.conftest import StaffFactory, next_code

pytestmark = pytest.mark.browser

STAFF_BLUEPRINTS = ("auth", "casework", "alerts", "auditor", "insight", "admin", "records")
# Staff GET endpoints that answer with a file, not a page: checked for their status and type only.
DOWNLOADS = {"auditor.export_view": "application/zip"}
# The steps of signing in, open before anyone is signed in: checked signed out (test below).
SIGNED_OUT = {"auth.sign_in", "auth.sign_in_code", "auth.sign_in_enrol"}
# A page a role reaches through its blueprint but that still refuses it, by a rule decided elsewhere. Each
# is a decision, not an accident: a refusal not listed here fails the test.
REFUSED = {
    ("casework.break_glass", "caseworker"): 403,  # break-glass is for supervisors and duty managers
    # The duty manager holds the case through break-glass only to read it: closing it and inviting feedback stay
    # with its team, and to anyone else such a case is "not found" (ids cannot be probed).
    ("casework.close_confirm", "duty_manager"): 404,
    ("casework.invitations", "duty_manager"): 404,
    # Taking feedback for a person is for the roles organisation.toml [taking] names (caseworkers); marking failure
    # demand needs the case through normal work, never break-glass.
    ("casework.take_start", "supervisor"): 403,
    ("casework.take_start", "duty_manager"): 403,
    ("casework.take_consent", "supervisor"): 403,
    ("casework.take_consent", "duty_manager"): 403,
    ("casework.failure_demand_page", "duty_manager"): 404,
    # "You said, we did" is published by the roles a service's [changes] publish names (analysts, supervisors).
    ("insight.changes", "duty_manager"): 403,
    ("insight.change", "duty_manager"): 403,
    ("insight.change_edit", "duty_manager"): 403,
}


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from serve(Path(tmp_path_factory.mktemp("staff-pages")) / "instance")


@pytest.fixture(scope="module")
def world(live_app: Any) -> World:
    """A team with a case, feedback on it that raised an alert, an outcome, and one person in every role."""
    found: Services = live_app.extensions["casefeedback"]
    shown = World(live_app, str(live_app.config["LIVE_URL"]), found)
    make = StaffFactory(found)
    for role in ROLES:
        team = "North" if role in ("caseworker", "supervisor") else None
        shown.people[role] = make(role, team=team, username=f"{role.replace('_', '-')}-ann")
    owner_id, owner_name, _ = shown.people["caseworker"]
    case_id = new_case(found, Person(owner_id, owner_name, "", "caseworker", live_app.test_client()), "VS-1001")
    submission_id = feedback(live_app, found, case_id, owner_id,
                             {"treated": "2", "safe_now": "no", "anything_else": "A long answer " * 40})
    outcomes.record(found, StaffMember(owner_id, owner_name, owner_name.title(), "caseworker", None), case_id,
                    text="Called back and arranged a visit.", nonce="n" * 32)
    # A legal hold on the case, past its review date (so the records officer's banner shows), reviewed once.
    hold_id = holds.place(found, case_key="VS-1001", reason="Preservation order from the court, ref. 2026/88.",
                          review_day=(found.clock() + timedelta(days=2)).date(), by=holds.COMMAND_LINE)
    holds.review(found, hold_id, note="Trial date set.", review_day=(found.clock() + timedelta(days=1)).date(),
                 by=holds.COMMAND_LINE)
    with write(found.engine) as connection:
        connection.execute(update(legal_holds).values(review_by=found.clock() - timedelta(days=1)))
    # A change published for the public pages ("you said, we did"), in both languages.
    analyst_id, analyst_name, _ = shown.people["analyst"]
    change_id = changes.save_change(
        found, StaffMember(analyst_id, analyst_name, analyst_name.title(), "analyst", None),
        changes.Typed("victim-support", "2026-Q4",
                      {"en": "Calls were not returned.", "cy": "Ni chafodd galwadau eu dychwelyd."},
                      {"en": "We now call back within a day.", "cy": "Rydym bellach yn ffonio'n ôl o fewn diwrnod."}),
        nonce="c" * 32)
    with read(found.engine) as connection:
        reference = connection.execute(select(alerts.c.reference)).scalars().first()
        invitation_id = connection.execute(select(invitations.c.id)).scalars().first()
    shown.ids = {"case_id": case_id, "submission_id": submission_id, "reference": str(reference),
                 "invitation_id": str(invitation_id), "staff_id": owner_id, "hold_id": hold_id,
                 "change_id": change_id}
    return shown


def staff_pages(app: Any) -> list[str]:
    """Every GET endpoint of the staff blueprints, from the application's URL map."""
    return sorted({rule.endpoint for rule in app.url_map.iter_rules()
                   if rule.endpoint.split(".", 1)[0] in STAFF_BLUEPRINTS and "GET" in (rule.methods or ())})


def path_of(app: Any, endpoint: str, ids: dict[str, str]) -> str | None:
    rule = next(r for r in app.url_map.iter_rules(endpoint) if "GET" in (r.methods or ()))
    if not rule.arguments <= set(ids):
        return None
    return str(app.url_map.bind("localhost").build(endpoint, {a: ids[a] for a in rule.arguments}))


# The duty manager goes first: their break-glass (a real one, after an empty try) opens the case to them and
# tells the team's supervisor, whose notifications page then has something on it.
ORDER = ("duty_manager", "caseworker", "supervisor", "administrator", "auditor", "analyst", "records_officer")


def break_glass(page: Any, world: World, problems: dict[str, list[str]]) -> None:
    _, username, password = world.people["duty_manager"]
    empty_break_glass(page, world)
    error_state(page, "duty_manager: break-glass, empty", problems)
    page.fill("#case", "VS-1001")
    page.fill("#reason", "She said she is not safe tonight and her caseworker is off shift.")
    page.fill("#password", password)
    page.fill("#code", next_code(world.found, username))
    submit(page, "main form")
    assert page.url.endswith(f"/casework/cases/{world.ids['case_id']}"), "break-glass did not open the case"


def test_every_staff_page_passes_axe_and_fits_a_phone_for_every_role(browser: Any, world: World) -> None:
    app = world.app
    pages = staff_pages(app)
    unreachable = [e for e in pages if e not in SIGNED_OUT | set(DOWNLOADS)
                   and (path_of(app, e, world.ids) is None or is_public(app, e) or not roles_for(e))]
    assert not unreachable, f"staff pages this test does not know how to reach: {unreachable}"
    assert set(ORDER) == set(ROLES), "a role this test does not sign in"

    problems: dict[str, list[str]] = {}
    for role in ORDER:
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(10000)
        _, username, password = world.people[role]
        sign_in(page, world, username, password)
        if role == "duty_manager":
            break_glass(page, world, problems)
        for endpoint in pages:
            if endpoint in SIGNED_OUT or role not in roles_for(endpoint):
                continue
            path = str(path_of(app, endpoint, world.ids))
            label = f"{role}: {endpoint} ({path})"
            if endpoint in DOWNLOADS:
                response = context.request.get(f"{world.base}{path}")
                if response.status != 200 or not response.headers["content-type"].startswith(DOWNLOADS[endpoint]):
                    problems[label] = [f"download answered {response.status} {response.headers['content-type']}"]
                continue
            response = page.goto(f"{world.base}{path}")
            status = response.status if response else 0
            expected = REFUSED.get((endpoint, role), 200)
            if status != expected:
                problems[label] = [f"answered {status}, expected {expected}"]
                continue
            check(page, label, problems)
        for name, mistake in MISTAKES.get(role, {}).items():
            try:
                mistake(page, world)
            except PlaywrightError as error:  # the form is not there: say so, and check the rest
                problems[f"{role}: {name}"] = [f"could not send the form: {str(error).splitlines()[0]}"]
                continue
            error_state(page, f"{role}: {name}", problems)
        context.close()
    report = "\n".join(f"- {label}\n    " + "\n    ".join(found) for label, found in sorted(problems.items()))
    assert not problems, f"{len(problems)} staff pages with problems:\n{report}"


def test_signing_in_passes_axe_and_fits_a_phone_with_its_mistakes(browser: Any, world: World) -> None:
    problems: dict[str, list[str]] = {}
    page = browser.new_context().new_page()
    page.goto(f"{world.base}/staff/sign-in")
    check(page, "sign in", problems)
    submit(page, "main form")
    error_state(page, "sign in, empty", problems)

    _, username, password = world.people["analyst"]
    page.fill("#username", username)
    page.fill("#password", password)
    submit(page, "main form")
    assert page.url.endswith("/staff/sign-in/code")
    check(page, "security code", problems)
    submit(page, "main form")
    error_state(page, "security code, empty", problems)
    page.context.close()

    newcomer = browser.new_context().new_page()
    _, username, password = StaffFactory(world.found)("caseworker", team="North", mfa=False)
    newcomer.goto(f"{world.base}/staff/sign-in")
    newcomer.fill("#username", username)
    newcomer.fill("#password", password)
    submit(newcomer, "main form")
    assert newcomer.url.endswith("/staff/sign-in/enrol")
    check(newcomer, "set up the authenticator app", problems)
    submit(newcomer, "main form")
    error_state(newcomer, "set up the authenticator app, empty", problems)
    newcomer.context.close()
    assert not problems, problems


def test_the_menu_folds_behind_a_button_on_a_phone_and_is_always_there_without_script(
        browser: Any, world: World) -> None:
    _, username, password = world.people["supervisor"]
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    sign_in(page, world, username, password)
    page.goto(f"{world.base}/casework/notifications")
    toggle, menu = page.locator(".staff-menu-toggle"), page.locator("#staff-nav")
    # The person's name and role in words, never an id.
    assert page.inner_text(".staff-header__who").endswith("Supervisor") and "_" not in page.inner_text("header")
    assert toggle.is_visible() and not menu.is_visible()
    assert toggle.get_attribute("aria-expanded") == "false" and toggle.get_attribute("aria-controls") == "staff-nav"
    toggle.click()
    assert menu.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    current = menu.locator("[aria-current=page]")
    assert current.count() == 1 and current.inner_text().startswith("Notifications")
    assert menu.locator("form[action$='/staff/sign-out'][method=post] button").is_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    assert not menu.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    page.set_viewport_size({"width": 1280, "height": 800})  # a wide screen shows the links, whatever was chosen
    assert menu.is_visible() and not toggle.is_visible()
    cookies = context.cookies()
    context.close()

    plain = browser.new_context(viewport={"width": 375, "height": 800}, java_script_enabled=False)
    plain.add_cookies(cookies)  # the same session, in a browser without JavaScript
    page = plain.new_page()
    page.goto(f"{world.base}/casework/")
    assert page.locator("#staff-nav").is_visible() and not page.locator(".staff-menu-toggle").is_visible()
    assert page.locator("#staff-nav [aria-current=page]").inner_text() == "My cases"
    plain.close()
