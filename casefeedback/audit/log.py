"""Appending to and verifying the audit chain.

Each event's MAC covers its own fields, its sequence number and the previous
event's MAC, under the audit chain key. Editing, deleting, inserting or
reordering an event therefore breaks the chain at that point, and nobody
without the key can rebuild it. Truncating the newest events is caught against
the head row and, fully, against signed checkpoints (``checkpoints.py``): a
copy of a checkpoint held elsewhere proves the log was not rewritten or cut
short later, even by someone holding the chain key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, insert, select, update

from casefeedback.audit.actions import Action
from casefeedback.storage.tables import audit_events, audit_head

GENESIS_MAC = "0" * 64
DetailValue = str | int | bool | None
KEY_CHECK_MESSAGE = b"casefeedback audit chain key check v1"

# The columns the MAC covers, in the order it covers them (after seq and at).
_FIELDS = ("actor_id", "actor_role", "action", "object_type", "object_id", "field_class", "purpose", "outcome")
WALK_SQL = ("SELECT seq, at, actor_id, actor_role, action, object_type, object_id, field_class, purpose, "
             "outcome, detail, mac FROM audit_events ORDER BY seq")
_ENCODE = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


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


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    # edited | deleted | truncated | wrong_key | checkpoint (None when ok)
    kind: str | None = None
    last_seq: int = 0
    last_mac: str = GENESIS_MAC


def _canonical(seq: int, at: str, row: Mapping[str, Any] | RowMapping) -> bytes:
    values = [seq, at] + [row[name] for name in _FIELDS] + [row["detail"]]
    return _ENCODE(values).encode()


_READ_HEAD = select(audit_head.c.seq, audit_head.c.mac).where(audit_head.c.id == 1)
_MOVE_HEAD = update(audit_head).where(audit_head.c.id == 1).values(seq=bindparam("seq"), mac=bindparam("mac"))
_FIRST_HEAD = insert(audit_head).values(id=1, seq=bindparam("seq"), mac=bindparam("mac"))


# Where this transaction left the head, kept with the connection: one request
# often appends several events in one transaction (a submission appends three),
# and re-reading the head each time costs a statement. Safe because the head
# row can only change in the transaction that holds the write lock: once this
# transaction has written it, nobody else can until it ends, and a new
# transaction is a new object, so a rolled-back one is never trusted.
_HEAD_CACHE = "casefeedback.audit_head"


def _head_for_append(connection: Connection) -> tuple[int, str, bool]:
    """(seq, mac, whether the head row exists) as this transaction sees it."""
    cached = connection.info.get(_HEAD_CACHE)
    transaction = connection.get_transaction()
    if cached is not None and transaction is not None and cached[0] is transaction and transaction.is_active:
        return cached[1], cached[2], True
    head = connection.execute(_READ_HEAD).first()
    return (head.seq, head.mac, True) if head else (0, GENESIS_MAC, False)


def _remember_head(connection: Connection, seq: int, mac: str) -> None:
    transaction = connection.get_transaction()
    if transaction is not None:
        connection.info[_HEAD_CACHE] = (transaction, seq, mac)


def _mac(key: bytes, previous: str, canonical: bytes) -> str:
    return hmac.digest(key, previous.encode() + canonical, hashlib.sha256).hex()


def event_mac(key: bytes, previous: str, values: Sequence[Any]) -> str:
    """The MAC of one event: ``values`` are (seq, at, actor_id … outcome, detail), as stored."""
    return hmac.digest(key, previous.encode() + _ENCODE(list(values)).encode(), hashlib.sha256).hex()


def key_check(chain_key: bytes) -> str:
    """A value that shows whether a key is the chain key, without revealing the key."""
    return hmac.digest(chain_key, KEY_CHECK_MESSAGE, hashlib.sha256).hex()[:32]


class AuditLog:
    def __init__(self, chain_key: bytes, clock: Callable[[], datetime]) -> None:
        self._key = chain_key
        self._clock = clock

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
        """Append several events in order, chained exactly as one by one, with one head update (bulk erasure)."""
        if not events:
            return []
        at = self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        seq, previous, head_exists = _head_for_append(connection)
        rows: list[dict[str, Any]] = []
        for event in events:
            row: dict[str, Any] = {name: getattr(event, name) for name in _FIELDS}
            row["detail"] = json.dumps(dict(event.detail), ensure_ascii=True, sort_keys=True, separators=(",", ":"))
            seq += 1
            row["at"], row["seq"] = at, seq
            row["mac"] = previous = _mac(self._key, previous, _canonical(seq, at, row))
            rows.append(row)
        connection.execute(audit_events.insert(), rows)
        connection.execute(_MOVE_HEAD if head_exists else _FIRST_HEAD, {"seq": seq, "mac": previous})
        _remember_head(connection, seq, previous)
        return [row["seq"] for row in rows]

    def verify(self, connection: Connection, *, anchors: Mapping[int, str] | None = None) -> VerifyReport:
        """Walk the whole chain, then check its end against the head row.

        ``anchors`` maps sequence numbers to the MAC a signed checkpoint recorded
        for them: the event there must still carry exactly that MAC.
        """
        head = head_of(connection)
        with raw_rows(connection) as rows:
            return walk(self._key, rows, anchors or {}, head=head)


@contextmanager
def raw_rows(connection: Connection) -> Iterator[Iterator[Sequence[Any]]]:
    """Every event as a plain row, in seq order, through the DB-API cursor directly: verifying a
    million events is dominated by per-row overhead. The cursor closes when the block ends."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(WALK_SQL)
        yield _batches(cursor)
    finally:
        cursor.close()


def _batches(cursor: Any) -> Iterator[Sequence[Any]]:
    while batch := cursor.fetchmany(10_000):
        yield from batch


def head_of(connection: Connection) -> tuple[int, str]:
    head = connection.execute(select(audit_head.c.seq, audit_head.c.mac)).first()
    return (head.seq, head.mac) if head else (0, GENESIS_MAC)


def walk(key: bytes, rows: Iterable[Sequence[Any]], anchors: Mapping[int, str], *,
         head: tuple[int, str] | None) -> VerifyReport:
    """Verify rows (seq, at, actor_id … outcome, detail, mac) in seq order; stop at the first break."""
    return walk_from(key, rows, anchors, head=head, start=None)


class KeyedMac:
    """HMAC-SHA256 with the key's pads absorbed once: per event, two hash copies instead of a keyed setup.

    Verifying a million events is a million MACs; setting HMAC up from the key
    each time costs two extra compression rounds and an object apiece.
    """

    def __init__(self, key: bytes) -> None:
        block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
        self.inner_pad = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self.outer_pad = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def __repr__(self) -> str:
        return "KeyedMac()"


def walk_from(key: bytes, rows: Iterable[Sequence[Any]], anchors: Mapping[int, str], *,
              head: tuple[int, str] | None, start: tuple[int, str] | None) -> VerifyReport:
    """Like ``walk``, from just after ``start`` (seq and MAC of an event already verified) when given."""
    expected, previous = (start[0] + 1, start[1]) if start else (1, GENESIS_MAC)
    checked = 0
    keyed = KeyedMac(key)
    # The loop runs a million times for a million events: the MAC is inlined and
    # names are bound locally, which makes it about a third faster than calls.
    inner_pad, outer_pad, encode, same = keyed.inner_pad, keyed.outer_pad, _ENCODE, hmac.compare_digest
    previous_bytes = previous.encode("utf-8", "replace")
    for row in rows:
        seq = row[0]
        if seq != expected:
            return _gap(checked, expected, seq, previous)
        mac = row[11]
        try:
            inner = inner_pad.copy()
            inner.update(previous_bytes)
            inner.update(encode(row[:11]).encode())
            outer = outer_pad.copy()
            outer.update(inner.digest())
            matches = same(outer.hexdigest(), mac)  # TypeError for anything but an ASCII str: a mismatch
        except (TypeError, ValueError):  # whatever an attacker stored is a mismatch, never a crash
            matches = False
        if not matches:
            return _bad_mac(checked, seq)
        anchored = anchors.get(seq)
        if anchored is not None and not hmac.compare_digest(str(anchored).encode(), str(mac).encode()):
            return VerifyReport(False, checked, seq, f"event {seq} is not the event a signed checkpoint recorded "
                                "there: the log was rewritten from that point on", "checkpoint", seq - 1, previous)
        previous, expected, checked = mac, expected + 1, checked + 1
        previous_bytes = mac.encode()
    last = expected - 1
    beyond = [seq for seq in anchors if seq > last]
    if beyond:
        return VerifyReport(False, checked, last + 1,
                            f"the log ends at event {last} but a signed checkpoint covers event {max(beyond)}: "
                            "events were removed from the end", "truncated", last, previous)
    if head is not None and (head[0] != last or not hmac.compare_digest(str(head[1]).encode("utf-8", "replace"),
                                                                         previous.encode("utf-8", "replace"))):
        return VerifyReport(False, checked, last + 1,
                            f"the log ends at event {last} but its head records event {head[0]}: "
                            "events were removed from the end" if head[0] > last else
                            f"the log ends at event {last} but its head records event {head[0]}: "
                            "the head or the newest events were altered", "truncated", last, previous)
    return VerifyReport(True, checked, last_seq=last, last_mac=previous)


def _gap(checked: int, expected: int, found: int, previous: str) -> VerifyReport:
    if found > expected:
        missing = f"event {expected} is" if found == expected + 1 else f"events {expected}–{found - 1} are"
        problem = f"{missing} missing (deleted): found event {found} in its place"
    else:
        problem = f"event {expected} is out of order or duplicated: found event {found} in its place"
    return VerifyReport(False, checked, expected, problem, "deleted", expected - 1, previous)


def _bad_mac(checked: int, seq: int) -> VerifyReport:
    return VerifyReport(False, checked, seq, f"event {seq} does not match its MAC: it was edited, inserted, "
                        "moved, or the audit key is wrong", "edited", seq - 1)
