"""Erasure: the one path by which sensitive fields go, whether on withdrawal or when retention ends.

Destroying a (submission, class) data key erases every field it protected:
what remains of the ciphertext can no longer be opened with any key this system
holds. The ciphertext rows go too, and ``secure_delete`` overwrites the freed
pages, so nothing lingers in the file for a later key compromise to expose.

A withdrawal (``erase``) removes keys and ciphertext in one transaction: the
person asked, and it is done there and then. The retention purge ``shred``s:
it destroys only the keys, in transactions short enough never to hold up people
sending feedback, and the ciphertext — unreadable from that moment — follows in
small transactions of its own (``ciphertext.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Row, delete, func, select, update

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.actions import Action
from casefeedback.audit.log import DetailValue
from casefeedback.retention import ledger
from casefeedback.storage.dialect import execute_plain
from casefeedback.storage.tables import answers, consent_receipts, data_keys, feedback_replies, submissions


@dataclass(frozen=True)
class Erased:
    data_keys: int
    fields: int
    # field class -> (data keys, fields) destroyed in it
    by_class: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    # de-identified insight rows kept (retention only)
    contributions: int = 0


@dataclass(frozen=True)
class DoomedKey:
    """A data key to destroy, and how many answers it sealed (counted by the caller beforehand)."""

    id: str
    submission_id: str
    field_class: str
    fields: int


def erase(connection: Connection, audit: AuditLog, *, submission_id: str, reason: str,
          field_classes: Collection[str] | None = None, actor_id: str | None = None,
          actor_role: str | None = None) -> Erased:
    """Erase the given classes (all when None) of one submission, in the caller's write transaction.

    Destroys the wrapped data keys and the ciphertext, notes the destroyed key
    ids in the erasure ledger (so no restore brings them back), and audits
    counts and the reason — never content.
    """
    return erase_many(connection, audit, {submission_id: field_classes}, reason=reason, actor_id=actor_id,
                      actor_role=actor_role)[submission_id]


def erase_many(connection: Connection, audit: AuditLog, wanted: Mapping[str, Collection[str] | None], *,
               reason: str, actor_id: str | None = None, actor_role: str | None = None) -> dict[str, Erased]:
    """``erase`` for many submissions at once ({submission id: classes, or None for all}): the same steps,
    set by set. One audit event per submission, as with ``erase``."""
    rows = _keys(connection, wanted)
    counts = _field_counts(connection, rows)
    keys = [DoomedKey(r.id, r.submission_id, r.field_class, counts.get(r.id, 0)) for r in rows]
    ledger.record(connection, _entries(keys, reason, audit.now()))
    # The ciphertext by submission and class, not by key: that also takes any a purge
    # shredded a moment ago and has not swept yet, so nothing of it waits for the sweep.
    everything = [sid for sid, classes in wanted.items() if classes is None]
    # Replies to the person are sealed under the submission's reply-class key: they go the same way.
    for start in range(0, len(everything), _CHUNK):
        for table in (answers, feedback_replies):
            connection.execute(delete(table).where(table.c.submission_id.in_(everything[start:start + _CHUNK])))
    for submission_id, classes in wanted.items():
        if classes is not None:
            for table in (answers, feedback_replies):
                connection.execute(delete(table).where(table.c.submission_id == submission_id,
                                                       table.c.field_class.in_(list(classes))))
    for start in range(0, len(keys), _CHUNK):
        connection.execute(delete(data_keys).where(data_keys.c.id.in_([k.id for k in keys[start:start + _CHUNK]])))
    asked = {sid: ",".join(sorted(c)) if c is not None else "all" for sid, c in wanted.items()}
    return _audit(connection, audit, keys, asked, reason=reason, actor_id=actor_id, actor_role=actor_role)


def shred(connection: Connection, audit: AuditLog, keys: Sequence[DoomedKey], *, reason: str,
          actor_role: str | None,
          contributions: Mapping[str, int]) -> tuple[dict[str, Erased], list[ledger.LedgerEntry]]:
    """Destroy these data keys in the caller's write transaction, and nothing else (crypto-shredding).

    Each answer they sealed is unreadable, and to every reader (they join answers
    to data_keys) gone, at commit; its ciphertext is for ``ciphertext.py`` to
    remove afterwards. Notes the keys destroyed (only those: a key already gone is
    not claimed) in the ledger table; the caller appends the returned entries to
    the ledger file once the transaction has committed. One audit event per
    submission, with counts and the insight rows kept.
    """
    gone: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        chunk = tuple(k.id for k in keys[start:start + _CHUNK])
        gone.update(execute_plain(connection, _destroy_sql(len(chunk)), chunk).scalars())
    keys = [k for k in keys if k.id in gone]  # (the caller checked; a key already gone is not claimed twice)
    entries = _entries(keys, reason, audit.now())
    ledger.record(connection, entries, file=False)
    classes: dict[str, set[str]] = {}
    for key in keys:
        classes.setdefault(key.submission_id, set()).add(key.field_class)
    done = _audit(connection, audit, keys, {sid: ",".join(sorted(c)) for sid, c in classes.items()},
                  reason=reason, actor_id=None, actor_role=actor_role, contributions=contributions)
    return done, entries


_CHUNK = 500


@cache
def _destroy_sql(count: int) -> str:
    """Destroy ``count`` keys by id, naming those that were there. Straight to the driver: it runs inside every
    purge transaction, where SQLAlchemy's expanding of the id list and handling of the result would too."""
    return (f"DELETE FROM {data_keys.name} WHERE id IN ({', '.join('?' * count)}) "  # noqa: S608 - ids are parameters
            "RETURNING id")


def _entries(keys: Sequence[DoomedKey], reason: str, now: datetime) -> list[ledger.LedgerEntry]:
    return [ledger.LedgerEntry(k.id, k.submission_id, k.field_class, reason[:32], now) for k in keys]


def _audit(connection: Connection, audit: AuditLog, keys: Sequence[DoomedKey], classes: Mapping[str, str], *,
           reason: str, actor_id: str | None, actor_role: str | None,
           contributions: Mapping[str, int] | None = None) -> dict[str, Erased]:
    """One erasure event per submission in ``classes`` (what was asked, as text), and what each lost."""
    grouped: dict[str, list[DoomedKey]] = {}
    for key in keys:
        grouped.setdefault(key.submission_id, []).append(key)
    results: dict[str, Erased] = {}
    events = []
    for submission_id, asked in classes.items():
        mine = grouped.get(submission_id, [])
        by_class = {k.field_class: (1, k.fields) for k in mine}
        kept = contributions.get(submission_id, 0) if contributions is not None else 0
        erased = Erased(len(mine), sum(f for _, f in by_class.values()), by_class, kept)
        results[submission_id] = erased
        detail: dict[str, DetailValue] = {"reason": reason, "data_keys": erased.data_keys, "fields": erased.fields,
                                          "classes": asked}
        if contributions is not None:
            detail["contributions"] = kept
        events.append(AuditEvent(action=Action.ERASURE, outcome="erased", actor_id=actor_id, actor_role=actor_role,
                                 object_type="submission", object_id=submission_id, detail=detail))
    audit.append_many(connection, events)
    return results


def _keys(connection: Connection, wanted: Mapping[str, Collection[str] | None]) -> list[Row[Any, Any, Any]]:
    ids = list(wanted)
    found: list[Row[Any, Any, Any]] = []
    for start in range(0, len(ids), _CHUNK):
        rows = connection.execute(select(data_keys.c.id, data_keys.c.submission_id, data_keys.c.field_class)
                                  .where(data_keys.c.submission_id.in_(ids[start:start + _CHUNK]))).all()
        found += [r for r in rows if wanted[r.submission_id] is None
                  or r.field_class in wanted[r.submission_id]]  # type: ignore[operator]
    return found


def _field_counts(connection: Connection, keys: Sequence[Row[Any, Any, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        for table in (answers, feedback_replies):  # a reply counts as one field of the reply class
            rows = connection.execute(select(table.c.data_key_id, func.count())
                                      .where(table.c.submission_id.in_({k.submission_id for k in chunk}),
                                             table.c.data_key_id.in_([k.id for k in chunk]))
                                      .group_by(table.c.data_key_id)).all()
            for row in rows:
                counts[row[0]] = counts.get(row[0], 0) + int(row[1])
    return counts


def withdraw(connection: Connection, audit: AuditLog, *, submission_id: str, now: datetime,
             actor_id: str | None = None, actor_role: str | None = None) -> Erased | None:
    """Consent withdrawn: erase every class of one submission at once, in the caller's write transaction.

    Marks the submission ``withdrawn`` (so no reader finds it) and its consent
    receipt ``withdrawn_at``, then erases through ``erase``: keys and ciphertext
    together, there and then, whatever a purge may be doing meanwhile. Returns
    None, and changes nothing, if it was already withdrawn: withdrawing twice is
    harmless. What remains is only that feedback existed and was withdrawn,
    never what it said.
    """
    marked = connection.execute(update(submissions)
                                .where(submissions.c.id == submission_id, submissions.c.status == "active")
                                .values(status="withdrawn")).rowcount
    if marked != 1:
        return None
    connection.execute(update(consent_receipts).where(consent_receipts.c.submission_id == submission_id)
                       .values(withdrawn_at=now))
    return erase(connection, audit, submission_id=submission_id, reason="consent_withdrawn",
                 actor_id=actor_id, actor_role=actor_role)
