"""The short code from a caseworker's paper: its shape, typing it, refusals, the limits, and no plaintext kept."""

from __future__ import annotations

import math
import re
from datetime import timedelta

import pytest
from sqlalchemy import MetaData, select, update

from casefeedback import codes
from casefeedback.auth import accounts
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import create_case
from casefeedback.casework.invitations import MAX_DAYS, NewInvitation, new_invitation
from casefeedback.intake.code_entry import CODE_FORM_LIMIT, WRONG_CODE_LIMIT
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import cases, invitations, submissions
from tests.conftest import csrf_token
from tests.helpers import ServiceUser, location

CODE_PAGE = "/feedback/code"  # the address on the paper: a door (intake/arrival.py)
CODE_FORM = "/feedback/code/enter"  # the form behind it
SHAPE = re.compile(r"^[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{2}$")


def invite(found, owner_id: str, **kwargs) -> NewInvitation:
    with write(found.engine) as connection:
        team_id = accounts.ensure_team(connection, "North")
        member = StaffMember(owner_id, "o", "O", "caseworker", team_id)
        case_id = create_case(connection, member=member, service_id="victim-support",
                              reference=f"R-{codes.new_invitation_short_code()}", now=found.clock())
        return new_invitation(connection, found.config.secrets.lookup.value, case_id=case_id,
                              created_by=owner_id, now=found.clock(), **kwargs)


def type_code(client, typed: str):
    page = client.get(CODE_PAGE, follow_redirects=True).get_data(as_text=True)
    return client.post(CODE_FORM, data={"code": typed, "csrf_token": csrf_token(page)})


def wrong_code() -> str:
    return codes.new_invitation_short_code()


# --- the code itself -----------------------------------------------------------------------------------


def test_a_short_code_is_ten_unambiguous_symbols_grouped_for_reading_aloud():
    made = [codes.new_invitation_short_code() for _ in range(2000)]
    for code in made:
        assert SHAPE.match(code), code
        assert len(code) == 12 and len(code.replace("-", "")) == 10
        assert not set(code) & set("0O1ILU")  # nothing to mistake on paper: 0/O, 1/I/L
    assert set("".join(made).replace("-", "")) == set(codes.SHORT_CODE_ALPHABET)  # every symbol is used
    assert len(codes.SHORT_CODE_ALPHABET) == 30 and len(set(made)) == len(made)


@pytest.mark.parametrize("typed", ["K7QM-4TXR-9P", "k7qm-4txr-9p", "K7QM4TXR9P", " k7qm 4txr 9p ", "K7qm–4TXR 9p"])
def test_a_typed_code_is_read_in_any_case_with_or_without_dashes_or_spaces(typed):
    assert codes.normalise_invitation_short_code(typed) == "K7QM4TXR9P"
    assert codes.grouped_short_code("K7QM4TXR9P") == "K7QM-4TXR-9P"


@pytest.mark.parametrize("typed", ["", "K7QM-4TXR-9", "K7QM-4TXR-9PP", "K7QM-4TXR-90", "K7QM-4TXR-9O", "K7QM-4TXR-9U",
                                   "ABCD-EFGH-JKMN-PQRS-TVWX"])
def test_what_cannot_be_a_short_code_is_refused(typed):
    assert codes.normalise_invitation_short_code(typed) is None


def _per(limit: str, period: str) -> int:
    return int(next(part for part in limit.split(";") if part.endswith(f"per {period}")).split()[0])


def test_the_guessing_arithmetic_in_code_entry_still_holds():
    """The comment beside the limits, worked out again from the constants it rests on."""
    space = len(codes.SHORT_CODE_ALPHABET) ** codes.SHORT_CODE_LENGTH
    per_address = _per(WRONG_CODE_LIMIT, "day") * MAX_DAYS
    attackers, live = 10_000, 10_000
    assert space == 30**10 and per_address == 1_800
    assert per_address * attackers / space < 1e-7  # at one given invitation
    assert per_address * attackers * live / space < 1e-3  # at whichever of a large service's invitations
    assert math.log2(space) > 49


# --- typing it ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [str, str.lower, lambda c: c.replace("-", ""), lambda c: " ".join(c.split("-"))])
def test_typing_the_code_opens_the_same_journey_as_the_link(app, found, staff_factory, shape):
    owner_id, *_ = staff_factory()
    made = invite(found, owner_id)
    person = app.test_client()
    response = type_code(person, shape(made.short_code))
    assert response.status_code == 303 and location(response) == "/feedback/victim-support"
    with person.session_transaction() as session:
        assert session["intake"] == {"service": "victim-support", "invitation_id": made.id}
    ServiceUser(person).give_feedback({"treated": "4"})
    with read(found.engine) as connection:
        linked = connection.execute(select(submissions.c.case_id)).scalar_one()
        case_id = connection.execute(select(invitations.c.case_id).where(invitations.c.id == made.id)).scalar_one()
    assert linked == case_id


def test_the_code_page_is_plain_in_both_languages_and_says_where_the_code_is(client):
    page = client.get(CODE_PAGE, follow_redirects=True).get_data(as_text=True)
    assert "Type the code from your caseworker" in page and "10 letters and numbers" in page
    assert 'href="/feedback/leave"' in page and 'autocomplete="off"' in page
    assert f'<form method="post" action="{CODE_FORM}"' in page
    client.get(f"{CODE_FORM}?lang=cy")
    welsh = client.get(CODE_FORM).get_data(as_text=True)
    assert '<html lang="cy">' in welsh and "Type the code from your caseworker" not in welsh


def test_a_wrong_code_is_refused_plainly_and_opens_nothing(client):
    response = type_code(client, wrong_code())
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and "That code does not open any feedback" in page
    assert "Error:" in page and "Traceback" not in page
    with client.session_transaction() as session:
        assert "intake" not in session
    malformed = type_code(client, "K7QM-4TXR")
    assert malformed.status_code == 400 and "A code has 10 letters and numbers" in malformed.get_data(as_text=True)
    empty = type_code(client, "   ")
    assert empty.status_code == 400 and "Enter the code from the paper" in empty.get_data(as_text=True)


def _refusal(response) -> tuple[int, str]:
    page = response.get_data(as_text=True)
    page = re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", page)
    return response.status_code, re.sub(r'id="code" name="code" type="text" value="[^"]*"', "", page)


@pytest.mark.parametrize("state", ["revoked", "expired", "used", "case closed"])
def test_a_code_that_no_longer_works_is_refused_exactly_like_a_wrong_one(app, found, staff_factory, clock, state):
    owner_id, *_ = staff_factory()
    made = invite(found, owner_id, lifetime=timedelta(days=2))
    with write(found.engine) as connection:
        if state == "revoked":
            connection.execute(update(invitations).values(revoked_at=found.clock()))
        elif state == "used":
            connection.execute(update(invitations).values(uses_left=0))
        elif state == "case closed":
            connection.execute(update(cases).values(status="closed", closed_at=found.clock()))
    if state == "expired":
        clock.advance(days=2, seconds=1)
    person = app.test_client()
    refused = type_code(person, made.short_code)
    assert _refusal(refused) == _refusal(type_code(app.test_client(), wrong_code()))
    with person.session_transaction() as session:
        assert "intake" not in session


def test_an_invitation_from_before_short_codes_still_opens_by_its_link(app, found, staff_factory):
    owner_id, *_ = staff_factory()
    made = invite(found, owner_id)
    with write(found.engine) as connection:
        connection.execute(update(invitations).values(short_code_hash=None))
    assert type_code(app.test_client(), made.short_code).status_code == 404
    assert app.test_client().get(f"/feedback/i/{made.token}").status_code == 303


def test_a_token_is_not_a_short_code_nor_the_reverse(app, found, staff_factory):
    owner_id, *_ = staff_factory()
    made = invite(found, owner_id)
    assert app.test_client().get(f"/feedback/i/{made.short_code}").status_code == 410
    assert type_code(app.test_client(), made.token).status_code in (400, 404)


# --- the limits ---------------------------------------------------------------------------------------


def test_wrong_codes_are_limited_per_address_with_a_kind_page(app, found, staff_factory, clock):
    owner_id, *_ = staff_factory()
    made = invite(found, owner_id, uses=50)
    person = app.test_client()
    per_minute = _per(WRONG_CODE_LIMIT, "minute")
    assert all(type_code(person, wrong_code()).status_code == 404 for _ in range(per_minute))
    paused = type_code(person, made.short_code)  # even the right code waits: the limit is checked first
    page = paused.get_data(as_text=True)
    assert paused.status_code == 429 and "Too many tries" in page and "square code on your paper" in page
    assert 'href="/feedback/leave"' in page and "Traceback" not in page
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert type_code(other, made.short_code).status_code == 303  # another address is not held up
    clock.advance(minutes=1, seconds=1)
    assert type_code(person, made.short_code).status_code == 303


def test_wrong_codes_are_limited_per_day_across_minutes(app, clock):
    person = app.test_client()
    per_minute, per_day = _per(WRONG_CODE_LIMIT, "minute"), _per(WRONG_CODE_LIMIT, "day")
    statuses = []
    for attempt in range(per_day + 1):
        if attempt and attempt % per_minute == 0:
            clock.advance(minutes=1, seconds=1)
        statuses.append(type_code(person, wrong_code()).status_code)
    assert statuses[:per_day] == [404] * per_day and statuses[-1] == 429
    clock.advance(hours=2)
    assert type_code(person, wrong_code()).status_code == 429  # still the same day's window


def test_right_codes_do_not_count_as_wrong_but_every_try_is_capped(app, found, staff_factory):
    owner_id, *_ = staff_factory()
    made = invite(found, owner_id, uses=50)
    office = app.test_client()  # a caseworker's office helping several people from one address
    per_minute = _per(CODE_FORM_LIMIT, "minute")
    assert [type_code(office, made.short_code).status_code for _ in range(per_minute)] == [303] * per_minute
    assert type_code(office, made.short_code).status_code == 429


def test_an_ipv6_host_cannot_multiply_its_tries_by_changing_address(app):
    per_minute = _per(WRONG_CODE_LIMIT, "minute")
    statuses = []
    for n in range(per_minute + 1):
        person = app.test_client()
        person.environ_base["REMOTE_ADDR"] = f"2001:db8:1:2::{n + 1:x}"
        statuses.append(type_code(person, wrong_code()).status_code)
    assert statuses == [404] * per_minute + [429]
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "2001:db8:1:3::1"
    assert type_code(elsewhere, wrong_code()).status_code == 404


# --- never kept in plaintext --------------------------------------------------------------------------


def _every_value(found) -> str:
    with read(found.engine) as connection:
        reflected = MetaData()
        reflected.reflect(connection)
        return "\n".join(repr(tuple(row)) for table in reflected.sorted_tables
                         for row in connection.execute(select(table)))


def test_the_short_code_is_kept_only_as_a_keyed_hash(app, found, config, staff_factory):
    owner_id, *_ = staff_factory()
    made = invite(found, owner_id, uses=5)
    type_code(app.test_client(), made.short_code.lower())  # typed, and used to open the journey
    type_code(app.test_client(), made.short_code.replace("-", ""))
    symbols = made.short_code.replace("-", "")
    stored = _every_value(found)
    for form in (made.short_code, symbols, made.short_code.lower(), symbols.lower()):
        assert form not in stored
    with read(found.engine) as connection:
        row = connection.execute(select(invitations).where(invitations.c.id == made.id)).one()
    assert row.short_code_hash == codes.lookup_hash(found.config.secrets.lookup.value, "invitation-code", symbols)
    assert row.short_code_hash != codes.lookup_hash(found.config.secrets.lookup.value, "invitation", symbols)
    logs = config.instance_dir / "logs"
    for path in (logs.glob("*") if logs.exists() else []):
        text = path.read_text(errors="replace")
        assert symbols not in text and made.short_code not in text
