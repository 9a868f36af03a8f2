"""The one access decision: (actor, case, field class, purpose) -> grant or denial.

Deny by default. A grant is an object only ``decide`` can make, and the crypto
layer will open a field only when handed a grant for exactly that field, so no
code path can decrypt without having asked this module first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from casefeedback.policy.model import ServicePolicy

Purpose = Literal["casework", "own_record"]
PURPOSES: tuple[str, ...] = ("casework", "own_record")

# Only these roles can stand in a relation to a case. Administrators, auditors
# and analysts never can, whatever the policy says: separation of duties.
CONTENT_ROLES = frozenset({"caseworker", "supervisor", "duty_manager"})

_ISSUER = object()


@dataclass(frozen=True)
class Actor:
    """Who is asking: a staff member, or the holder of a receipt code (``role='receipt_holder'``)."""

    id: str
    role: str
    team_id: str | None = None


@dataclass(frozen=True)
class CaseFacts:
    id: str
    owner_id: str
    deputy_id: str | None
    team_id: str


class AccessGrant:
    """Permission to open one field class of one submission, for one purpose."""

    __slots__ = ("actor", "field_class", "purpose", "reason", "submission_id")

    def __init__(self, issuer: object, actor: Actor, submission_id: str, field_class: str,
                 purpose: str, reason: str) -> None:
        if issuer is not _ISSUER:
            raise TypeError("an AccessGrant is issued only by casefeedback.policy.decisions.decide")
        self.actor = actor
        self.submission_id = submission_id
        self.field_class = field_class
        self.purpose = purpose
        self.reason = reason


@dataclass(frozen=True)
class Denial:
    reason: str


Decision = AccessGrant | Denial


def relations(actor: Actor, case: CaseFacts | None) -> frozenset[str]:
    if actor.role not in CONTENT_ROLES:
        return frozenset()
    held = {"duty_manager"} if actor.role == "duty_manager" else set()
    if case is not None:
        if case.owner_id == actor.id:
            held.add("case_owner")
        if case.deputy_id == actor.id:
            held.add("case_deputy")
        if actor.team_id is not None and actor.team_id == case.team_id:
            held.add("team_member")
            if actor.role == "supervisor":
                held.add("team_supervisor")
    return frozenset(held)


def decide(policy: ServicePolicy, actor: Actor, case: CaseFacts | None, submission_id: str,
           field_class: str, purpose: str, *, receipt_submission_id: str | None = None) -> Decision:
    declared = policy.classes.get(field_class)
    if declared is None:
        return Denial(f"field class {field_class!r} is not declared in policy {policy.id}")
    if purpose == "own_record":
        # The person who gave the feedback, proven by their receipt code.
        if actor.role == "receipt_holder" and receipt_submission_id == submission_id:
            return AccessGrant(_ISSUER, actor, submission_id, field_class, purpose, "own record")
        return Denial("only the person holding the receipt may read their own record")
    if purpose != "casework":
        return Denial(f"purpose {purpose!r} does not permit reading content")
    matching = sorted(relations(actor, case) & set(declared.read))
    if not matching:
        return Denial(f"no relation among {', '.join(declared.read)} for class {field_class}")
    return AccessGrant(_ISSUER, actor, submission_id, field_class, purpose, f"relation {matching[0]}")
