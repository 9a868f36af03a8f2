"""Appending to the audit log: each write transaction to one chain, no writer waiting on another's head.

Each event's MAC covers its chain, its position there, its number in the whole
log, its own fields and the previous MAC in its chain, under the audit chain
key (``walk.py`` says how they are verified). Truncating the newest events of a
chain is caught against its head row and, fully, against signed checkpoints of
every chain's head (``checkpoints.py``) and their witness (``witness.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from casefeedback.audit.actions import Action
from casefeedback.audit.walk import (
    GENESIS_MAC,
    VerifyReport,
    heads_of,
    walk_connection,
)
from casefeedback.storage.dialect import audit_lane_sql, audit_lane_wait_sql, audit_numbers_sql, execute_plain
from casefeedback.storage.tables import audit_chains, audit_events

DetailValue = str | int | bool | None
KEY_CHECK_MESSAGE = b"casefeedback audit chain key check v1"

# The columns the MAC covers, in the order it covers them (after chain, chain_seq, seq and at).
_FIELDS = ("actor_id", "actor_role", "action", "object_type", "object_id", "field_class", "purpose", "outcome")
_ENCODE = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
# Every write transaction appends (a send, inside the write lock every other writer waits on), so the
# append's three statements go to the driver as written here: plain integers and text, which need none of
# SQLAlchemy's compiling and type processing (measured: about half the append's time was that).
_COLUMNS = ("chain", "chain_seq", "seq", "at", *_FIELDS, "detail", "mac")
_INSERT = (f"INSERT INTO {audit_events.name} ({', '.join(_COLUMNS)}) "  # noqa: S608 — constant names
           f"VALUES ({', '.join('?' * len(_COLUMNS))})")
_MOVE_HEAD = f"UPDATE {audit_chains.name} SET seq = ?, mac = ? WHERE chain = ?"  # noqa: S608 — constant names


class AuditUnavailable(Exception):
    """No chain to append to (the database predates migration 0014, or its chains were removed)."""


@dataclass(frozen=True)
class AuditEvent:
    action: Action
    outcome: str
    actor_id: str | None = None
    actor_role: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    field_class: str | None = None
    purpose: str | None = None
    # Counts, reasons, ids — never content. Values are JSON-escaped, so a value a
    # person typed cannot forge a field or a line of its own.
    detail: Mapping[str, DetailValue] = field(default_factory=dict)


@dataclass
class _Lane:
    """The chain this transaction appends to, as it left it."""

    transaction: Any
    writer: int
    chain: int
    position: int
    mac: str
    last_seq: int | None  # the newest event number (SQLite: counted on under the write lock)


# Kept with the connection: one request often appends several events in one
# transaction (a submission appends three), and re-reading the head each time
# costs a statement. Safe because a chain's head changes only in the transaction
# holding it (the write lock on SQLite, the row lock on PostgreSQL); a new
# transaction is a new object, so a rolled-back one is never trusted.
_LANE_CACHE = "casefeedback.audit_lane"


def _lane_for_append(connection: Connection, writer: int) -> _Lane:
    cached: _Lane | None = connection.info.get(_LANE_CACHE)
    transaction = connection.get_transaction()
    if (cached is not None and transaction is not None and cached.transaction is transaction
            and transaction.is_active and cached.writer == writer):
        return cached
    dialect = connection.dialect.name
    row = execute_plain(connection, audit_lane_sql(dialect), (writer,)).first()
    wait = audit_lane_wait_sql(dialect)
    if row is None and wait is not None:  # every chain busy: queue on this writer's own
        row = execute_plain(connection, wait, (writer,)).first()
    if row is None:
        raise AuditUnavailable("the audit log has no chain to append to: run `casefeedback migrate` (and "
                               "`casefeedback audit verify` if it has been)")
    lane = _Lane(transaction, writer, int(row[0]), int(row[1]), str(row[2]), None if row[3] is None else int(row[3]))
    connection.info[_LANE_CACHE] = lane
    return lane


def _numbers(connection: Connection, lane: _Lane, count: int) -> list[int]:
    sql = audit_numbers_sql(connection.dialect.name)
    if sql is not None:
        return [int(n) for n in connection.execute(text(sql), {"n": count}).scalars()]
    first = (lane.last_seq or 0) + 1
    return list(range(first, first + count))


def _plain(value: object) -> object:
    return str(value) if isinstance(value, str) else value


def key_check(chain_key: bytes) -> str:
    """A value that shows whether a key is the chain key, without revealing the key."""
    return hmac.digest(chain_key, KEY_CHECK_MESSAGE, hashlib.sha256).hex()[:32]


class AuditLog:
    def __init__(self, chain_key: bytes, clock: Callable[[], datetime], *, writer: int | None = None) -> None:
        self._key = chain_key
        self._clock = clock
        # Which chain this writer prefers (chains are shared out by it, modulo their number); the process id
        # unless given, so each gunicorn worker keeps to its own chain across requests.
        self._writer = writer

    def __repr__(self) -> str:
        return "AuditLog()"

    def now(self) -> datetime:
        return self._clock()

    def key_check(self) -> str:
        return key_check(self._key)

    def append(self, connection: Connection, event: AuditEvent) -> int:
        """Append within the caller's write transaction: the event commits with the action, or neither does."""
        return self.append_many(connection, [event])[0]

    def append_many(self, connection: Connection, events: Sequence[AuditEvent]) -> list[int]:
        """Append several events in order to this transaction's chain, with one head update; their numbers."""
        if not events:
            return []
        at = self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lane = _lane_for_append(connection, os.getpid() if self._writer is None else self._writer)
        numbers = _numbers(connection, lane, len(events))
        chain, position, previous = lane.chain, lane.position, lane.mac
        rows: list[tuple[Any, ...]] = []
        for event, seq in zip(events, numbers, strict=True):
            position += 1
            detail = json.dumps(dict(event.detail), ensure_ascii=True, sort_keys=True, separators=(",", ":"))
            # Plain str, not the Action enumeration: what is stored is exactly what the MAC covers.
            values = [chain, position, seq, at, *(_plain(getattr(event, name)) for name in _FIELDS), detail]
            previous = hmac.digest(self._key, previous.encode() + _ENCODE(values).encode(), hashlib.sha256).hex()
            rows.append((*values, previous))
        execute_plain(connection, _INSERT, rows)
        execute_plain(connection, _MOVE_HEAD, (position, previous, chain))
        lane.position, lane.mac, lane.last_seq = position, previous, numbers[-1]
        return numbers

    def verify(self, connection: Connection, *, anchors: Mapping[int, Mapping[int, str]] | None = None
               ) -> VerifyReport:
        """Walk every chain, then check each one's end against its head row.

        ``anchors`` maps chain → position → the MAC a signed checkpoint recorded
        there: the event must still carry exactly that MAC.
        """
        return walk_connection(connection, self._key, heads_of(connection), anchors or {})


__all__ = ["GENESIS_MAC", "AuditEvent", "AuditLog", "AuditUnavailable", "VerifyReport", "key_check"]
