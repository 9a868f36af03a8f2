"""Erasure: the one path by which sensitive fields go, whether on withdrawal or when retention ends.

Destroying a (submission, class) data key erases every field it protected:
what remains of the ciphertext can no longer be opened with any key this system
holds. The ciphertext rows go too, and ``secure_delete`` overwrites the freed
pages, so nothing lingers in the file for a later key compromise to expose.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, select, update

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.actions import Action
from casefeedback.audit.log import DetailValue
from casefeedback.insight.contributions import InsightSource, contribute_many
from casefeedback.retention import ledger
from casefeedback.storage.tables import answers, consent_receipts, data_keys, submissions


@dataclass(frozen=True)
class Erased:
    data_keys: int
    fields: int
    # field class -> (data keys, fields) destroyed in it
    by_class: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    # de-identified insight rows kept (only when retention passes an InsightSource)
    contributions: int = 0


def erase(connection: Connection, audit: AuditLog, *, submission_id: str, reason: str,
          field_classes: Collection[str] | None = None, actor_id: str | None = None,
          actor_role: str | None = None, insight: InsightSource | None = None) -> Erased:
    """Erase the given classes (all when None) of one submission, in the caller's write transaction.

    Destroys the wrapped data keys and the ciphertext, notes the destroyed key
    ids in the erasure ledger (so no restore brings them back), and audits
    counts and the reason — never content. With ``insight`` (retention only),
    first keeps what the policy allows as de-identified contributions; a
    withdrawal passes none, so nothing of a withdrawn submission is counted.
    """
    return erase_many(connection, audit, {submission_id: field_classes}, reason=reason, actor_id=actor_id,
                      actor_role=actor_role, insight=insight)[submission_id]


def erase_many(connection: Connection, audit: AuditLog, wanted: Mapping[str, Collection[str] | None], *,
               reason: str, actor_id: str | None = None, actor_role: str | None = None,
               insight: InsightSource | None = None) -> dict[str, Erased]:
    """``erase`` for many submissions at once ({submission id: classes, or None for all}): the same steps,
    set by set, so the retention purge holds the write lock for milliseconds per batch, not per answer.
    One audit event per submission, as with ``erase``."""
    keys = _keys(connection, wanted)
    contributions: Mapping[str, int] = {}
    if insight is not None and keys:
        by_submission: dict[str, list[str]] = {}
        for key in keys:
            by_submission.setdefault(key.submission_id, []).append(key.field_class)
        contributions = contribute_many(connection, audit, insight, by_submission)
    counts = _field_counts(connection, keys)
    now = audit.now()
    ledger.record(connection, [ledger.LedgerEntry(k.id, k.submission_id, k.field_class, reason[:32], now)
                               for k in keys])
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        # By submission first: answers are indexed by submission, not by data key.
        connection.execute(delete(answers).where(answers.c.submission_id.in_({k.submission_id for k in chunk}),
                                                 answers.c.data_key_id.in_([k.id for k in chunk])))
        connection.execute(delete(data_keys).where(data_keys.c.id.in_([k.id for k in chunk])))
    grouped: dict[str, list[Row[Any, Any, Any]]] = {}
    for key in keys:
        grouped.setdefault(key.submission_id, []).append(key)
    results: dict[str, Erased] = {}
    events = []
    for submission_id, field_classes in wanted.items():
        mine = grouped.get(submission_id, [])
        by_class = {k.field_class: (1, counts.get(k.id, 0)) for k in mine}
        erased = Erased(len(mine), sum(f for _, f in by_class.values()), by_class,
                        contributions.get(submission_id, 0))
        results[submission_id] = erased
        detail: dict[str, DetailValue] = {
            "reason": reason, "data_keys": erased.data_keys, "fields": erased.fields,
            "classes": ",".join(sorted(field_classes)) if field_classes is not None else "all"}
        if insight is not None:
            detail["contributions"] = erased.contributions
        events.append(AuditEvent(action=Action.ERASURE, outcome="erased", actor_id=actor_id, actor_role=actor_role,
                                 object_type="submission", object_id=submission_id, detail=detail))
    audit.append_many(connection, events)
    return results


_CHUNK = 500


def _keys(connection: Connection, wanted: Mapping[str, Collection[str] | None]) -> list[Row[Any, Any, Any]]:
    ids = list(wanted)
    found: list[Row[Any, Any, Any]] = []
    for start in range(0, len(ids), _CHUNK):
        rows = connection.execute(select(data_keys.c.id, data_keys.c.submission_id, data_keys.c.field_class)
                                  .where(data_keys.c.submission_id.in_(ids[start:start + _CHUNK]))).all()
        found += [r for r in rows if wanted[r.submission_id] is None
                  or r.field_class in wanted[r.submission_id]]  # type: ignore[operator]
    return found


def _field_counts(connection: Connection, keys: list[Row[Any, Any, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        rows = connection.execute(select(answers.c.data_key_id, func.count())
                                  .where(answers.c.submission_id.in_({k.submission_id for k in chunk}),
                                         answers.c.data_key_id.in_([k.id for k in chunk]))
                                  .group_by(answers.c.data_key_id)).all()
        counts.update({row[0]: int(row[1]) for row in rows})
    return counts


def withdraw(connection: Connection, audit: AuditLog, *, submission_id: str, now: datetime,
             actor_id: str | None = None, actor_role: str | None = None) -> Erased | None:
    """Consent withdrawn: erase every class of one submission at once, in the caller's write transaction.

    Marks the submission ``withdrawn`` (so no reader finds it) and its consent
    receipt ``withdrawn_at``, then erases through ``erase``. Returns None, and
    changes nothing, if it was already withdrawn: withdrawing twice is harmless.
    What remains is only that feedback existed and was withdrawn, never what it said.
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
