"""Walking the audit chains: every event against its predecessor in its own chain, every chain against its head.

The log is a bounded set of chains (``audit_chains``): each writer appends to
one, so no writer waits on another's head. Each event's MAC covers its chain,
its position in that chain, its place in the whole log (``seq``), its fields,
and the MAC of the event before it in the same chain. So an event edited,
deleted, inserted, reordered, or moved into another chain breaks its chain
there, and nobody without the chain key can mend it.

Chain 0 is the log as it was before chains (migration 0014): its events keep
the MACs they were written with — over ``seq`` and the fields, from a genesis
of zeros — so an existing log verifies without a byte rewritten. It takes no
new events. Chains 1… start from a public, per-chain genesis; the chain number
inside each MAC is what keeps one chain's events out of another.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, text

from casefeedback.storage import dialect

GENESIS_MAC = "0" * 64  # chain 0: the log from before chains
LEGACY_CHAIN = 0
_ENCODE = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
_COLUMNS = ("chain, chain_seq, seq, at, actor_id, actor_role, action, object_type, object_id, field_class, "
            "purpose, outcome, detail, mac")
WALK_SQL = f"SELECT {_COLUMNS} FROM audit_events ORDER BY chain, chain_seq"  # noqa: S608 — constant columns
RANGE_SQL = (f"SELECT {_COLUMNS} FROM audit_events WHERE chain = ? AND chain_seq BETWEEN ? AND ? "  # noqa: S608
             "ORDER BY chain_seq")
AFTER_SQL = f"SELECT {_COLUMNS} FROM audit_events WHERE chain = ? AND chain_seq > ? ORDER BY chain_seq"  # noqa: S608
HEADS_SQL = "SELECT chain, seq, mac FROM audit_chains ORDER BY chain"
LAST_SEQ_SQL = "SELECT coalesce(max(seq), 0) FROM audit_events"

Heads = dict[int, tuple[int, str]]  # chain -> (position of its newest event, that event's MAC)
Anchors = Mapping[int, Mapping[int, str]]  # chain -> position -> MAC a signed checkpoint recorded there


def genesis(chain: int) -> str:
    """What the first event of ``chain`` chains from. Public on purpose: the chain number inside every MAC
    (under the secret key) is what binds an event to its chain, not a secret start."""
    if chain == LEGACY_CHAIN:
        return GENESIS_MAC
    return hashlib.sha256(b"casefeedback audit chain genesis v2:" + str(chain).encode()).hexdigest()


def heads_digest(heads: Mapping[int, tuple[int, str]]) -> str:
    """One value standing for every chain's head (a checkpoint's and a backup manifest's ``mac``)."""
    ordered = [[chain, position, mac] for chain, (position, mac) in sorted(heads.items())]
    return hashlib.sha256(b"casefeedback audit heads v2\n" + _ENCODE(ordered).encode()).hexdigest()


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    checked: int
    first_bad_seq: int | None = None  # the log's number of the first bad event, when there is one
    problem: str | None = None
    # edited | deleted | truncated | wrong_key | checkpoint (None when ok)
    kind: str | None = None
    last_seq: int = 0  # the newest event verified (the log's number)
    last_mac: str = GENESIS_MAC  # the digest of every chain's verified head
    chain: int | None = None  # the chain where the break is
    position: int | None = None  # its position in that chain


@dataclass(frozen=True)
class Link:
    """Where a walk of one chain stands: its newest verified event (position, MAC, and the log's number)."""

    position: int
    mac: str
    seq: int = 0


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


def event_mac(key: bytes, previous: str, values: Sequence[Any]) -> str:
    """The MAC of one event: ``values`` as the chain covers them (chain 0: seq … detail; others: chain,
    chain_seq, seq … detail), as stored."""
    return hmac.digest(key, previous.encode() + _ENCODE(list(values)).encode(), hashlib.sha256).hex()


@contextmanager
def raw_rows(connection: Connection, sql: str = WALK_SQL, parameters: Sequence[Any] = ()) -> Iterator[
        Iterator[Sequence[Any]]]:
    """Events as plain rows through the DB-API cursor directly: verifying a million events is dominated by
    per-row overhead. The cursor closes when the block ends."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, tuple(parameters))
        yield batches(cursor)
    finally:
        cursor.close()


def batches(cursor: Any) -> Iterator[Sequence[Any]]:
    while batch := cursor.fetchmany(10_000):
        yield from batch


def heads_of(connection: Connection) -> Heads:
    return {int(r[0]): (int(r[1]), str(r[2])) for r in connection.execute(text(HEADS_SQL))}


def last_seq_of(connection: Connection) -> int:
    return int(connection.execute(text(LAST_SEQ_SQL)).scalar_one())


def walk_log(key: bytes, rows: Iterable[Sequence[Any]], heads: Heads | None, anchors: Anchors) -> VerifyReport:
    """Verify rows (chain, chain_seq, seq, at, actor_id … detail, mac) ordered by chain and position, then
    every chain's end against its head and the signed checkpoints. Stops at the first break."""
    keyed = KeyedMac(key)
    ends: dict[int, Link] = {}
    checked = 0
    for chain, group in groupby(rows, key=itemgetter(0)):
        broken, end, done = walk_chain(keyed, chain, group, anchors.get(chain, {}) if isinstance(chain, int) else {},
                                       None)
        checked += done
        if broken is not None:
            return _counted(broken, checked)
        ends[chain] = end
    return finish(ends, heads, anchors, checked)


def _counted(report: VerifyReport, checked: int) -> VerifyReport:
    return VerifyReport(report.ok, checked, report.first_bad_seq, report.problem, report.kind, report.last_seq,
                        report.last_mac, report.chain, report.position)


def walk_chain(keyed: KeyedMac, chain: Any, rows: Iterable[Sequence[Any]], anchors: Mapping[int, str],
               start: Link | None) -> tuple[VerifyReport | None, Link, int]:
    """Walk one chain's rows in position order from ``start`` (its genesis when None).

    Returns (the break or None, the newest verified link, events verified).
    """
    if not isinstance(chain, int) or isinstance(chain, bool) or chain < 0:
        first = next(iter(rows), None)
        seq = first[2] if first is not None and isinstance(first[2], int) else None
        return (VerifyReport(False, 0, seq, f"event {seq} claims chain {chain!r}, which no writer has: it was "
                             "inserted or edited", "edited", chain=None), Link(0, GENESIS_MAC), 0)
    end = start or Link(0, genesis(chain))
    legacy = chain == LEGACY_CHAIN
    expected, previous, last_seq = end.position + 1, end.mac, end.seq
    checked = 0
    # The loop runs a million times for a million events: the MAC is inlined and
    # names are bound locally, which makes it about a third faster than calls.
    inner_pad, outer_pad, encode, same = keyed.inner_pad, keyed.outer_pad, _ENCODE, hmac.compare_digest
    previous_bytes = previous.encode("utf-8", "replace")
    for row in rows:
        position, seq, mac = row[1], row[2], row[13]
        if position != expected or (legacy and seq != position):
            return _gap(chain, expected, position, seq), Link(expected - 1, previous, last_seq), checked
        try:
            inner = inner_pad.copy()
            inner.update(previous_bytes)
            inner.update(encode(row[2:13] if legacy else row[:13]).encode())
            outer = outer_pad.copy()
            outer.update(inner.digest())
            matches = same(outer.hexdigest(), mac)  # TypeError for anything but an ASCII str: a mismatch
        except (TypeError, ValueError):  # whatever an attacker stored is a mismatch, never a crash
            matches = False
        if not matches:
            return _bad_mac(chain, position, seq), Link(expected - 1, previous, last_seq), checked
        anchored = anchors.get(position)
        if anchored is not None and not same(str(anchored).encode(), str(mac).encode()):
            return (VerifyReport(False, checked, seq, f"event {seq} is not the event a signed checkpoint recorded "
                                 f"there (chain {chain}, its event {position}): the log was rewritten from that "
                                 "point on", "checkpoint", chain=chain, position=position),
                    Link(expected - 1, previous, last_seq), checked)
        previous, expected, checked, last_seq = mac, expected + 1, checked + 1, seq
        previous_bytes = mac.encode()
    return None, Link(expected - 1, previous, last_seq), checked


def finish(ends: Mapping[int, Link], heads: Heads | None, anchors: Anchors, checked: int) -> VerifyReport:
    """Every chain's verified end against its head row and against what signed checkpoints recorded.

    The writers' chains 1…N are made together (migration 0014), so a head row
    missing below the highest is a deleted chain even before any checkpoint.
    """
    made = range(1, max(heads or {}, default=0) + 1)
    chains = sorted(set(ends) | set(heads or {}) | set(anchors) | set(made))
    verified: Heads = {}
    for chain in chains:
        end = ends.get(chain) or Link(0, genesis(chain))
        recorded = anchors.get(chain, {})
        if heads is not None and chain not in heads and chain not in ends and (recorded or chain in made):
            seen = f" (a signed checkpoint recorded it at its event {max(recorded)})" if recorded else ""
            return VerifyReport(False, checked, None, f"chain {chain} is gone — its events and its head row"
                                f"{seen}: a whole writer chain was deleted", "truncated", chain=chain, position=1)
        beyond = [p for p in recorded if p > end.position]
        if beyond:
            return VerifyReport(False, checked, None, f"chain {chain} ends at its event {end.position} but a signed "
                                f"checkpoint covers its event {max(beyond)}: events were removed from the end",
                                "truncated", chain=chain, position=end.position + 1)
        if heads is None:
            verified[chain] = (end.position, end.mac)
            continue
        head = heads.get(chain)
        if head is None:
            return VerifyReport(False, checked, None, f"chain {chain} has {end.position} events but no head: its "
                                "head row was deleted", "truncated", chain=chain, position=end.position + 1)
        if head[0] != end.position or not hmac.compare_digest(str(head[1]).encode("utf-8", "replace"),
                                                              end.mac.encode("utf-8", "replace")):
            what = ("events were removed from the end" if head[0] > end.position
                    else "the head or the newest events were altered")
            return VerifyReport(False, checked, None, f"chain {chain} ends at its event {end.position} but its head "
                                f"records its event {head[0]}: {what}", "truncated", chain=chain,
                                position=end.position + 1)
        verified[chain] = head
    last = max((end.seq for end in ends.values()), default=0)
    return VerifyReport(True, checked, last_seq=last, last_mac=heads_digest(verified))


def _gap(chain: int, expected: int, found: Any, seq: Any) -> VerifyReport:
    if isinstance(found, int) and not isinstance(found, bool) and found > expected:
        missing = f"its event {expected} is" if found == expected + 1 else f"its events {expected}–{found - 1} are"
        problem = f"chain {chain}: {missing} missing (deleted): found its event {found} (event {seq}) in its place"
        return VerifyReport(False, 0, None, problem, "deleted", chain=chain, position=expected)  # no number left
    problem = (f"chain {chain}: its event {expected} is out of order or duplicated: found event {seq} (its "
               f"event {found}) in its place")
    bad = seq if isinstance(seq, int) and not isinstance(seq, bool) else None
    return VerifyReport(False, 0, bad, problem, "deleted", chain=chain, position=expected)


def _bad_mac(chain: int, position: int, seq: Any) -> VerifyReport:
    bad = seq if isinstance(seq, int) and not isinstance(seq, bool) else None
    return VerifyReport(False, 0, bad, f"event {seq} does not match its MAC (chain {chain}, its event {position}): "
                        "it was edited, inserted, moved, or the audit key is wrong", "edited", chain=chain,
                        position=position)


_LEGACY_WALK_SQL = ("SELECT 0, seq, seq, at, actor_id, actor_role, action, object_type, object_id, field_class, "
                    "purpose, outcome, detail, mac FROM audit_events ORDER BY seq")


def check_copy(dbapi_connection: Any, key: bytes, audit_seq: int, audit_mac: str) -> VerifyReport:
    """Walk the log inside a copy (a backup) and hold it to its manifest's (number, heads digest).

    A copy made before chains (migration 0014) has one head row, and its
    manifest that head's MAC: it is walked as chain 0, anchored there.
    """
    if not dialect.has_table(dbapi_connection, "audit_chains"):
        head = dbapi_connection.execute("SELECT seq, mac FROM audit_head WHERE id = 1").fetchone()
        heads = {LEGACY_CHAIN: (int(head[0]), str(head[1]))} if head else {}
        anchors = {LEGACY_CHAIN: {audit_seq: audit_mac}} if audit_seq else {}
        return walk_log(key, dbapi_connection.execute(_LEGACY_WALK_SQL).fetchall(), heads, anchors)
    heads = {int(r[0]): (int(r[1]), str(r[2])) for r in dbapi_connection.execute(HEADS_SQL).fetchall()}
    report = walk_log(key, dbapi_connection.execute(WALK_SQL).fetchall(), heads, {})
    if report.ok and not hmac.compare_digest(report.last_mac, audit_mac):
        return VerifyReport(False, report.checked, None, "its chains' heads are not the ones its manifest records",
                            "truncated", report.last_seq, report.last_mac)
    return report
