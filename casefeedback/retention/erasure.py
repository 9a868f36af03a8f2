"""Erasure: the one path by which sensitive fields go, whether on withdrawal or when retention ends.

Destroying a (submission, class) data key erases every field it protected:
what remains of the ciphertext can no longer be opened with any key this system
holds. The ciphertext rows go too, and ``secure_delete`` overwrites the freed
pages, so nothing lingers in the file for a later key compromise to expose.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.storage.tables import answers, data_keys


@dataclass(frozen=True)
class Erased:
    data_keys: int
    fields: int


def erase(connection: Connection, audit: AuditLog, *, submission_id: str, reason: str,
          field_classes: Collection[str] | None = None, actor_id: str | None = None,
          actor_role: str | None = None) -> Erased:
    """Erase the given classes (all when None) of one submission, in the caller's write transaction.

    Audits counts and the reason — never content.
    """
    key_filter = [data_keys.c.submission_id == submission_id]
    if field_classes is not None:
        key_filter.append(data_keys.c.field_class.in_(list(field_classes)))
    key_ids = list(connection.execute(select(data_keys.c.id).where(*key_filter)).scalars())
    fields = connection.execute(delete(answers).where(answers.c.data_key_id.in_(key_ids))).rowcount if key_ids else 0
    keys = connection.execute(delete(data_keys).where(data_keys.c.id.in_(key_ids))).rowcount if key_ids else 0
    audit.append(connection, AuditEvent(
        action="erasure", outcome="erased", actor_id=actor_id, actor_role=actor_role,
        object_type="submission", object_id=submission_id,
        detail={"reason": reason, "data_keys": keys, "fields": fields,
                "classes": ",".join(sorted(field_classes)) if field_classes is not None else "all"}))
    return Erased(keys, fields)
