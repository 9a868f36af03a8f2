"""The access matrix, generated from the policies: every role × every relation × every field class × every
staff endpoint.

For each role and each way of standing to a case (its owner, its deputy, in its
team, in another team), a person of that role gets a case of their own with
feedback in which every class's answers carry a unique canary, and an outcome
with one too. Then they visit every staff page of the app (whatever blueprint
added it). What they may see follows from the policy's ``read`` lists alone,
worked out here independently of the code under test: allowed classes show
their canary on the feedback page, denied ones say "Withheld by policy", and no
canary ever appears in any other body, header or redirect, nor any canary that
is not theirs to see.

Then the classic attacks, each refused: ids guessed, a caseworker from another
team, a disabled account's old cookie, a cookie replayed after sign-out, a form
without its CSRF token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from flask import Flask
from sqlalchemy import update

from casefeedback.casework import outcomes, replies
from casefeedback.policy.model import OUTCOME_CLASS, REPLY_CLASS, Question, ServicePolicy
from casefeedback.policy.pages import public_endpoints
from casefeedback.policy.roles import CONTENT_ROLES
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.tables import cases
from tests.casework.support import Person, feedback, new_case, person
from tests.conftest import canary, csrf_token

ROLES = ("caseworker", "supervisor", "duty_manager", "auditor", "analyst", "administrator", "records_officer")
PLACEMENTS = ("owner", "deputy", "team", "other_team")
SERVICE = "victim-support"


def expected_relations(role: str, placement: str) -> frozenset[str]:
    """What the policy language says each person holds (policies/README.md, "Access: deny by default")."""
    if role not in CONTENT_ROLES:
        return frozenset()  # administrators, auditors and analysts hold no relations, ever
    held = {"duty_manager"} if role == "duty_manager" else set()
    if placement in ("owner", "deputy", "team"):
        held.add("team_member")
        if role == "supervisor":
            held.add("team_supervisor")
    if placement == "owner":
        held.add("case_owner")
    if placement == "deputy":
        held.add("case_deputy")
    return frozenset(held)


def answer_for(question: Question, secret: str) -> str | list[str]:
    if question.kind == "text":
        return f"{secret} "
    if question.kind == "rating":
        return str(question.scale_max)
    first = question.options[0].id
    return [first] if question.kind == "multi_choice" else first


@dataclass
class Combo:
    role: str
    placement: str
    who: Person
    case_id: str = ""
    submission_id: str = ""
    secrets: dict[str, str] = field(default_factory=dict)  # class -> canary (classes with a text question)
    outcome_secret: str = ""
    reply_secret: str = ""

    @property
    def held(self) -> frozenset[str]:
        return expected_relations(self.role, self.placement)


def build(app: Flask, found: Services, policy: ServicePolicy) -> list[Combo]:
    owner = person(app, "caseworker", sign_in=False)  # owns the cases nobody in the matrix owns
    combos = []
    for role in ROLES:
        for placement in PLACEMENTS:
            who = person(app, role, team="South" if placement == "other_team" else "North")
            combo = Combo(role, placement, who)
            combo.case_id = new_case(found, owner, f"REF-{role}-{placement}")
            with write(found.engine) as connection:
                if placement == "owner":
                    connection.execute(update(cases).where(cases.c.id == combo.case_id).values(owner_id=who.id))
                if placement == "deputy":
                    connection.execute(update(cases).where(cases.c.id == combo.case_id).values(deputy_id=who.id))
            combo.secrets = {c: canary() for c in policy.classes
                             if any(q.kind == "text" for q in policy.questions if q.field_class == c)}
            given = {q.id: answer_for(q, combo.secrets.get(q.field_class, "")) for q in policy.questions}
            combo.submission_id = feedback(app, found, combo.case_id, owner.id, given)
            combo.outcome_secret = canary()
            with write(found.engine) as connection:
                outcomes.record_outcome(connection, found.keyring, case_id=combo.case_id, recorded_by=owner.id,
                                        text=f"Outcome {combo.outcome_secret}", nonce=uuid.uuid4().hex,
                                        now=found.clock())
                # A reply to the person, sealed in the reply class (policy: [classes.reply]).
                combo.reply_secret = canary()
                replies.store_reply(found, connection, reply_id=str(uuid.uuid4()), submission_id=combo.submission_id,
                                    written_by=owner.id, text=f"Reply {combo.reply_secret}", language="en",
                                    nonce=uuid.uuid4().hex, now=found.clock())
            combos.append(combo)
    return combos


def every_canary(combos: list[Combo]) -> set[str]:
    return ({s for c in combos for s in c.secrets.values()} | {c.outcome_secret for c in combos}
            | {c.reply_secret for c in combos})


def staff_gets(app: Flask) -> list[tuple[str, str]]:
    """(endpoint, rule) for every page a signed-in member of staff could ask for."""
    return [(rule.endpoint, rule.rule) for rule in app.url_map.iter_rules()
            if rule.endpoint not in public_endpoints(app) and "GET" in (rule.methods or ())]


def path_for(rule: str, combo: Combo) -> str:
    ids = {"case_id": combo.case_id, "submission_id": combo.submission_id, "staff_id": combo.who.id,
           "invitation_id": str(uuid.uuid4()), "kind": "png"}
    for name, value in ids.items():
        rule = rule.replace(f"<{name}>", value)
    while "<" in rule:  # a parameter this test does not know: an arbitrary value
        start, end = rule.index("<"), rule.index(">")
        rule = rule[:start] + "x" + rule[end + 1:]
    return rule


def visible(response) -> str:  # type: ignore[no-untyped-def]
    """Everything a response shows: body (text or not), every header (redirects included)."""
    body = response.get_data().decode("utf-8", errors="replace")
    return body + "\n".join(f"{k}: {v}" for k, v in response.headers.items())


@pytest.fixture
def matrix(app: Flask, found: Services) -> list[Combo]:
    return build(app, found, found.policies.services[SERVICE])


def test_the_access_matrix(app: Flask, found: Services, matrix: list[Combo]) -> None:
    policy = found.policies.services[SERVICE]
    organisation = found.policies.organisation
    everything = every_canary(matrix)
    pages = staff_gets(app)
    assert {"casework.case", "casework.submission", "casework.my_cases", "admin.index"} <= {e for e, _ in pages}
    for combo in matrix:
        held = combo.held
        label = f"{combo.role}/{combo.placement}"
        allowed = {c for c, declared in policy.classes.items() if held & set(declared.read)}
        may_see_outcome = bool(held & set(organisation.outcomes.read)) and bool(
            held & {"case_owner", "case_deputy", "team_supervisor"})
        mine = {combo.secrets[c] for c in allowed if c in combo.secrets}
        if may_see_outcome:
            mine.add(combo.outcome_secret)
        if REPLY_CLASS in allowed:
            mine.add(combo.reply_secret)

        # The feedback page: each class open or withheld exactly as the policy says.
        response = combo.who.get(f"/casework/submissions/{combo.submission_id}")
        shown = visible(response)
        if not held:
            assert response.status_code == (404 if combo.role in CONTENT_ROLES else 403), label
        else:
            assert response.status_code == 200, label
            for field_class in policy.classes:
                state = "open" if field_class in allowed else "withheld"
                assert f'data-class="{field_class}" data-state="{state}"' in shown, (label, field_class)
        for field_class, secret in combo.secrets.items():
            assert (secret in shown) == (field_class in allowed), (label, field_class)
        assert (combo.reply_secret in shown) == (REPLY_CLASS in allowed), (label, REPLY_CLASS)

        # Every staff page: no canary but those this person may see, and those only where they belong.
        seen: set[str] = set()
        for endpoint, rule in pages:
            response = combo.who.get(path_for(rule, combo))
            assert response.status_code < 500, (label, endpoint)
            found_here = {s for s in everything if s in visible(response)}
            seen |= found_here
            if endpoint not in ("casework.submission", "casework.case"):
                assert not found_here, (label, endpoint)
        assert seen == mine, label
        assert (combo.outcome_secret in seen) == may_see_outcome, (label, OUTCOME_CLASS)


def test_changing_a_case_follows_the_same_rules(app: Flask, found: Services, matrix: list[Combo]) -> None:
    """Recording an outcome: its owner, its deputy, its team's supervisor; everyone else 403 or 404."""
    for combo in matrix:
        label = f"{combo.role}/{combo.placement}"
        page = f"/casework/cases/{combo.case_id}"
        may = combo.role in CONTENT_ROLES and (
            combo.placement in ("owner", "deputy") or (combo.role == "supervisor" and combo.placement == "team"))
        html = combo.who.get("/staff/account").get_data(as_text=True)
        response = combo.who.client.post(f"{page}/outcomes", data={
            "text": "A note", "nonce": uuid.uuid4().hex, "csrf_token": csrf_token(html)})
        if may:
            assert response.status_code == 303, label
        else:
            assert response.status_code in (403, 404), label


def test_writing_a_reply_follows_the_policy(app: Flask, found: Services, matrix: list[Combo]) -> None:
    """[classes.reply] write, through normal work only: the others 403, or 404 if they may not see the feedback."""
    policy = found.policies.services[SERVICE]
    for combo in matrix:
        label = f"{combo.role}/{combo.placement}"
        may = bool(combo.held & set(policy.classes[REPLY_CLASS].write))
        html = combo.who.get("/staff/account").get_data(as_text=True)
        response = combo.who.client.post(f"/casework/submissions/{combo.submission_id}/replies", data={
            "text": "A reply", "language": "en", "nonce": uuid.uuid4().hex, "csrf_token": csrf_token(html)})
        if may:
            assert response.status_code == 303, label
        else:
            assert response.status_code in (403, 404), label


# --- the classic attacks -------------------------------------------------------------------------


def test_guessed_ids_look_exactly_like_someone_elses(app: Flask, found: Services) -> None:
    casey = person(app)
    case_id = new_case(found, casey)
    secret = canary()
    submission_id = feedback(app, found, case_id, casey.id, {"anything_else": secret})
    other = person(app, team="South")
    for real, kind in ((case_id, "cases"), (submission_id, "submissions")):
        theirs = other.get(f"/casework/{kind}/{real}")
        guesses = [other.get(f"/casework/{kind}/{guess}") for guess in
                   (str(uuid.uuid4()), real[:-1] + ("0" if real[-1] != "0" else "1"), "1", "../../etc/passwd")]
        assert theirs.status_code == 404 and secret not in visible(theirs)
        assert all(g.status_code == 404 and g.get_data() == theirs.get_data() for g in guesses)


def test_a_caseworker_from_another_team_sees_nothing(app: Flask, found: Services) -> None:
    casey = person(app)
    case_id = new_case(found, casey, "NORTH-ONLY")
    secret = canary()
    submission_id = feedback(app, found, case_id, casey.id, {"anything_else": secret, "safer": secret})
    south = person(app, team="South")
    for path in ("/casework/", f"/casework/cases/{case_id}", f"/casework/submissions/{submission_id}",
                 f"/casework/cases/{case_id}/invitations"):
        response = south.get(path)
        assert secret not in visible(response) and "NORTH-ONLY" not in visible(response), path


def test_a_disabled_accounts_old_cookie_is_refused(app: Flask, found: Services) -> None:
    from casefeedback.auth import accounts

    casey = person(app)
    old = casey.client.get_cookie("casefeedback").value
    with write(found.engine) as connection:
        accounts.disable(connection, casey.id)
    replay = app.test_client()
    replay.set_cookie("casefeedback", old)
    response = replay.get("/casework/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/sign-in")


def test_a_cookie_replayed_after_sign_out_is_refused(app: Flask) -> None:
    casey = person(app)
    old = casey.client.get_cookie("casefeedback").value
    casey.auth.sign_out()
    replay = app.test_client()
    replay.set_cookie("casefeedback", old)
    assert replay.get("/casework/").status_code == 302


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(app: Flask, found: Services) -> None:
    casey = person(app)
    case_id = new_case(found, casey)
    response = casey.client.post(f"/casework/cases/{case_id}/close")
    assert response.status_code == 400 and "This form has expired" in response.get_data(as_text=True)
    forged = casey.client.post(f"/casework/cases/{case_id}/close", data={"csrf_token": "forged-token"})
    assert forged.status_code == 400
    assert "open" in casey.get(f"/casework/cases/{case_id}").get_data(as_text=True)
