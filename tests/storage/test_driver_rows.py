"""``driver_rows``: a send's rows converted before its write transaction and inserted by the driver alone.
On both engines they must be stored exactly as SQLAlchemy's own ``insert()`` stores them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import LargeBinary, Text, cast, delete, insert, select

from casefeedback.intake.submissions import ConsentGiven, Sent, record_submissions
from casefeedback.storage.driver_rows import driver_rows, insert_rows
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import answers, consent_receipts, data_keys, erased_keys, submissions
from tests.stores import config_on_each_engine  # noqa: F401 - every test here runs on both engines


@pytest.fixture
def found(config, clock):
    from casefeedback.policy import load_policies
    from casefeedback.services import build_services

    services = build_services(config, load_policies(config.policies_dir), clock)
    yield services
    services.engine.dispose()


# Children after parents: the order they are inserted in (and deleted in, reversed).
TABLES = (submissions, consent_receipts, data_keys, answers)


def _stored(connection, table) -> list[tuple[object, ...]]:
    """Every column of every row as the database holds it (as text; bytes as bytes), in id order."""
    return [tuple(row) for row in connection.execute(
        select(*(column if isinstance(column.type, LargeBinary) else cast(column, Text) for column in table.c))
        .order_by(table.c.id))]


def test_a_send_stores_through_the_driver_exactly_what_sqlalchemy_would(found) -> None:
    policy = found.policies.service("victim-support")
    # A time given in another zone: converted to UTC on the way in, as UTCDateTime does.
    given_at = datetime(2026, 12, 3, 11, 30, 0, 250, tzinfo=timezone(timedelta(hours=1)))
    sent = Sent(str(uuid.uuid4()), {"treated": "4", "anything_else": "fine"},
                ConsentGiven(policy.consent.version, "en", {"store": True}), consent_given_at=given_at,
                submitted_at=datetime.now(UTC), language="en")
    record_submissions(found, policy, [sent])  # through driver_rows
    with read(found.engine) as connection:
        by_driver = {table.name: _stored(connection, table) for table in TABLES}
        values = {table.name: [row._asdict() for row in connection.execute(select(table))] for table in TABLES}
    assert [len(by_driver[t.name]) for t in TABLES] == [1, 1, 2, 2]
    with write(found.engine) as connection:  # the same rows again, through SQLAlchemy's insert()
        for table in reversed(TABLES):
            connection.execute(delete(table))
        for table in TABLES:
            connection.execute(insert(table), values[table.name])
    with read(found.engine) as connection:
        assert {table.name: _stored(connection, table) for table in TABLES} == by_driver
        assert connection.execute(select(consent_receipts.c.given_at)).scalar_one() == given_at


def test_rows_are_converted_when_made_not_in_the_transaction(found) -> None:
    # A naive time is refused by the column's type as the rows are made: nothing reaches a transaction.
    with pytest.raises(ValueError, match="naive"):
        driver_rows(erased_keys, [{"data_key_id": "k", "submission_id": "s", "field_class": "rating",
                                   "reason": "retention", "erased_at": datetime(2026, 12, 3)}],
                    found.engine.dialect)


def test_rows_must_share_their_columns(found) -> None:
    row = {"data_key_id": "k", "submission_id": "s", "field_class": "rating", "reason": "retention",
           "erased_at": datetime.now(UTC)}
    with pytest.raises(ValueError, match="differ in their columns"):
        driver_rows(erased_keys, [row, {**row, "extra": 1}], found.engine.dialect)
    with pytest.raises(KeyError):
        driver_rows(erased_keys, [{**row, "not_a_column": 1}], found.engine.dialect)


def test_no_rows_no_statement(found) -> None:
    empty = driver_rows(answers, [], found.engine.dialect)
    assert len(empty) == 0
    with write(found.engine) as connection:
        insert_rows(connection, empty)  # nothing to run, and nothing run
