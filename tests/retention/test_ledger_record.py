"""``ledger.record`` writes the erasure ledger's rows straight through the driver (a purge writes thousands
inside short write transactions): on both engines they must be stored exactly as SQLAlchemy stores them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import cast, insert, select
from sqlalchemy.types import Text

from casefeedback.retention import ledger
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import erased_keys

WHEN = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)
ELSEWHERE = datetime(2026, 12, 3, 11, 30, 0, 250, tzinfo=timezone(timedelta(hours=1)))  # the same as 10:30 UTC


def test_rows_written_through_the_driver_are_stored_as_sqlalchemy_stores_them(found) -> None:
    with write(found.engine) as connection:
        connection.execute(insert(erased_keys), [
            {"data_key_id": "by-sqlalchemy", "submission_id": "s1", "field_class": "rating", "reason": "retention",
             "erased_at": WHEN},
            {"data_key_id": "by-sqlalchemy-2", "submission_id": "s1", "field_class": "text", "reason": "retention",
             "erased_at": ELSEWHERE}])
        ledger.record(connection, [ledger.LedgerEntry("by-driver", "s1", "rating", "retention", WHEN),
                                   ledger.LedgerEntry("by-driver-2", "s1", "text", "retention", ELSEWHERE)],
                      file=False)
    with read(found.engine) as connection:
        rows = {r.data_key_id: r for r in connection.execute(
            select(erased_keys, cast(erased_keys.c.erased_at, Text).label("stored")))}
    assert rows["by-driver"].stored == rows["by-sqlalchemy"].stored  # the very same text or timestamp
    assert rows["by-driver-2"].stored == rows["by-sqlalchemy-2"].stored
    assert rows["by-driver"].erased_at == WHEN and rows["by-driver-2"].erased_at == ELSEWHERE
    assert rows["by-driver"].seq > rows["by-sqlalchemy-2"].seq  # numbered in the order written
    assert (rows["by-driver"].submission_id, rows["by-driver"].field_class, rows["by-driver"].reason) \
        == ("s1", "rating", "retention")
