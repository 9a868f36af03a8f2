"""The send's erase runs only on the draft exactly as it was read: every compared part, changed alone, stops it.

The statement is written for the driver (``sending._erase_sql``), its values made when the draft is read; each
case here changes one thing between reading and erasing and expects DraftChanged with nothing erased, so a
comparison left out of the statement fails its case.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, insert, select, update

from casefeedback.auth import accounts
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import create_case
from casefeedback.casework.invitations import new_invitation
from casefeedback.intake.sending import DraftChanged, erase_as_read, read_sealed
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import draft_answers, drafts
from tests.helpers import ServiceUser


def _invitation(found, owner_id: str) -> tuple[str, str]:
    """(id, token) of a new invitation on a new case."""
    with write(found.engine) as connection:
        team_id = accounts.ensure_team(connection, "North")
        member = StaffMember(owner_id, "o", "O", "caseworker", team_id)
        case_id = create_case(connection, member=member, service_id="victim-support", reference="R-1",
                              now=found.clock())
        made = new_invitation(connection, found.config.secrets.lookup.value, case_id=case_id, created_by=owner_id,
                              now=found.clock(), uses=2, lifetime=timedelta(days=1))
    return made.id, made.token


def _later(value):
    return value + timedelta(seconds=1)


def _another_answer(row):
    return {**row._asdict(), "id": str(uuid.uuid4())}


# One change each, made in its own transaction between reading the draft and erasing it.
CHANGES = {
    "updated_at": lambda c, d, a, inv: c.execute(update(drafts).values(updated_at=_later(d.updated_at))),
    "expires_at": lambda c, d, a, inv: c.execute(update(drafts).values(expires_at=_later(d.expires_at))),
    "consent_version": lambda c, d, a, inv: c.execute(update(drafts).values(consent_version=d.consent_version + 1)),
    "consent_language": lambda c, d, a, inv: c.execute(update(drafts).values(consent_language="cy")),
    "consent_choices": lambda c, d, a, inv: c.execute(update(drafts).values(consent_choices='{"store": false}')),
    "consent_given_at": lambda c, d, a, inv: c.execute(update(drafts).values(
        consent_given_at=_later(d.consent_given_at))),
    "invitation_id": lambda c, d, a, inv: c.execute(update(drafts).values(
        invitation_id=None if d.invitation_id else inv)),
    "an answer replaced": lambda c, d, a, inv: (
        c.execute(delete(draft_answers).where(draft_answers.c.id == a[0].id)),
        c.execute(insert(draft_answers), [_another_answer(a[0])])),
    "an answer removed": lambda c, d, a, inv: c.execute(delete(draft_answers).where(draft_answers.c.id == a[0].id)),
}


def _draft(found, client, staff_factory, invited: bool) -> str:
    owner_id, *_ = staff_factory()
    invitation_id, token = _invitation(found, owner_id)
    if invited:
        client.get(f"/feedback/i/{token}")
    user = ServiceUser(client)
    user.consent("store")
    user.answer_question("treated", "4")
    user.answer_question("listened", "5")
    with read(found.engine) as connection:
        return str(connection.execute(select(drafts.c.id)).scalar_one()), invitation_id


def _read(found, draft_id: str):
    with read(found.engine) as connection:
        return read_sealed(connection, found.policies.service("victim-support"), draft_id, found.clock())


def _drafts(found) -> int:
    with read(found.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(drafts)).scalar_one())


@pytest.mark.parametrize("invited", [False, True], ids=["general", "invited"])
@pytest.mark.parametrize("change", list(CHANGES))
def test_a_draft_changed_in_any_compared_part_is_not_erased(found, client, staff_factory, change, invited):
    draft_id, invitation_id = _draft(found, client, staff_factory, invited)
    sealed = _read(found, draft_id)
    assert sealed is not None and (sealed.row.invitation_id is not None) == invited
    with write(found.engine) as connection:
        CHANGES[change](connection, sealed.row, sealed.answers, invitation_id)
    with pytest.raises(DraftChanged), write(found.engine) as connection:
        erase_as_read(connection, sealed)
    assert _drafts(found) == 1


@pytest.mark.parametrize("invited", [False, True], ids=["general", "invited"])
def test_a_draft_as_read_is_erased_with_its_answers(found, client, staff_factory, invited):
    draft_id, _ = _draft(found, client, staff_factory, invited)
    sealed = _read(found, draft_id)
    with write(found.engine) as connection:
        erase_as_read(connection, sealed)
    assert _drafts(found) == 0
    with read(found.engine) as connection:
        assert connection.execute(select(func.count()).select_from(draft_answers)).scalar_one() == 0
