"""Sending a draft: read and opened outside the write transaction, erased in it only if still as read.

Opening a draft's values (an unwrap and a decrypt each, and an access decision)
and sealing them again for the submission is most of a send's work. Done inside
the write transaction, it would hold up every other writer in the instance for
all of it. So the send reads the draft (``read_sealed``), opens and seals with
no lock held, and its short write transaction starts by erasing the draft only
if it is still exactly as read (``erase_as_read``): if another tab saved an
answer, changed consent, left or sent it meanwhile, nothing is written and the
caller can read it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, exists, func, select

from casefeedback.policy.model import ServicePolicy
from casefeedback.storage.tables import draft_answers, drafts


class DraftChanged(Exception):
    """The draft changed between reading and sending it: another tab saved, changed consent, sent or left."""


@dataclass(frozen=True)
class SealedDraft:
    """A live draft as read, still sealed: its row and its answer rows."""

    row: Row[Any]
    answers: Sequence[Row[Any]]


# Built once, as every send reads the same two things (building them again costs more than running them).
_LIVE_DRAFT = select(drafts).where(drafts.c.id == bindparam("draft_id"), drafts.c.service_id == bindparam("service"),
                                   drafts.c.expires_at > bindparam("now"))
_DRAFT_ANSWERS = select(draft_answers).where(draft_answers.c.draft_id == bindparam("draft_id"))


def read_sealed(connection: Connection, policy: ServicePolicy, draft_id: str, now: datetime) -> SealedDraft | None:
    """The draft, if it is live and for this service; None if it is gone or its time is up."""
    row = connection.execute(_LIVE_DRAFT, {"draft_id": draft_id, "service": policy.id, "now": now}).first()
    if row is None:
        return None
    return SealedDraft(row, connection.execute(_DRAFT_ANSWERS, {"draft_id": draft_id}).all())


# One statement, built once: it erases the draft (its answer rows go with it, ON DELETE
# CASCADE) only if the draft row is as read and its answer rows are exactly those read.
# Saving an answer replaces its row with one of a new id, and every other change is to
# the draft's own row, so this is "unchanged".
_ERASE_AS_READ = delete(drafts).where(
    drafts.c.id == bindparam("draft_id"), drafts.c.updated_at == bindparam("updated_at"),
    drafts.c.expires_at == bindparam("expires_at"),
    drafts.c.invitation_id.is_not_distinct_from(bindparam("invitation_id")),
    drafts.c.consent_version == bindparam("consent_version"),
    drafts.c.consent_language == bindparam("consent_language"),
    drafts.c.consent_choices == bindparam("consent_choices"),
    drafts.c.consent_given_at == bindparam("consent_given_at"),
    select(func.count()).select_from(draft_answers).where(draft_answers.c.draft_id == bindparam("draft_id"))
    .scalar_subquery() == bindparam("fields"),
    ~exists().where(draft_answers.c.draft_id == bindparam("draft_id"),
                    draft_answers.c.id.not_in(bindparam("answer_ids", expanding=True))))


def erase_as_read(connection: Connection, draft: SealedDraft) -> None:
    """Erase the draft in the caller's write transaction if it is exactly as read; else raise DraftChanged.

    On DraftChanged nothing was erased, and the caller's transaction rolls
    back whatever else it wrote: nothing is half-written.
    """
    row = draft.row
    erased = connection.execute(_ERASE_AS_READ, {
        "draft_id": row.id, "updated_at": row.updated_at, "expires_at": row.expires_at,
        "invitation_id": row.invitation_id, "consent_version": row.consent_version,
        "consent_language": row.consent_language, "consent_choices": row.consent_choices,
        "consent_given_at": row.consent_given_at, "fields": len(draft.answers),
        "answer_ids": [answer.id for answer in draft.answers]})
    if erased.rowcount != 1:
        raise DraftChanged()
