"""Appending to and verifying the audit chain.

Each event's MAC covers its own fields, its sequence number and the previous
event's MAC, under the audit chain key. Editing, deleting, inserting or
reordering an event therefore breaks the chain at that point, and nobody
without the key can rebuild it. (Truncating the newest events is caught
against the head row, and — fully — against signed checkpoints.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, insert, select, update

from casefeedback.storage.tables import audit_events, audit_head

GENESIS_MAC = "0" * 64
DetailValue = str | int | bool | None


@dataclass(frozen=True)
class AuditEvent:
    action: str
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


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None


def _canonical(seq: int, at: str, row: Mapping[str, Any] | RowMapping) -> bytes:
    values = [seq, at] + [row[name] for name in _FIELDS] + [row["detail"]]
    return json.dumps(values, ensure_ascii=True, separators=(",", ":")).encode()


_FIELDS = ("actor_id", "actor_role", "action", "object_type", "object_id", "field_class", "purpose", "outcome")


_READ_HEAD = select(audit_head.c.seq, audit_head.c.mac).where(audit_head.c.id == 1)
_MOVE_HEAD = update(audit_head).where(audit_head.c.id == 1).values(seq=bindparam("seq"), mac=bindparam("mac"))
_FIRST_HEAD = insert(audit_head).values(id=1, seq=bindparam("seq"), mac=bindparam("mac"))


def _mac(key: bytes, previous: str, canonical: bytes) -> str:
    return hmac.new(key, previous.encode() + canonical, hashlib.sha256).hexdigest()


class AuditLog:
    def __init__(self, chain_key: bytes, clock: Callable[[], datetime]) -> None:
        self._key = chain_key
        self._clock = clock

    def __repr__(self) -> str:
        return "AuditLog()"

    def append(self, connection: Connection, event: AuditEvent) -> int:
        """Append within the caller's write transaction: the event commits with the action, or neither does."""
        row: dict[str, Any] = {name: getattr(event, name) for name in _FIELDS}
        row["detail"] = json.dumps(dict(event.detail), ensure_ascii=True, sort_keys=True, separators=(",", ":"))
        row["at"] = self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        head = connection.execute(_READ_HEAD).first()
        seq, previous = (head.seq + 1, head.mac) if head else (1, GENESIS_MAC)
        row["seq"] = seq
        row["mac"] = _mac(self._key, previous, _canonical(seq, row["at"], row))
        connection.execute(audit_events.insert(), row)
        connection.execute(_MOVE_HEAD if head else _FIRST_HEAD, {"seq": seq, "mac": row["mac"]})
        return seq

    def verify(self, connection: Connection) -> VerifyReport:
        expected_seq, previous, checked = 1, GENESIS_MAC, 0
        for row in self._rows(connection):
            if row["seq"] != expected_seq:
                kind = "missing (deleted)" if row["seq"] > expected_seq else "out of order or duplicated"
                return VerifyReport(False, checked, expected_seq,
                                    f"event {expected_seq} is {kind}: found event {row['seq']} in its place")
            if not hmac.compare_digest(_mac(self._key, previous, _canonical(row["seq"], row["at"], row)),
                                       row["mac"]):
                return VerifyReport(False, checked, row["seq"],
                                    f"event {row['seq']} does not match its MAC: it was edited, inserted, "
                                    "moved, or the audit key is wrong")
            previous, expected_seq, checked = row["mac"], expected_seq + 1, checked + 1
        return self._check_head(connection, checked, previous)

    @staticmethod
    def _rows(connection: Connection) -> Iterator[RowMapping]:
        result = connection.execution_options(yield_per=5000).execute(
            select(audit_events).order_by(audit_events.c.seq))
        for row in result:
            yield row._mapping

    @staticmethod
    def _check_head(connection: Connection, checked: int, last_mac: str) -> VerifyReport:
        head = connection.execute(select(audit_head.c.seq, audit_head.c.mac)).first()
        head_seq, head_mac = (head.seq, head.mac) if head else (0, GENESIS_MAC)
        if head_seq != checked or not hmac.compare_digest(head_mac, last_mac):
            return VerifyReport(False, checked, checked + 1,
                                f"the log ends at event {checked} but its head records event {head_seq}: "
                                "events were removed from the end")
        return VerifyReport(True, checked)
