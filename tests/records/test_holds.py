"""Legal hold on a screen: a records officer sets, reviews and releases holds through the real forms.

Only the records role opens the pages; every change is audited; bad input is a
message and a 4xx with nothing written; a hold's words are sealed (never in the
database image, the audit log or the logs) and opened only on the hold's page,
after the access decision; the purge keeps a held case and erases it after
release; holds due for review come first and are counted in a banner.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from casefeedback.policy.decisions import Actor
from casefeedback.policy.roles import ROLES
from casefeedback.retention import hold_reading
from casefeedback.retention.holds import HoldError
from casefeedback.retention.purge import purge
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events, legal_hold_reviews, legal_holds
from tests.casework.support import Person, person
from tests.conftest import Clock, canary, csrf_token
from tests.retention.conftest import (
    close_case,
    decrypted_image,
    key_classes,
    seed_case,
    seed_submission,
    settled_digest,
)

ALL = {"treated": "2", "listened": "yes", "safe_now": "no", "anything_else": "words", "safer": "more words"}


def reference_of(found: Services, case_id: str) -> str:
    from casefeedback.storage.tables import cases

    with read(found.engine) as connection:
        return str(connection.execute(select(cases.c.reference).where(cases.c.id == case_id)).scalar_one())


def day(clock: Clock, days: int) -> str:
    return (clock.now + timedelta(days=days)).date().isoformat()


def set_hold(officer: Person, reference: str, reason: str, review_by: str):  # type: ignore[no-untyped-def]
    return officer.form_post("/records/holds/new", "/records/holds/new",
                             {"case": reference, "reason": reason, "review_by": review_by})


def hold_id_of(found: Services, case_id: str) -> str:
    with read(found.engine) as connection:
        return str(connection.execute(select(legal_holds.c.id).where(legal_holds.c.case_id == case_id)
                                      .order_by(legal_holds.c.set_at.desc())).scalars().first())


def actions(found: Services, prefix: str = "legal_hold.") -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    with read(found.engine) as connection:
        rows = connection.execute(select(audit_events.c.action, audit_events.c.outcome, audit_events.c.detail)
                                  .where(audit_events.c.action.like(f"{prefix}%")).order_by(audit_events.c.seq))
        return [(r.action, r.outcome, json.loads(r.detail or "{}")) for r in rows]


@pytest.fixture
def officer(app: Flask) -> Person:
    return person(app, "records_officer", team=None)


@pytest.fixture
def held(app: Flask, found: Services, clock: Clock, officer: Person) -> tuple[str, str]:
    """A case on hold (reason holds a canary); (case id, hold id)."""
    case_id = seed_case(found)
    response = set_hold(officer, reference_of(found, case_id), "Court order 2026/77", day(clock, 30))
    assert response.status_code == 303, response.get_data(as_text=True)
    return case_id, hold_id_of(found, case_id)


# --- who may open the pages --------------------------------------------------------------------------


def test_only_the_records_role_opens_the_records_pages(app: Flask, found: Services, held: tuple[str, str]) -> None:
    _case_id, hold_id = held
    pages = ["/records/", "/records/holds/new", f"/records/holds/{hold_id}"]
    assert {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("records.")} == {
        "records.holds_list", "records.new_hold", "records.hold", "records.review", "records.release"}
    for role in ROLES:
        someone = person(app, role, team="North" if role in ("caseworker", "supervisor") else None)
        for page in pages:
            assert someone.get(page).status_code == (200 if role == "records_officer" else 403), (role, page)
        if role != "records_officer":
            html = someone.get("/staff/account").get_data(as_text=True)
            for action in ("review", "release"):
                response = someone.client.post(f"/records/holds/{hold_id}/{action}",
                                               data={"csrf_token": csrf_token(html), "reason": "x", "note": "x"})
                assert response.status_code == 403, (role, action)
    anonymous = app.test_client()
    for page in pages:
        response = anonymous.get(page)
        assert response.status_code == 302 and response.headers["Location"].endswith("/staff/sign-in")
    # The records officer holds no relation to any case: no casework page, no feedback.
    officer = person(app, "records_officer", team=None)
    assert officer.get("/casework/").status_code == 403
    assert officer.get(f"/casework/cases/{held[0]}").status_code == 403
    assert officer.get("/staff/").headers["Location"].endswith("/records/")


def test_only_the_records_role_is_granted_a_holds_words(found: Services, held: tuple[str, str]) -> None:
    _case_id, hold_id = held
    with pytest.raises(HoldError) as refused:
        hold_reading.hold_page(found, Actor("someone", "supervisor", None), hold_id)
    assert refused.value.status == 403
    assert ("legal_hold.open", "denied", {"case": held[0]}) in actions(found)


# --- set, review, release through the forms ------------------------------------------------------------


def test_set_review_and_release_through_the_forms_each_audited(app: Flask, found: Services, clock: Clock,
                                                                 officer: Person) -> None:
    case_id = seed_case(found)
    reference = reference_of(found, case_id)
    secret = canary()
    response = set_hold(officer, reference, f"Order of the court naming {secret}", day(clock, 40))
    assert response.status_code == 303
    hold_id = hold_id_of(found, case_id)
    page = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Order of the court naming {secret}" in page and "On hold" in page
    listed = officer.get("/records/").get_data(as_text=True)
    assert reference in listed and secret not in listed  # the list opens nothing

    note = canary()
    reviewed = officer.form_post(f"/records/holds/{hold_id}", f"/records/holds/{hold_id}/review",
                                 {"review_by": day(clock, 100), "note": f"Appeal lodged {note}"})
    assert reviewed.status_code == 303
    page = officer.get(f"/records/holds/{hold_id}").get_data(as_text=True)
    assert f"Appeal lodged {note}" in page

    clock.advance(minutes=6)  # past reauthenticate_within (PT5M) since signing in: releasing asks again
    why = canary()
    unconfirmed = officer.form_post(f"/records/holds/{hold_id}", f"/records/holds/{hold_id}/release",
                                    {"reason": f"Settled {why}"})
    assert unconfirmed.status_code == 401 and "Enter your password and a security code" in unconfirmed.get_data(
        as_text=True)
    wrong = officer.form_post(f"/records/holds/{hold_id}", f"/records/holds/{hold_id}/release",
                              {"reason": f"Settled {why}", "password": "not it", "code": "123456"})
    assert wrong.status_code == 401 and "has not been released" in wrong.get_data(as_text=True)
    with read(found.engine) as connection:
        assert connection.execute(select(legal_holds.c.released_at).where(legal_holds.c.id == hold_id)).scalar() \
            is None
    from tests.conftest import next_code

    released = officer.form_post(f"/records/holds/{hold_id}", f"/records/holds/{hold_id}/release",
                                 {"reason": f"Settled {why}", "password": officer.password,
                                  "code": next_code(found, officer.username)})
    assert released.status_code == 303
    page = officer.get(f"/records/holds/{hold_id}").get_data(as_text=True)
    assert "Released" in page and f"Settled {why}" in page and "Release the hold" not in page
    history = officer.get("/records/").get_data(as_text=True)
    assert "No case is on legal hold." in history and reference in history  # kept, as released

    done = [(a, o) for a, o, _ in actions(found) if a != "legal_hold.open"]
    assert done == [("legal_hold.set", "success"), ("legal_hold.review", "success"), ("legal_hold.release", "success")]
    opened = [d for a, o, d in actions(found) if a == "legal_hold.open"]
    assert opened and all(d == {"case": case_id} for d in opened)
    assert [o for a, o, _ in actions(found, "staff.reauthenticate")] == ["failure", "success"]
    # No word of a reason or note in the log, the database image or the log file.
    log = json.dumps(actions(found, ""))
    image = decrypted_image(found.config.database_path, found.config.secrets.database.value)
    text = found.config.log_path.read_text(encoding="utf-8") if found.config.log_path.exists() else ""
    for words in (secret, note, why):
        assert words not in log and words.encode() not in image and words not in text


# --- bad input: a message, a 4xx, nothing written --------------------------------------------------------


@pytest.mark.parametrize("given, status, message", [
    ({"reason": ""}, 400, "Write why the case must be kept."),
    ({"reason": "   \n  "}, 400, "Write why the case must be kept."),
    ({"review_by": ""}, 400, "Enter a review date."),
    ({"review_by": "next week"}, 400, "Enter the review date as a date"),
    ({"review_by": "PAST"}, 400, "The review date must be after today"),
    ({"review_by": "TODAY"}, 400, "The review date must be after today"),
    ({"review_by": "FAR"}, 400, "The review date can be no later than 2 May 2027"),
    ({"case": "NO-SUCH-CASE"}, 400, "No case has the reference"),
    ({"case": ""}, 400, "Enter the case reference."),
])
def test_setting_a_hold_with_bad_input_writes_nothing(app: Flask, found: Services, clock: Clock, officer: Person,
                                                       given: dict[str, str], status: int, message: str) -> None:
    case_id = seed_case(found)
    dates = {"PAST": day(clock, -1), "TODAY": day(clock, 0), "FAR": day(clock, 200)}
    form = {"case": reference_of(found, case_id), "reason": "Court order", "review_by": day(clock, 30), **given}
    form["review_by"] = dates.get(form["review_by"], form["review_by"])
    before = settled_digest(found)
    response = set_hold(officer, form["case"], form["reason"], form["review_by"])
    page = response.get_data(as_text=True)
    assert response.status_code == status and message in page and "There is a problem" in page
    assert page.count("<title>Error:") == 1
    assert settled_digest(found) == before


def test_twice_or_after_release_is_refused_and_writes_nothing(found: Services, clock: Clock, officer: Person,
                                                              held: tuple[str, str]) -> None:
    case_id, hold_id = held
    before = settled_digest(found)
    again = set_hold(officer, reference_of(found, case_id), "Another order", day(clock, 30))
    assert again.status_code == 409 and "already on legal hold" in again.get_data(as_text=True)
    past = officer.form_post(f"/records/holds/{hold_id}", f"/records/holds/{hold_id}/review",
                             {"review_by": day(clock, -3), "note": "Still needed"})
    assert past.status_code == 400 and "must be after today" in past.get_data(as_text=True)
    empty = officer.form_post(f"/records/holds/{hold_id}", f"/records/holds/{hold_id}/review",
                              {"review_by": day(clock, 30), "note": ""})
    assert empty.status_code == 400 and "Write why the hold is still needed." in empty.get_data(as_text=True)
    no_reason = officer.form_post(f"/records/holds/{hold_id}", f"/records/holds/{hold_id}/release", {"reason": ""})
    assert no_reason.status_code == 400
    assert officer.get("/records/holds/no-such-hold").status_code == 404
    assert officer.form_post("/records/", "/records/holds/no-such-hold/release", {"reason": "x"}).status_code == 404
    with read(found.engine) as connection:
        assert connection.execute(select(legal_hold_reviews)).first() is None
    # Reading the hold page appends legal_hold.open events, so compare only the holds themselves.
    assert _holds(found) == _holds_from(before, found)

    assert officer.form_post(f"/records/holds/{hold_id}", f"/records/holds/{hold_id}/release",
                             {"reason": "Settled"}).status_code == 303
    twice = officer.form_post("/records/", f"/records/holds/{hold_id}/release", {"reason": "Settled again"})
    assert twice.status_code == 409 and "already released" in twice.get_data(as_text=True)
    late = officer.form_post("/records/", f"/records/holds/{hold_id}/review",
                             {"review_by": day(clock, 30), "note": "More"})
    assert late.status_code == 409 and "has been released" in late.get_data(as_text=True)
    assert [a for a, _, _ in actions(found) if a != "legal_hold.open"] == ["legal_hold.set", "legal_hold.release"]


def _holds(found: Services) -> list[tuple]:  # type: ignore[type-arg]
    with read(found.engine) as connection:
        return [tuple(r) for r in connection.execute(select(legal_holds))]


def _holds_from(_digest: str, found: Services) -> list[tuple]:  # type: ignore[type-arg]
    return _holds(found)


# --- due for review ------------------------------------------------------------------------------------


def test_holds_due_for_review_come_first_and_are_counted_on_every_page(app: Flask, found: Services, clock: Clock,
                                                                      officer: Person) -> None:
    soon, later = seed_case(found), seed_case(found)
    assert set_hold(officer, reference_of(found, later), "Inquiry", day(clock, 60)).status_code == 303
    assert set_hold(officer, reference_of(found, soon), "Complaint", day(clock, 3)).status_code == 303
    page = officer.get("/records/").get_data(as_text=True)
    assert "Due for review" not in page and "data-holds-due" not in page
    clock.advance(days=3)
    officer.auth.sign_in(officer.username, officer.password)  # three days on: a new session
    page = officer.get("/records/").get_data(as_text=True)
    rows = re.findall(r'data-hold="([^"]+)"', page)
    assert rows[:2] == [reference_of(found, soon), reference_of(found, later)]
    assert page.count("Due for review") == 1 and 'data-holds-due="1"' in page  # the one due, and the banner
    assert 'data-holds-due="1"' in officer.get("/staff/account").get_data(as_text=True)
    caseworker = person(app, "caseworker")
    assert caseworker.get("/casework/").status_code == 200
    assert "data-holds-due" not in caseworker.get("/casework/").get_data(as_text=True)
    # Past its date it still holds: only a review or a release ends "due".
    hold_id = hold_id_of(found, soon)
    assert hold_reading.listing(found)[0][0].due
    officer.form_post(f"/records/holds/{hold_id}", f"/records/holds/{hold_id}/review",
                      {"review_by": day(clock, 90), "note": "Hearing set for the spring"})
    assert "data-holds-due" not in officer.get("/records/").get_data(as_text=True)


# --- what a hold keeps, and the purge ------------------------------------------------------------------


def test_the_purge_keeps_a_held_case_and_erases_it_after_release(app: Flask, found: Services, clock: Clock,
                                                                 officer: Person) -> None:
    case_id = seed_case(found)
    submission_id = seed_submission(found, ALL, case_id=case_id, at=clock.now)
    close_case(found, case_id, clock.now)
    assert set_hold(officer, reference_of(found, case_id), "Court order", day(clock, 150)).status_code == 303
    hold_id = hold_id_of(found, case_id)
    clock.advance(days=3 * 366)
    officer.auth.sign_in(officer.username, officer.password)
    report = purge(found, clock.now)
    assert key_classes(found, submission_id) == {"rating", "experience", "safety", "narrative"}
    assert report.held_cases == {case_id}
    (kept,) = hold_reading.listing(found)[0]
    assert kept.kept is not None and (kept.kept.data_keys, kept.kept.answers, kept.kept.outcomes) == (4, 5, 0)
    page = officer.get(f"/records/holds/{hold_id}").get_data(as_text=True)
    assert "5 answers (under 4 data keys) and 0 outcomes past their retention" in page
    from tests.conftest import next_code

    assert officer.form_post(f"/records/holds/{hold_id}", f"/records/holds/{hold_id}/release",
                             {"reason": "Concluded", "password": officer.password,
                              "code": next_code(found, officer.username)}).status_code == 303
    purge(found, clock.now)
    assert key_classes(found, submission_id) == set()


def test_a_hold_whose_words_were_altered_says_so_and_is_audited(found: Services, officer: Person,
                                                               held: tuple[str, str]) -> None:
    from sqlalchemy import update

    from casefeedback.storage.engine import write

    case_id, hold_id = held
    with write(found.engine) as connection:
        sealed = connection.execute(select(legal_holds.c.reason).where(legal_holds.c.id == hold_id)).scalar_one()
        connection.execute(update(legal_holds).where(legal_holds.c.id == hold_id)
                           .values(reason=sealed[:-1] + bytes([sealed[-1] ^ 1])))
    response = officer.get(f"/records/holds/{hold_id}")
    assert response.status_code == 200 and "This cannot be opened" in response.get_data(as_text=True)
    assert ("legal_hold.open", "integrity_failure", {"case": case_id}) in actions(found)
