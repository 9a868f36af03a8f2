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

Checking fast without checking less: on SQLite the database hands over each
event's MAC input ready-made (``dialect.audit_mac_input_columns``: json_array
over the stored values, none when one is a BLOB, which json_array would write as
null), and the MAC is checked over those bytes. A match means they are the
bytes the appender MACed — its own encoder's ASCII JSON of integers, NULLs and
strings — and json_array writes integers, NULL and text faithfully (every ASCII
character but DEL exactly as the appender's encoder does; DEL and non-ASCII
text raw, so they never match), and a REAL always with a point or an exponent,
never as an integer: equal bytes are equal stored values. Where there is no
input, or it does not match, the stored row is fetched again and checked over
the appender's own encoding of it, so every break is named by that exact check
and a log whose text the two encoders write differently still verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any, TypeVar

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
EXACT_ROW_SQL = f"SELECT {_COLUMNS} FROM audit_events WHERE seq = ?"  # noqa: S608 — constant columns
HEADS_SQL = "SELECT chain, seq, mac FROM audit_chains ORDER BY chain"
LAST_SEQ_SQL = "SELECT coalesce(max(seq), 0) FROM audit_events"

Heads = dict[int, tuple[int, str]]  # chain -> (position of its newest event, that event's MAC)
# The stored row (chain, chain_seq, seq … detail, mac) with this number, or None: for the few events whose
# ready-made MAC input cannot be trusted to be the appender's (see the top of this module).
ExactRow = Callable[[Any], Sequence[Any] | None]
Anchors = Mapping[int, Mapping[int, str]]  # chain -> position -> MAC a signed checkpoint recorded there
ProgressHook = Callable[[int, int], None]  # (events verified, events in all): a command's progress bar
# How often a walk tells its progress: per chunk, never per event (a call per event would cost the walk a tenth).
PROGRESS_EVERY = 10_000


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


def encoded_walk_sql(columns: str) -> str:
    """The whole log in chain order, each row (chain, chain_seq, seq, mac, MAC input or NULL)."""
    return f"SELECT {columns} FROM audit_events ORDER BY chain, chain_seq"  # noqa: S608 — constant columns


def encoded_range_sql(columns: str) -> str:
    """One chain's events from position ? to ?, each row (chain, chain_seq, seq, mac, MAC input or NULL)."""
    return (f"SELECT {columns} FROM audit_events WHERE chain = ? AND chain_seq BETWEEN ? AND ? "  # noqa: S608
            "ORDER BY chain_seq")


def encoded_after_sql(columns: str) -> str:
    """One chain's events after position ?, each row (chain, chain_seq, seq, mac, MAC input or NULL)."""
    return f"SELECT {columns} FROM audit_events WHERE chain = ? AND chain_seq > ? ORDER BY chain_seq"  # noqa: S608


def exact_rows(dbapi_connection: Any) -> ExactRow:
    """Fetch one stored event by its number, on its own cursor (the walk's cursor is mid-way)."""

    def fetch(seq: Any) -> Sequence[Any] | None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(EXACT_ROW_SQL, (seq,))
            row: Sequence[Any] | None = cursor.fetchone()
            return row
        finally:
            cursor.close()

    return fetch


def walk_connection(connection: Connection, key: bytes, heads: Heads | None, anchors: Anchors,
                    progress: ProgressHook | None = None) -> VerifyReport:
    """``walk_log`` over the whole log through the DB-API cursor directly (verifying a million events is
    dominated by per-row overhead), with the MAC inputs made by the database where it can.

    ``progress``: told (events verified, events the heads record) every ``PROGRESS_EVERY`` events."""
    return walk_dbapi(_dbapi(connection), connection.dialect.name, key, heads, anchors, progress)


def _dbapi(connection: Connection) -> Any:
    proxied = connection.connection
    return proxied.dbapi_connection or proxied


def walk_dbapi(dbapi_connection: Any, dialect_name: str, key: bytes, heads: Heads | None, anchors: Anchors,
               progress: ProgressHook | None = None) -> VerifyReport:
    """``walk_connection`` on a DB-API connection: also what checks the log inside a backup's copy."""
    columns = dialect.audit_mac_input_columns(dialect_name)
    return _text_as_stored(dbapi_connection,
                           lambda: _walk_connection(dbapi_connection, columns, key, heads, anchors, progress))


def walk_chain_after(connection: Connection, keyed: KeyedMac, chain: Any,
                     start: Link | None) -> tuple[VerifyReport | None, Link, int]:
    """``walk_chain`` over one chain's events after ``start`` (all of them when None), with the MAC inputs made
    by the database where it can: the worker's minute-by-minute watch, walking only what is new."""
    dbapi_connection, paramstyle = _dbapi(connection), connection.dialect.paramstyle
    columns = dialect.audit_mac_input_columns(connection.dialect.name)
    after = (chain, start.position if start else 0)

    def walk() -> tuple[VerifyReport | None, Link, int]:
        cursor = dbapi_connection.cursor()
        try:
            if columns is None:
                cursor.execute(dialect.driver_sql(AFTER_SQL, paramstyle), after)
                return walk_chain(keyed, chain, batches(cursor), {}, start)
            cursor.execute(dialect.driver_sql(encoded_after_sql(columns), paramstyle), after)
            return walk_chain(keyed, chain, batches(cursor), {}, start, exact_rows(dbapi_connection))
        finally:
            cursor.close()

    return _text_as_stored(dbapi_connection, walk)


def _walk_connection(dbapi_connection: Any, columns: str | None, key: bytes, heads: Heads | None,
                     anchors: Anchors, progress: ProgressHook | None) -> VerifyReport:
    cursor = dbapi_connection.cursor()
    total = events_in(heads or {})
    try:
        if columns is None:
            cursor.execute(WALK_SQL)
            return walk_log(key, batches(cursor, progress, total), heads, anchors)
        cursor.execute(encoded_walk_sql(columns))
        return walk_log(key, batches(cursor, progress, total), heads, anchors, exact_rows(dbapi_connection))
    finally:
        cursor.close()


_T = TypeVar("_T")


def _text_as_stored(dbapi_connection: Any, walk: Callable[[], _T]) -> _T:
    """Run ``walk``; if stored text is not UTF-8 (nothing casefeedback writes: someone put it there), run it
    again reading that text as it is, so the walk names the event as edited instead of failing."""
    try:
        return walk()
    except Exception as error:
        if not dialect.undecodable_text(error):
            raise
    with dialect.forgiving_text(dbapi_connection):
        return walk()


def events_in(heads: Heads) -> int:
    """How many events the chains' heads say the log holds (positions count from 1 in every chain, no gaps)."""
    return sum(position for position, _mac in heads.values())


def batches(cursor: Any, progress: ProgressHook | None = None, total: int = 0) -> Iterator[Sequence[Any]]:
    """The cursor's rows, a thousand fetched at a time. With ``progress``: (rows taken, ``total``) at the start,
    every ``PROGRESS_EVERY`` rows and at the end — told once the walk asks for the row after a batch, so every
    row counted has been verified; a walk that stops at a break never reaches the end."""
    if progress is None:
        while batch := cursor.fetchmany(1_000):
            yield from batch
        return
    done = told = 0
    progress(0, total)
    while batch := cursor.fetchmany(1_000):
        yield from batch
        done += len(batch)
        if done - told >= PROGRESS_EVERY:
            told = done
            progress(done, max(done, total))
    progress(done, max(done, total))


def in_chunks(rows: Sequence[Sequence[Any]], progress: ProgressHook) -> Iterator[Sequence[Any]]:
    """``batches`` for rows already fetched: (rows walked, all of them) at the start and every
    ``PROGRESS_EVERY``."""
    progress(0, len(rows))
    for start in range(0, len(rows), PROGRESS_EVERY):
        yield from rows[start:start + PROGRESS_EVERY]
        progress(min(start + PROGRESS_EVERY, len(rows)), len(rows))


def heads_of(connection: Connection) -> Heads:
    return {int(r[0]): (int(r[1]), str(r[2])) for r in connection.execute(text(HEADS_SQL))}


def last_seq_of(connection: Connection) -> int:
    return int(connection.execute(text(LAST_SEQ_SQL)).scalar_one())


def walk_log(key: bytes, rows: Iterable[Sequence[Any]], heads: Heads | None, anchors: Anchors,
             exact: ExactRow | None = None) -> VerifyReport:
    """Verify rows (chain, chain_seq, seq, at, actor_id … detail, mac) — or, with ``exact``, rows (chain,
    chain_seq, seq, mac, MAC input) — ordered by chain and position, then every chain's end against its head
    and the signed checkpoints. Stops at the first break."""
    keyed = KeyedMac(key)
    ends: dict[int, Link] = {}
    checked = 0
    for chain, group in groupby(rows, key=itemgetter(0)):
        broken, end, done = walk_chain(keyed, chain, group, anchors.get(chain, {}) if isinstance(chain, int) else {},
                                       None, exact)
        checked += done
        if broken is not None:
            return _counted(broken, checked)
        ends[chain] = end
    return finish(ends, heads, anchors, checked)


def _counted(report: VerifyReport, checked: int) -> VerifyReport:
    return VerifyReport(report.ok, checked, report.first_bad_seq, report.problem, report.kind, report.last_seq,
                        report.last_mac, report.chain, report.position)


def walk_chain(keyed: KeyedMac, chain: Any, rows: Iterable[Sequence[Any]], anchors: Mapping[int, str],
               start: Link | None, exact: ExactRow | None = None) -> tuple[VerifyReport | None, Link, int]:
    """Walk one chain's rows in position order from ``start`` (its genesis when None); with ``exact``, rows
    carrying their MAC input (``walk_log`` says which).

    Returns (the break or None, the newest verified link, events verified).
    """
    if not isinstance(chain, int) or isinstance(chain, bool) or chain < 0:
        first = next(iter(rows), None)
        seq = first[2] if first is not None and isinstance(first[2], int) else None
        return (VerifyReport(False, 0, seq, f"event {seq} claims chain {chain!r}, which no writer has: it was "
                             "inserted or edited", "edited", chain=None), Link(0, GENESIS_MAC), 0)
    end = start or Link(0, genesis(chain))
    if exact is not None:
        return _walk_encoded(keyed, chain, rows, anchors, end, exact)
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
            return _rewritten(chain, position, seq, checked), Link(expected - 1, previous, last_seq), checked
        previous, expected, checked, last_seq = mac, expected + 1, checked + 1, seq
        previous_bytes = mac.encode()
    return None, Link(expected - 1, previous, last_seq), checked


def _walk_encoded(keyed: KeyedMac, chain: int, rows: Iterable[Sequence[Any]], anchors: Mapping[int, str],
                  end: Link, exact: ExactRow) -> tuple[VerifyReport | None, Link, int]:
    """``walk_chain`` over rows (chain, chain_seq, seq, mac, MAC input or NULL): each MAC over the input the
    database made, and — where that does not match, or there is none — over the stored row as the appender
    encoded it (the top of this module says why a match over the database's input is as good)."""
    legacy = chain == LEGACY_CHAIN
    expected, previous, last_seq = end.position + 1, end.mac, end.seq
    checked = 0
    # About a microsecond a row in Python, against two in SQLite: names bound locally, nothing called but
    # the hashes.
    inner_copy, outer_copy, same = keyed.inner_pad.copy, keyed.outer_pad.copy, hmac.compare_digest
    previous_bytes = previous.encode("utf-8", "replace")
    for _chain, position, seq, mac, encoded in rows:
        if position != expected or (legacy and seq != position):
            return _gap(chain, expected, position, seq), Link(expected - 1, previous, last_seq), checked
        matches = False
        if encoded is not None:  # None: a BLOB is stored in this row
            try:
                inner = inner_copy()
                inner.update(previous_bytes)
                inner.update(encoded.encode())  # ValueError: text that was not UTF-8 (lone surrogates)
                outer = outer_copy()
                outer.update(inner.digest())
                matches = same(outer.hexdigest(), mac)  # TypeError for anything but an ASCII str
            except (TypeError, ValueError):
                matches = False
        if not matches:  # the exact check has the last word: on rows it alone can check, and on every break
            stored = exact(seq)
            matches = (stored is not None and stored[0] == chain and stored[1] == position
                       and _exact_match(keyed, previous_bytes, stored, legacy))
            if not matches:
                return _bad_mac(chain, position, seq), Link(expected - 1, previous, last_seq), checked
        anchored = anchors.get(position)
        if anchored is not None and not same(str(anchored).encode(), str(mac).encode()):
            return _rewritten(chain, position, seq, checked), Link(expected - 1, previous, last_seq), checked
        previous, expected, checked, last_seq = mac, expected + 1, checked + 1, seq
        previous_bytes = mac.encode()
    return None, Link(expected - 1, previous, last_seq), checked


def _exact_match(keyed: KeyedMac, previous_bytes: bytes, row: Sequence[Any], legacy: bool) -> bool:
    """A stored row (chain, chain_seq, seq … detail, mac) against its MAC, encoded as the appender encoded it."""
    try:
        inner = keyed.inner_pad.copy()
        inner.update(previous_bytes)
        inner.update(_ENCODE(list(row[2:13] if legacy else row[:13])).encode())
        outer = keyed.outer_pad.copy()
        outer.update(inner.digest())
        return hmac.compare_digest(outer.hexdigest(), row[13])
    except (TypeError, ValueError):  # whatever an attacker stored is a mismatch, never a crash
        return False


def _rewritten(chain: int, position: int, seq: Any, checked: int) -> VerifyReport:
    return VerifyReport(False, checked, seq, f"event {seq} is not the event a signed checkpoint recorded there "
                        f"(chain {chain}, its event {position}): the log was rewritten from that point on",
                        "checkpoint", chain=chain, position=position)


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
