"""Copying every row of one store into another, as stored (``casefeedback export-to-postgres``).

Nothing is opened or re-encoded on the way: sealed fields stay the ciphertext they were, the audit log keeps
every byte its MACs and checkpoint signatures cover, and the instance's identity comes along, so the witness
and the erasure ledger kept outside the database describe the copy as they described the original.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, delete, inspect, select, text

from casefeedback.storage import migrate
from casefeedback.storage.dialect import sequences_advanced
from casefeedback.storage.tables import audit_chains, instance_identity, metadata

# Rows the migrations themselves write into a new database (0005: the instance's identity; 0014: the audit
# chains, empty): a target has them before anything is copied, and the source's own replace them.
MADE_BY_MIGRATIONS: tuple[Table, ...] = (instance_identity, audit_chains)
BATCH = 1000  # rows per INSERT: one round trip for many rows, without holding a large table in memory


class TransferRefused(Exception):
    """The target cannot take the copy. The message is one sentence a person can act on."""


def prepare_empty_target(connection: Connection, described: str) -> None:
    """Bring a new, empty target to the current schema within the caller's transaction; refuse any other.

    Refused: a database with tables but no casefeedback schema, one at another schema version, and one
    holding any row the migrations did not make. Copying into a database in use would mix two instances.
    """
    head = migrate.head_revision()
    at = migrate.revision_of(connection)
    if at is None:
        if tables := sorted(inspect(connection).get_table_names()):
            raise TransferRefused(f"{described} already has tables ({_some(tables)}) that casefeedback did not "
                                  "make: export into a new, empty database.")
        migrate.upgrade_within(connection)
    elif at != head:
        raise TransferRefused(f"{described} is at casefeedback schema {at}, not {head}: export into a new, empty "
                              "database.")
    holding = [table.name for table in metadata.sorted_tables
               if table not in MADE_BY_MIGRATIONS and connection.execute(select(text("1")).select_from(table)
                                                                         .limit(1)).first() is not None]
    if connection.execute(select(audit_chains.c.chain).where(audit_chains.c.seq > 0).limit(1)).first():
        holding.append(audit_chains.name)
    if holding:
        raise TransferRefused(f"{described} already holds data (in {_some(holding)}): casefeedback exports only "
                              "into an empty database, so that nothing is mixed or overwritten; create a new one "
                              "(e.g. `createdb`) and export to that.")
    for table in MADE_BY_MIGRATIONS:
        connection.execute(delete(table))


def copy_tables(source: Connection, target: Connection) -> dict[str, int]:
    """Every row of every table, parents before children (foreign keys); rows copied per table, in that order.

    Then the target's sequences are set past what was copied, so its next event number or id is a new one.
    Both connections are the callers', each in its own transaction: one snapshot read, one write.
    """
    copied: dict[str, int] = {}
    for table in metadata.sorted_tables:
        copied[table.name] = _copy(source, target, table)
    for statement in sequences_advanced(target.dialect.name, metadata.sorted_tables):
        target.execute(text(statement))
    return copied


def _copy(source: Connection, target: Connection, table: Table) -> int:
    count = 0
    result = source.execution_options(yield_per=BATCH).execute(select(table))
    for rows in result.partitions():
        # Through the column types both ways: bytes stay bytes, times stay the same UTC instant, text the same text.
        target.execute(table.insert(), [dict(row._mapping) for row in rows])
        count += len(rows)
    return count


def _some(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
