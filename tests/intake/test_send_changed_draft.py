"""A draft that changes between reading it and storing it: sent as it is now, or not at all; never half.

The send opens and seals the draft before its write transaction; another tab
can save an answer, or send the same draft, in between. These tests make that
happen at exactly that moment, through the service's own step that opens the
draft (``open_values``), and check what is stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from casefeedback.intake import drafts as drafts_service
from casefeedback.intake import submissions as submissions_service
from casefeedback.storage.engine import read
from casefeedback.storage.tables import (
    answers,
    audit_events,
    consent_receipts,
    data_keys,
    draft_answers,
    drafts,
    submissions,
)
from tests.helpers import ServiceUser, location

BASE = "/feedback/victim-support"
STORED = (submissions, consent_receipts, data_keys, answers)


def count(found: Any, table: Any) -> int:
    with read(found.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def actions(found: Any) -> list[str]:
    with read(found.engine) as connection:
        return list(connection.execute(select(audit_events.c.action).order_by(audit_events.c.seq)).scalars())


def chain_ok(found: Any) -> bool:
    with read(found.engine) as connection:
        return found.audit.verify(connection).ok


@pytest.fixture
def meanwhile(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Run ``change`` right after the send has opened the draft (before it writes), the first ``times`` times."""

    def install(change: Callable[[], None], times: int = 1) -> None:
        real = submissions_service.open_values
        calls = {"n": 0}

        def opening(*args: Any, **kwargs: Any) -> Any:
            opened = real(*args, **kwargs)
            calls["n"] += 1
            if calls["n"] <= times:
                change()
            return opened

        monkeypatch.setattr(submissions_service, "open_values", opening)

    return install


def _draft_id(found: Any) -> str:
    with read(found.engine) as connection:
        return str(connection.execute(select(drafts.c.id)).scalar_one())


def started(client: Any, given: dict[str, str]) -> tuple[ServiceUser, str]:
    """A person who consented and answered ``given``, on "Check your answers"; and that page."""
    user = ServiceUser(client)
    user.consent("store")
    for question_id, value in given.items():
        user.answer_question(question_id, value)
    return user, user.page(f"{BASE}/check")


def send(user: ServiceUser, page: str) -> Any:
    return user.post(f"{BASE}/send", {}, page)


def test_an_answer_saved_in_another_tab_while_sending_is_sent_with_the_rest(client, found, meanwhile):
    user, page = started(client, {"treated": "4"})
    draft_id, policy = _draft_id(found), found.policies.service("victim-support")
    meanwhile(lambda: drafts_service.save_answers(found, policy, draft_id, {"chased": "yes"}))
    opens_before = actions(found).count("draft.open")

    response = send(user, page)

    assert response.status_code == 200 and "receipt-code" in response.get_data(as_text=True)
    # Both answers, not the one read first: had the write not checked the draft, "chased" would be lost.
    with read(found.engine) as connection:
        stored = set(connection.execute(select(answers.c.question_id)).scalars())
    assert stored == {"treated", "chased"}
    assert (count(found, drafts), count(found, draft_answers), count(found, submissions)) == (0, 0, 1)
    events = actions(found)
    assert events.count("draft.open") - opens_before == 2  # both opens are on record
    assert events.count("submission.receive") == 1 and events.count("draft.erase") == 1
    with read(found.engine) as connection:
        received = connection.execute(select(audit_events.c.detail)
                                      .where(audit_events.c.action == "submission.receive")).scalar_one()
    assert json.loads(received)["answered"] == 2
    assert chain_ok(found)


def test_sent_from_another_tab_while_sending_is_already_sent_and_stored_once(client, found, meanwhile):
    user, page = started(client, {"treated": "4", "chased": "no"})
    draft_id, policy = _draft_id(found), found.policies.service("victim-support")
    meanwhile(lambda: submissions_service.record_submission(found, policy, draft_id=draft_id, language="en"))
    opens_before = actions(found).count("draft.open")

    response = send(user, page)

    assert response.status_code == 409 and "already been sent" in response.get_data(as_text=True)
    assert [count(found, table) for table in STORED] == [1, 1, 2, 2]  # one submission: 2 answers, 2 classes
    assert (count(found, drafts), count(found, draft_answers)) == (0, 0)
    events = actions(found)
    assert events.count("submission.receive") == 1 and events.count("draft.erase") == 1
    # This tab opened the draft too (before finding it sent): that open is audited all the same.
    assert events.count("draft.open") - opens_before == 2
    assert chain_ok(found)


def test_a_draft_that_keeps_changing_is_not_sent_and_the_person_sees_it_again(client, found, meanwhile):
    user, page = started(client, {"treated": "4"})
    draft_id, policy = _draft_id(found), found.policies.service("victim-support")
    values = iter(["1", "2"])
    meanwhile(lambda: drafts_service.save_answers(found, policy, draft_id, {"treated": next(values)}), times=2)
    events_before = actions(found)

    response = send(user, page)

    assert response.status_code == 303 and location(response) == f"{BASE}/check"
    assert [count(found, table) for table in STORED] == [0, 0, 0, 0]  # nothing half-written
    assert (count(found, drafts), count(found, draft_answers)) == (1, 1)  # the draft is kept, as changed
    new = actions(found)[len(events_before):]
    assert new.count("draft.open") == 2 and "submission.receive" not in new and "draft.erase" not in new
    assert chain_ok(found)
    # And it sends as it is now.
    again = user.send()
    assert again.status_code == 200 and count(found, submissions) == 1 and count(found, drafts) == 0
