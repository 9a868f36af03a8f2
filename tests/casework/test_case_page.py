"""The case page keeps routine forms; closing (irreversible) has its own confirmation page. The feedback page
shows every question of the policy: the answer, "Skipped", or the withheld marker."""

from __future__ import annotations

import re

from sqlalchemy import select

from casefeedback.storage.engine import read
from casefeedback.storage.tables import cases
from tests.casework.support import events, feedback, new_case, person


def status_of(found, case_id: str) -> str:  # type: ignore[no-untyped-def]
    with read(found.engine) as connection:
        return str(connection.execute(select(cases.c.status).where(cases.c.id == case_id)).scalar_one())


def shown(html: str, question_text: str) -> str:
    """The state and words shown for the question asked in ``question_text``."""
    match = re.search(re.escape(question_text) + r'</dt>\s*<dd[^>]*data-state="(\w+)"[^>]*>([^<]*)</dd>', html)
    assert match, question_text
    return f"{match.group(1)}:{match.group(2).strip()}"


def test_the_case_page_links_to_the_confirmation_and_has_no_close_button(app, found):
    casey = person(app)
    case_id = new_case(found, casey)
    html = casey.get(f"/casework/cases/{case_id}").get_data(as_text=True)
    assert f'href="/casework/cases/{case_id}/close"' in html and "Close this case…" in html
    assert f'action="/casework/cases/{case_id}/close"' not in html
    assert f'action="/casework/cases/{case_id}/deputy"' in html  # routine forms stay on the case page


def test_the_confirmation_says_what_happens_and_changes_nothing_until_confirmed(app, found):
    casey = person(app)
    case_id = new_case(found, casey)
    page = f"/casework/cases/{case_id}/close"
    response = casey.get(page)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "invitation links" in html and "stop working" in html
    assert "retention period" in html and "Nothing can be added" in html and "Who is affected" in html
    assert '<button type="submit" class="button button-warning">Close this case</button>' in html
    assert f'<a href="/casework/cases/{case_id}">Cancel</a>' in html
    assert status_of(found, case_id) == "open" and not events(found, "case.close")
    assert casey.form_post(page, page).status_code == 303
    assert status_of(found, case_id) == "closed" and len(events(found, "case.close")) == 1
    assert "already closed" in casey.get(page).get_data(as_text=True)


def test_the_confirmation_follows_the_rule_for_closing(app, found):
    casey = person(app)
    deputy = person(app)
    stranger = person(app, team="South")
    case_id = new_case(found, casey)
    case_page = f"/casework/cases/{case_id}"
    assert casey.form_post(case_page, f"{case_page}/deputy", {"deputy": deputy.id}).status_code == 303
    assert stranger.get(f"{case_page}/close").status_code == 404
    assert deputy.get(case_page).status_code == 200
    assert deputy.get(f"{case_page}/close").status_code == 403
    assert "Close this case" not in deputy.get(case_page).get_data(as_text=True)
    assert status_of(found, case_id) == "open"


def test_skipped_and_prefer_not_to_say_are_shown_and_withheld_stays_withheld(app, found):
    casey = person(app)
    supervisor = person(app, "supervisor")
    case_id = new_case(found, casey)
    submission_id = feedback(app, found, case_id, casey.id, {"treated": "prefer_not_to_say"})
    page = f"/casework/submissions/{submission_id}"

    mine = casey.get(page).get_data(as_text=True)
    assert shown(mine, "Overall, how well did we treat you?") == "open:Prefer not to say"
    assert 'data-class="narrative" data-state="skipped"' in mine  # the owner may read it: truly skipped
    assert "Withheld by policy" not in mine

    theirs = supervisor.get(page).get_data(as_text=True)
    assert 'data-class="narrative" data-state="withheld">Withheld by policy' in theirs
    assert 'data-class="narrative" data-state="skipped"' not in theirs
    assert 'data-class="experience" data-state="skipped">Skipped' in theirs
