"""The two time expressions insight groups and sums by, on both engines, from the same stored values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select

from casefeedback.storage import dialect
from casefeedback.storage.schema.base import UTCDateTime


def test_month_of_and_seconds_between_agree_on_both_engines(new_database: Callable[[], Engine]) -> None:
    engine = new_database()
    metadata = MetaData()
    times = Table("times", metadata, Column("id", Integer, primary_key=True),
                  Column("raised_at", UTCDateTime(), nullable=False), Column("acknowledged_at", UTCDateTime()))
    metadata.create_all(engine)
    rows = [  # the last second of a month, a leap day, and one never acknowledged
        {"id": 1, "raised_at": datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC),
         "acknowledged_at": datetime(2026, 12, 1, 0, 1, 29, 500000, tzinfo=UTC)},
        {"id": 2, "raised_at": datetime(2028, 2, 29, 12, 0, tzinfo=UTC),
         "acknowledged_at": datetime(2028, 3, 1, 12, 0, tzinfo=UTC)},
        {"id": 3, "raised_at": datetime(2027, 1, 1, 0, 0, tzinfo=UTC), "acknowledged_at": None},
    ]
    with engine.begin() as connection:
        connection.execute(insert(times), rows)
        found = connection.execute(select(times.c.id, dialect.month_of(times.c.raised_at),
                                          dialect.seconds_between(times.c.raised_at, times.c.acknowledged_at))
                                   .order_by(times.c.id)).all()
    assert [(i, month) for i, month, _ in found] == [(1, "2026-11"), (2, "2028-02"), (3, "2027-01")]
    assert abs(float(found[0][2]) - 90.5) < 0.01 and abs(float(found[1][2]) - 86400) < 0.01
    assert found[2][2] is None
