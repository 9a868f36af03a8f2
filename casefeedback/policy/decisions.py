"""The one access decision: (actor, case, field class, purpose) -> allow, deny or aggregate-only.

Deny by default. A grant is an object only ``decide`` can make, and the crypto
layer will open a field only when handed a grant for exactly that field, so no
code path can decrypt without having asked this module first.

Nothing here is cached: callers build ``Actor`` and ``CaseFacts`` from the
database on every request, so a changed role, team, deputy or an ended
break-glass takes effect on the very next request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from casefeedback.policy.model import FieldClass
from casefeedback.policy.relations import relations
from casefeedback.policy.roles import (
    BREAK_GLASS_ROLES,
    INSIGHT_ROLES,
    RECEIPT_HOLDER_ROLE,
    RECORDS_ROLES,
    RETENTION_ROLE,
)

Purpose = Literal["casework", "own_record", "insight"]
PURPOSES: tuple[str, ...] = ("casework", "own_record", "insight")

_ISSUER = object()


class ClassDeclarations(Protocol):
    """What a decision needs of a policy: a service's, or the organisation's (for case outcomes)."""

    @property
    def id(self) -> str: ...

    @property
    def classes(self) -> Mapping[str, FieldClass]: ...


@dataclass(frozen=True)
class Actor:
    """Who is asking: a staff member, or the holder of a receipt code (``role='receipt_holder'``)."""

    id: str
    role: str
    team_id: str | None = None


@dataclass(frozen=True)
class BreakGlass:
    """An open break-glass on a case: who, until when, reading as which relations."""

    id: str
    staff_id: str
    read_as: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True)
class CaseFacts:
    id: str
    owner_id: str
    deputy_id: str | None
    team_id: str
    # The asking actor's open break-glass on this case, if any (looked up per request).
    break_glass: BreakGlass | None = None


class AccessGrant:
    """Permission to open one field class of one record (a submission or an outcome), for one purpose."""

    __slots__ = ("actor", "break_glass_id", "field_class", "purpose", "reason", "submission_id")

    def __init__(self, issuer: object, actor: Actor, submission_id: str, field_class: str,
                 purpose: str, reason: str, break_glass_id: str | None = None) -> None:
        if issuer is not _ISSUER:
            raise TypeError("an AccessGrant is issued only by casefeedback.policy.decisions.decide")
        self.actor = actor
        self.submission_id = submission_id
        self.field_class = field_class
        self.purpose = purpose
        self.reason = reason
        self.break_glass_id = break_glass_id


@dataclass(frozen=True)
class AggregateOnly:
    """The class may be counted in de-identified aggregates, never read one by one."""

    reason: str


@dataclass(frozen=True)
class Denial:
    reason: str


Decision = AccessGrant | AggregateOnly | Denial


def break_glass_relations(actor: Actor, case: CaseFacts | None) -> frozenset[str]:
    """The relations an open break-glass lends this actor on this case (none if it is not theirs)."""
    glass = case.break_glass if case is not None else None
    if glass is None or glass.staff_id != actor.id or actor.role not in BREAK_GLASS_ROLES:
        return frozenset()
    return frozenset(glass.read_as)


def decide(policy: ClassDeclarations, actor: Actor, case: CaseFacts | None, submission_id: str,
           field_class: str, purpose: str, *, receipt_submission_id: str | None = None) -> Decision:
    """Decide one field class of one record. ``submission_id`` names the record the grant will open."""
    declared = policy.classes.get(field_class)
    if declared is None:
        return Denial(f"field class {field_class!r} is not declared in policy {policy.id}")
    if purpose == "own_record":
        # The person who gave the feedback, proven by their receipt code.
        if actor.role == RECEIPT_HOLDER_ROLE and receipt_submission_id == submission_id:
            return AccessGrant(_ISSUER, actor, submission_id, field_class, purpose, "own record")
        return Denial("only the person holding the receipt may read their own record")
    if purpose == "insight":
        if actor.role == RETENTION_ROLE and declared.insight == "aggregate":
            # The retention process (insight/contributions.py, no person) opens an
            # aggregate class only to keep its de-identified counts just before erasing it.
            return AccessGrant(_ISSUER, actor, submission_id, field_class, purpose, "de-identified count at erasure")
        if actor.role in INSIGHT_ROLES and declared.insight == "aggregate":
            return AggregateOnly(f"class {field_class} may be counted, never read one by one")
        return Denial(f"class {field_class} is not shared as insight with role {actor.role}")
    if purpose != "casework":
        return Denial(f"purpose {purpose!r} does not permit reading content")
    normal = sorted(relations(actor, case) & set(declared.read))
    if normal:
        return AccessGrant(_ISSUER, actor, submission_id, field_class, purpose, f"relation {normal[0]}")
    lent = sorted(break_glass_relations(actor, case) & set(declared.read))
    if lent and case is not None and case.break_glass is not None:
        return AccessGrant(_ISSUER, actor, submission_id, field_class, purpose,
                           f"break-glass as {lent[0]}", break_glass_id=case.break_glass.id)
    return Denial(f"no relation among {', '.join(declared.read) or '(none)'} for class {field_class}")


# What a legal hold says in words (why it was set, each review's note, why it was released): written by
# legal staff, it may name a person or a proceeding, so it is sealed like an answer (retention/holds.py).
HOLD_CLASS = "legal_hold"


def decide_hold(actor: Actor, hold_id: str) -> AccessGrant | Denial:
    """Whether ``actor`` may read what a legal hold says: the records roles only, never the case's team.

    A hold's words are about the proceeding, not the feedback, and the people who
    set holds are the ones who must read them; caseworkers and managers see only
    that a case is held."""
    if actor.role in RECORDS_ROLES:
        return AccessGrant(_ISSUER, actor, hold_id, HOLD_CLASS, "records", f"role {actor.role}")
    return Denial(f"role {actor.role} may not read legal holds")
