"""Migration 0021 rebuilds the erasure ledger's table in the order keys were erased, with no index on the key id:
up, down and up again on a real encrypted file and a real PostgreSQL database, every entry kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, MetaData, inspect, select, text

from casefeedback.retention import ledger
from casefeedback.storage import migrate
from casefeedback.storage.engine import write
from casefeedback.storage.tables import erased_keys

# Written out of erasure order on purpose: the rebuild puts them in it.
ENTRIES = [("dk-b", "sub-2", "free_text", "retention", datetime(2026, 3, 1, 9, 0)),
           ("dk-a", "sub-1", "rating", "consent_withdrawn", datetime(2026, 1, 5, 12, 30)),
           ("dk-c", "sub-2", "rating", "retention", datetime(2026, 3, 1, 9, 0))]


def _table(engine: Engine):  # type: ignore[no-untyped-def]
    reflected = MetaData()
    with engine.connect() as connection:
        reflected.reflect(connection, only=["erased_keys"])
    return reflected.tables["erased_keys"]


def _rows(engine: Engine) -> list[tuple[object, ...]]:
    table = _table(engine)
    with engine.connect() as connection:
        rows = connection.execute(select(table.c.data_key_id, table.c.submission_id, table.c.field_class,
                                         table.c.reason, table.c.erased_at)).all()
    return [(r[0], r[1], r[2], r[3], r[4].replace(tzinfo=None)) for r in rows]


def _shape(engine: Engine) -> tuple[list[str], list[object]]:
    with engine.connect() as connection:
        inspector = inspect(connection)
        return (inspector.get_pk_constraint("erased_keys")["constrained_columns"],
                inspector.get_indexes("erased_keys"))


def test_0021_up_down_up_keeps_every_entry_in_the_order_erased(new_database: Callable[[], Engine]) -> None:
    engine = new_database()
    migrate.upgrade(engine, "0020")
    before = _table(engine)
    with write(engine) as connection:
        connection.execute(before.insert(), [dict(zip(("data_key_id", "submission_id", "field_class", "reason",
                                                       "erased_at"), entry, strict=True)) for entry in ENTRIES])
    assert _shape(engine) == (["data_key_id"], [])

    migrate.upgrade(engine, "0021")
    assert _shape(engine) == (["seq"], [])  # numbered as written; nothing indexed by the random key id
    table = _table(engine)
    with engine.connect() as connection:
        in_order = connection.execute(select(table.c.data_key_id).order_by(table.c.seq)).scalars().all()
    assert in_order == ["dk-a", "dk-b", "dk-c"]  # by erasure time, then key id
    assert sorted(_rows(engine)) == sorted(ENTRIES)

    # The next erasure is numbered after them, on both engines (the serial starts past the copied rows).
    with write(engine) as connection:
        ledger.record(connection, [ledger.LedgerEntry("dk-d", "sub-3", "rating", "retention",
                                                      datetime(2026, 4, 1, 8, 0, tzinfo=UTC))], file=False)
    with engine.connect() as connection:
        newest = connection.execute(select(erased_keys.c.data_key_id).order_by(erased_keys.c.seq.desc())
                                    .limit(1)).scalar_one()
        assert newest == "dk-d"
        assert [e.data_key_id for e in ledger.read_table(connection)].count("dk-d") == 1

    # Down: the key id is the primary key again, one row per key, nothing lost.
    migrate.downgrade(engine, "0020")
    assert _shape(engine) == (["data_key_id"], [])
    assert sorted(_rows(engine)) == sorted([*ENTRIES, ("dk-d", "sub-3", "rating", "retention",
                                                       datetime(2026, 4, 1, 8, 0))])
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert len(_rows(engine)) == 4
    if engine.dialect.name == "sqlite":  # ``seq`` is the rowid itself: no separate index to write
        with engine.connect() as connection:
            plan = " ".join(str(row[-1]) for row in connection.execute(
                text("EXPLAIN QUERY PLAN SELECT data_key_id FROM erased_keys WHERE seq = 1")))
        assert "INTEGER PRIMARY KEY" in plan
