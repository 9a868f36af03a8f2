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
from functools import cache
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select

from casefeedback.policy.model import ServicePolicy
from casefeedback.storage.dialect import execute_plain
from casefeedback.storage.driver_rows import binders_of
from casefeedback.storage.tables import draft_answers, drafts


class DraftChanged(Exception):
    """The draft changed between reading and sending it: another tab saved, changed consent, sent or left."""


@dataclass(frozen=True)
class SealedDraft:
    """A live draft as read, still sealed: its row, its answer rows, and the erase's statement and values."""

    row: Row[Any]
    answers: Sequence[Row[Any]]
    erase: tuple[str, tuple[Any, ...]]  # made when read, so the write transaction only runs it


# Built once, as every send reads the same two things (building them again costs more than running them).
_LIVE_DRAFT = select(drafts).where(drafts.c.id == bindparam("draft_id"), drafts.c.service_id == bindparam("service"),
                                   drafts.c.expires_at > bindparam("now"))
_DRAFT_ANSWERS = select(draft_answers).where(draft_answers.c.draft_id == bindparam("draft_id"))


def read_sealed(connection: Connection, policy: ServicePolicy, draft_id: str, now: datetime) -> SealedDraft | None:
    """The draft, if it is live and for this service; None if it is gone or its time is up."""
    row = connection.execute(_LIVE_DRAFT, {"draft_id": draft_id, "service": policy.id, "now": now}).first()
    if row is None:
        return None
    found = connection.execute(_DRAFT_ANSWERS, {"draft_id": draft_id}).all()
    return SealedDraft(row, found, _erase_statement(connection, row, found))


# What "exactly as read" compares on the draft's own row; the answer rows are compared by their ids.
# Saving an answer replaces its row with one of a new id, and every other change is to the draft's own
# row, so this is "unchanged".
_COMPARED = ("id", "updated_at", "expires_at", "consent_version", "consent_language", "consent_choices",
             "consent_given_at")


@cache
def _erase_sql(answer_rows: int) -> str:
    """One statement: it erases the draft (its answer rows go with it, ON DELETE CASCADE) only if the draft
    row is as read and its answer rows are exactly those read. Written for the driver (see
    ``_erase_statement``); the invitation is compared as text so that an absent one needs no type of its own."""
    same_row = " AND ".join(f"{column} = ?" for column in _COMPARED)
    placeholders = ", ".join("?" * answer_rows)
    others = (" AND NOT EXISTS (SELECT 1 FROM draft_answers WHERE draft_answers.draft_id = ? "  # noqa: S608 - as below
              f"AND draft_answers.id NOT IN ({placeholders}))") if answer_rows else ""
    return (f"DELETE FROM drafts WHERE {same_row} "  # noqa: S608 - constant names; every value a parameter
            "AND (invitation_id = CAST(? AS TEXT) OR (invitation_id IS NULL AND CAST(? AS TEXT) IS NULL)) "
            "AND (SELECT count(*) FROM draft_answers WHERE draft_answers.draft_id = ?) = ?" + others)


def _erase_statement(connection: Connection, row: Row[Any], found: Sequence[Row[Any]]) -> tuple[str, tuple[Any, ...]]:
    """The erase's statement and values, the values converted as the columns store them (times), now, with no
    lock held: inside the write transaction the driver only runs it, rather than SQLAlchemy building the
    statement, expanding the id list and converting some sixteen values there."""
    stored = tuple(value if binder is None else binder(value) for value, binder in zip(
        (getattr(row, column) for column in _COMPARED), binders_of(drafts, _COMPARED, connection.dialect),
        strict=True))
    ids = tuple(answer.id for answer in found)
    others = (row.id, *ids) if ids else ()
    return _erase_sql(len(ids)), (*stored, row.invitation_id, row.invitation_id, row.id, len(ids), *others)


def erase_as_read(connection: Connection, draft: SealedDraft) -> None:
    """Erase the draft in the caller's write transaction if it is exactly as read; else raise DraftChanged.

    On DraftChanged nothing was erased, and the caller's transaction rolls
    back whatever else it wrote: nothing is half-written.
    """
    sql, values = draft.erase
    if execute_plain(connection, sql, values).rowcount != 1:
        raise DraftChanged()
