"""Withdrawing consent erases at once by destroying keys, says so plainly, is audited, and is idempotent."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, inspect, select, update

from casefeedback.policy.decisions import Actor
from casefeedback.reading import NotFound, read_submission
from casefeedback.receipts.service import Withdrawn, own_record
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import (
    answers,
    audit_events,
    consent_receipts,
    data_keys,
    metadata,
    submission_additions,
    submissions,
)
from tests.conftest import canary, csrf_token
from tests.receipts.receipt_holder import BASE, ReceiptHolder, give, invited_case
from tests.stores import checkpoint
from tests.test_invariants import assert_nowhere


def sealed_material(found, ids: list[str]) -> list[bytes]:
    with read(found.engine) as connection:
        blobs = list(connection.execute(select(answers.c.ciphertext).where(answers.c.submission_id.in_(ids)))
                     .scalars())
        blobs += list(connection.execute(select(data_keys.c.wrapped).where(data_keys.c.submission_id.in_(ids)))
                      .scalars())
    return blobs


def every_stored_value(found) -> list[object]:
    """Every value in every table, as the database key holder (a DBA) would see it."""
    values: list[object] = []
    with read(found.engine) as connection:
        present = set(inspect(connection).get_table_names())
        for table in metadata.sorted_tables:
            if table.name in present:
                for row in connection.execute(select(table)):
                    values.extend(row)
    return values


def test_withdrawing_erases_everything_at_once_and_leaves_no_trace(client, found, config, staff_factory):
    owner_id, *_ = staff_factory()
    _, token = invited_case(found, owner_id)
    client.get(f"/feedback/i/{token}")
    first, second, added = canary(), canary(), canary()
    code, root_id = give(client, {"treated": "2", "anything_else": first, "safer": second})
    person = ReceiptHolder(client)
    person.check(code)
    person.add({"anything_else": added})
    with read(found.engine) as connection:
        addition_id = connection.execute(select(submission_additions.c.submission_id)).scalar_one()
    material = sealed_material(found, [root_id, addition_id])
    assert len(material) == 8  # 3 answers and 3 data keys (one per class), then 1 answer and 1 key

    response = person.withdraw()
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "taken back and erased" in page and "including what you added" in page
    assert first not in page and added not in page

    with read(found.engine) as connection:
        statuses = dict(connection.execute(select(submissions.c.id, submissions.c.status)).all())
        withdrawn_at = list(connection.execute(select(consent_receipts.c.withdrawn_at)).scalars())
        remaining = [connection.execute(select(func.count()).select_from(t)
                                        .where(t.c.submission_id.in_([root_id, addition_id]))).scalar_one()
                     for t in (answers, data_keys)]
        events = connection.execute(select(audit_events).where(
            audit_events.c.action.in_(["consent.withdraw", "erasure"]))).all()
    assert statuses == {root_id: "withdrawn", addition_id: "withdrawn"}
    assert withdrawn_at == [found.clock(), found.clock()]
    assert remaining == [0, 0]
    assert [(e.action, e.object_id, e.actor_role) for e in events] == [
        ("erasure", root_id, "receipt_holder"), ("erasure", addition_id, "receipt_holder"),
        ("consent.withdraw", root_id, "receipt_holder")]
    assert json.loads(events[-1].detail) == {"additions": 1, "fields": 4}
    assert all(first not in e.detail and added not in e.detail for e in events)

    # Nothing of it anywhere: not in the file, the WAL or the logs; not even, to
    # someone holding the database key, the ciphertext or the wrapped keys.
    assert_nowhere(config, [first, second, added])
    checkpoint(found.engine)
    assert_nowhere(config, [first, second, added])
    stored = every_stored_value(found)
    assert not any(blob in stored for blob in material)
    assert not any(isinstance(v, str) and (first in v or added in v) for v in stored)


def test_after_withdrawal_the_fields_cannot_be_opened_by_anyone(app, client, found, staff_factory, auth):
    owner_id, username, password = staff_factory()
    _, token = invited_case(found, owner_id)
    client.get(f"/feedback/i/{token}")
    secret = canary()
    code, root_id = give(client, {"anything_else": secret})
    person = ReceiptHolder(client)
    person.check(code)
    person.withdraw()
    with pytest.raises(Withdrawn):
        own_record(found, root_id)
    with pytest.raises(NotFound):
        read_submission(found, Actor(owner_id, "caseworker"), root_id, "casework")
    auth.sign_in(username, password)
    assert client.get(f"/casework/submissions/{root_id}").status_code == 404
    # Even someone who edits the status back finds nothing to open: the keys are gone.
    with write(found.engine) as connection:
        connection.execute(update(submissions).where(submissions.c.id == root_id).values(status="active"))
    view = read_submission(found, Actor("receipt-holder", "receipt_holder"), root_id, "own_record",
                           receipt_submission_id=root_id)
    assert view.fields == []


def test_withdrawing_twice_is_harmless_and_says_so_plainly(client, found):
    code, _root_id = give(client, {"treated": "1"})
    person = ReceiptHolder(client)
    person.check(code)
    page = client.get(f"{BASE}/yours/withdraw").get_data(as_text=True)
    first = client.post(f"{BASE}/yours/withdraw", data={"csrf_token": csrf_token(page)})
    again = client.post(f"{BASE}/yours/withdraw", data={"csrf_token": csrf_token(page)})
    assert first.status_code == again.status_code == 200
    assert "already been taken back" in again.get_data(as_text=True)
    with read(found.engine) as connection:
        withdrawals = connection.execute(select(func.count()).select_from(audit_events)
                                         .where(audit_events.c.action == "consent.withdraw")).scalar_one()
    assert withdrawals == 1


def test_withdrawing_without_a_csrf_token_erases_nothing(client, found):
    code, _root_id = give(client, {"treated": "1", "anything_else": "still here"})
    person = ReceiptHolder(client)
    person.check(code)
    response = client.post(f"{BASE}/yours/withdraw", data={})
    assert response.status_code == 400 and "Nothing has been changed" in response.get_data(as_text=True)
    assert "still here" in person.overview().get_data(as_text=True)
    with read(found.engine) as connection:
        assert connection.execute(select(submissions.c.status)).scalar_one() == "active"


def test_withdrawing_after_the_device_forgot_the_code_asks_for_it_and_erases_nothing(client, found, clock):
    code, _ = give(client, {"treated": "1"})
    person = ReceiptHolder(client)
    person.check(code)
    page = client.get(f"{BASE}/yours/withdraw").get_data(as_text=True)
    clock.advance(minutes=20)
    response = client.post(f"{BASE}/yours/withdraw", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 403 and "Nothing has been withdrawn" in response.get_data(as_text=True)
    with read(found.engine) as connection:
        assert connection.execute(select(submissions.c.status)).scalar_one() == "active"


def test_the_code_of_withdrawn_feedback_says_so_and_shows_nothing(app, client, found):
    secret = canary()
    code, _ = give(client, {"anything_else": secret})
    person = ReceiptHolder(client)
    person.check(code)
    person.withdraw()
    later = ReceiptHolder(app.test_client())
    response = later.check(code)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "was taken back" in page and "everything in it was erased" in page and secret not in page
    assert later.overview().status_code == 403  # nothing was remembered: there is nothing to show
    for path in ("yours", "yours/download", "yours/add"):
        shown = client.get(f"{BASE}/{path}")  # the device that withdrew
        assert "taken back" in shown.get_data(as_text=True) and secret not in shown.get_data(as_text=True)
        assert shown.mimetype == "text/html"
