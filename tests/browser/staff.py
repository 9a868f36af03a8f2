"""Staff pages in a real browser: signing in as a person does, checking a page (axe, width), and the main
forms sent with a mistake. Shared by the staff browser tests; selectors use form actions and ids, never words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from casefeedback.services import Services
from tests.browser.pages import axe_violations
from tests.conftest import next_code

PlaywrightError: type[Exception] = Exception  # what a missing element or a timeout raises
try:  # conftest skips the browser tests when Playwright is missing
    from playwright.sync_api import Error as _Error

    PlaywrightError = _Error
except ImportError:  # pragma: no cover
    pass

AXE_WIDTHS = (1280, 375)
FIT_WIDTHS = (375, 320)


@dataclass
class World:
    """The live app, and what the pages are reached through: a person in every role, and the ids of their data."""

    app: Any
    base: str
    found: Services
    people: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # role -> (id, username, password)
    ids: dict[str, str] = field(default_factory=dict)  # path parameter -> value


def sign_in(page: Any, world: World, username: str, password: str) -> None:
    page.goto(f"{world.base}/staff/sign-in")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/staff/sign-in/code")
    page.fill("#code", next_code(world.found, username))
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert "/staff/sign-in" not in page.url, f"{username} could not sign in"


def fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def check(page: Any, label: str, problems: dict[str, list[str]]) -> None:
    """axe at each width, and no sideways scrolling at the narrow ones, for the page as it is now."""
    found: list[str] = []
    for width in sorted({*AXE_WIDTHS, *FIT_WIDTHS}, reverse=True):
        page.set_viewport_size({"width": width, "height": 800})
        if width in AXE_WIDTHS:
            found += [f"{width}px {v}" for v in axe_violations(page)]
        if width in FIT_WIDTHS and not fits(page):
            wide = page.evaluate("document.documentElement.scrollWidth")
            found.append(f"{width}px: scrolls sideways (page is {wide}px wide)")
    page.set_viewport_size({"width": 1280, "height": 800})
    if found:
        problems[label] = found


def error_state(page: Any, label: str, problems: dict[str, list[str]]) -> None:
    """A form sent with a mistake: an error summary, each field's error read as an error, then axe and width."""
    own: list[str] = []
    if not page.locator(".error-summary").count():
        own.append("no error summary")
    for message in page.locator(".error-message").all():
        if not message.inner_text().startswith("Error:"):
            own.append(f"a field error without a hidden 'Error:' prefix: {message.inner_text()[:60]!r}")
    if not page.title().startswith("Error:"):
        own.append(f"the title does not start with 'Error:' ({page.title()!r})")
    check(page, label, problems)
    if own:
        problems.setdefault(label, []).extend(own)


# --- the main forms, sent empty (or with an impossible value), per role --------------------------------------

def submit(page: Any, form: str, button: str = "button[type=submit]") -> None:
    if not page.locator(f"{form} {button}").count():
        raise PlaywrightError(f"no {form} on {page.url}")
    page.click(f"{form} {button}")
    page.wait_for_load_state()


def empty_new_case(page: Any, world: World) -> None:
    page.goto(f"{world.base}/casework/")
    submit(page, "form[action$='/casework/']")


def empty_outcome(page: Any, world: World) -> None:
    page.goto(f"{world.base}/casework/cases/{world.ids['case_id']}")
    submit(page, "form[action$='/outcomes']")


def impossible_invitation(page: Any, world: World) -> None:
    page.goto(f"{world.base}/casework/cases/{world.ids['case_id']}/invitations")
    page.fill("#uses", "0")
    page.fill("#days", "")
    submit(page, "form[action$='/invitations']")


def empty_password_change(page: Any, world: World) -> None:
    page.goto(f"{world.base}/staff/account")
    submit(page, "main form:not([action])")


def empty_confirmation(page: Any, world: World) -> None:
    page.goto(f"{world.base}/staff/confirm")
    submit(page, "main form")


def empty_break_glass(page: Any, world: World) -> None:
    page.goto(f"{world.base}/casework/break-glass")
    submit(page, "main form")


def empty_rota(page: Any, world: World) -> None:
    page.goto(f"{world.base}/alerts/rota")
    submit(page, "form[action$='/alerts/rota']")


def empty_alert_outcome(page: Any, world: World) -> None:
    page.goto(f"{world.base}/alerts/a/{world.ids['reference']}")
    submit(page, "form[action$='/resolve']")


def empty_new_account(page: Any, world: World) -> None:
    page.goto(f"{world.base}/admin/staff/new")
    submit(page, "main form")


def empty_team(page: Any, world: World) -> None:
    page.goto(f"{world.base}/admin/")
    submit(page, "form[action$='/admin/teams']")


def nothing_to_reset(page: Any, world: World) -> None:
    page.goto(f"{world.base}/admin/staff/{world.ids['staff_id']}")
    submit(page, "form[action$='/reset']")


def impossible_audit_dates(page: Any, world: World) -> None:
    page.goto(f"{world.base}/audit/?since=not-a-date&until=2026-13-45")


def impossible_insight_dates(page: Any, world: World) -> None:
    page.goto(f"{world.base}/insight/?from=not-a-month&to=2026-13")


Mistake = Callable[[Any, World], None]
def take_feedback_nothing_chosen(page: Any, world: World) -> None:
    page.goto(f"{world.base}/casework/take")
    submit(page, "form[action$='/casework/take/consent']")


def empty_failure_demand(page: Any, world: World) -> None:
    page.goto(f"{world.base}/casework/cases/{world.ids['case_id']}/failure-demand")
    submit(page, "form[action$='/failure-demand']")


def empty_staff_voice(page: Any, world: World) -> None:
    page.goto(f"{world.base}/casework/what-got-in-the-way")
    submit(page, "form[action$='/casework/what-got-in-the-way']")


def empty_legal_hold(page: Any, world: World) -> None:
    page.goto(f"{world.base}/records/holds/new")
    submit(page, "main form")


def hold_review_in_the_past(page: Any, world: World) -> None:
    page.goto(f"{world.base}/records/holds/{world.ids['hold_id']}")
    page.fill("#review_by", "2020-01-01")
    submit(page, "form[action$='/review']")


def empty_hold_release(page: Any, world: World) -> None:
    page.goto(f"{world.base}/records/holds/{world.ids['hold_id']}")
    submit(page, "form[action$='/release']")


MISTAKES: dict[str, dict[str, Mistake]] = {
    "caseworker": {"new case, empty": empty_new_case, "outcome, empty": empty_outcome,
                   "invitation, impossible numbers": impossible_invitation,
                   "password change, empty": empty_password_change, "confirm it is you, empty": empty_confirmation,
                   "take feedback, nothing chosen": take_feedback_nothing_chosen,
                   "failure demand, empty": empty_failure_demand, "what got in the way, empty": empty_staff_voice},
    "supervisor": {"break-glass, empty": empty_break_glass, "duty rota, empty": empty_rota},
    "duty_manager": {"alert outcome, empty": empty_alert_outcome},
    "administrator": {"new account, empty": empty_new_account, "new team, empty": empty_team,
                      "reset, nothing chosen": nothing_to_reset},
    "auditor": {"audit search, impossible dates": impossible_audit_dates},
    "analyst": {"insight filters, impossible dates": impossible_insight_dates},
    "records_officer": {"legal hold, empty": empty_legal_hold, "hold review, in the past": hold_review_in_the_past,
                        "hold release, empty": empty_hold_release},
}
