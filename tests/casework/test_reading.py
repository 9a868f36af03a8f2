"""Reading feedback: one decision and one audit event per field; tampering is caught and audited."""

from __future__ import annotations

from sqlalchemy import select, update

from casefeedback.auth import accounts
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import create_case
from casefeedback.casework.invitations import create_invitation
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import answers, audit_events, cases, submissions
from tests.conftest import canary
from tests.helpers import ServiceUser


def invited_submission(app, found, owner_id: str, answers_given: dict) -> tuple[str, str]:
    with write(found.engine) as connection:
        team_id = accounts.ensure_team(connection, "North")
        member = StaffMember(owner_id, "x", "X", "caseworker", team_id)
        case_id = create_case(connection, member=member, service_id="victim-support", reference="C-1",
                              now=found.clock())
        token = create_invitation(connection, found.config.secrets.lookup.value, case_id=case_id,
                                  created_by=owner_id, now=found.clock())
    person = app.test_client()
    person.get(f"/feedback/i/{token}")
    ServiceUser(person).give_feedback(answers_given)
    with read(found.engine) as connection:
        submission_id = connection.execute(select(submissions.c.id).where(submissions.c.case_id == case_id)
                                           ).scalar_one()
    return case_id, submission_id


def new_events(found, after: int):
    with read(found.engine) as connection:
        return connection.execute(select(audit_events).where(audit_events.c.seq > after)
                                  .order_by(audit_events.c.seq)).all()


def head(found) -> int:
    with read(found.engine) as connection:
        return int(connection.execute(select(audit_events.c.seq).order_by(audit_events.c.seq.desc())).scalar())


def test_supervisor_sees_ratings_but_narrative_is_withheld_by_policy(app, client, found, staff_factory, auth):
    owner_id, *_ = staff_factory("caseworker", team="North")
    _, supervisor, password = staff_factory("supervisor", team="North")
    narrative = canary()
    _, submission_id = invited_submission(app, found, owner_id, {"treated": "3", "anything_else": narrative})
    auth.sign_in(supervisor, password)
    before = head(found)
    page = client.get(f"/casework/submissions/{submission_id}").get_data(as_text=True)
    assert narrative not in page
    assert "Withheld by policy" in page
    events = new_events(found, before)
    assert [(e.action, e.field_class, e.outcome) for e in events] == [
        ("field.open", "rating", "allowed"), ("field.withhold", "narrative", "denied")]


def test_someone_with_no_relation_gets_not_found_and_a_denial_is_audited(app, client, found, staff_factory,
                                                                          auth):
    owner_id, *_ = staff_factory("caseworker", team="North")
    _, outsider, password = staff_factory("caseworker", team="South")
    _, submission_id = invited_submission(app, found, owner_id, {"treated": "3"})
    auth.sign_in(outsider, password)
    before = head(found)
    missing = client.get("/casework/submissions/does-not-exist")
    response = client.get(f"/casework/submissions/{submission_id}")
    assert response.status_code == missing.status_code == 404
    assert response.get_data() == missing.get_data()  # "not yours" looks exactly like "no such thing"
    events = new_events(found, before)
    assert [(e.action, e.outcome, e.object_id) for e in events] == [
        ("submission.open", "denied", submission_id)]


def test_administrator_cannot_read_content(app, client, found, staff_factory, auth):
    owner_id, *_ = staff_factory("caseworker", team="North")
    _, admin, password = staff_factory("administrator", team="North")
    secret = canary()
    _, submission_id = invited_submission(app, found, owner_id, {"anything_else": secret})
    auth.sign_in(admin, password)
    response = client.get(f"/casework/submissions/{submission_id}")
    # Administrators have no casework at all: the same refusal whatever the id.
    assert response.status_code == 403 and secret not in response.get_data(as_text=True)
    assert client.get("/casework/submissions/does-not-exist").get_data() == response.get_data()


def test_flipped_bit_in_the_database_fails_clearly_and_is_audited(app, client, found, staff_factory, auth):
    owner_id, owner, password = staff_factory("caseworker", team="North")
    secret = canary()
    _, submission_id = invited_submission(app, found, owner_id, {"treated": "5", "anything_else": secret})
    with write(found.engine) as connection:
        row = connection.execute(select(answers).where(answers.c.question_id == "anything_else")).one()
        blob = bytearray(row.ciphertext)
        blob[-3] ^= 0x04
        connection.execute(update(answers).where(answers.c.id == row.id).values(ciphertext=bytes(blob)))
    auth.sign_in(owner, password)
    before = head(found)
    response = client.get(f"/casework/submissions/{submission_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "failed its integrity check" in page and secret not in page
    outcomes = {(e.field_class, e.outcome) for e in new_events(found, before)}
    assert outcomes == {("rating", "allowed"), ("narrative", "integrity_failure")}


def test_ciphertext_moved_between_rows_never_opens_as_the_other_answer(app, client, found, staff_factory,
                                                                       auth):
    owner_id, owner, password = staff_factory("caseworker", team="North")
    first, second = canary(), canary()
    _, submission_id = invited_submission(app, found, owner_id, {"safer": first, "anything_else": second})
    # Both answers sit under different classes; move one's ciphertext onto the other row.
    with write(found.engine) as connection:
        rows = {r.question_id: r for r in connection.execute(select(answers)).all()}
        connection.execute(update(answers).where(answers.c.id == rows["safer"].id)
                           .values(ciphertext=rows["anything_else"].ciphertext))
    auth.sign_in(owner, password)
    page = client.get(f"/casework/submissions/{submission_id}").get_data(as_text=True)
    assert page.count(second) == 1  # only under its own question, never under the one it was moved to
    assert first not in page
    assert "failed its integrity check" in page


def test_case_list_counts_feedback(app, client, found, staff_factory, auth):
    owner_id, owner, password = staff_factory("caseworker", team="North")
    case_id, _ = invited_submission(app, found, owner_id, {"treated": "1"})
    auth.sign_in(owner, password)
    page = client.get("/casework/").get_data(as_text=True)
    assert "C-1" in page and '<td data-label="Feedback received" class="numeric">1</td>' in page
    with read(found.engine) as connection:
        assert connection.execute(select(cases.c.owner_id).where(cases.c.id == case_id)).scalar() == owner_id
