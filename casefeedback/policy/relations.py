"""How a staff member stands to a case, declared once as a table, read in Python and in SQL alike.

``RELATIONS_TABLE`` says, for each relation a policy file may name, which roles
can hold it and which column of the case must equal which attribute of the
person. Both forms of every rule come from that table: ``relations()`` for one
case in hand, ``relation_clause()`` for a query over many. So "who may see that
a case exists" cannot be answered one way on a list and another way on a page —
``tests/policy/test_relations.py`` runs every role × relation × case state
through both and demands they agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Table, exists, false, or_, true

from casefeedback.policy.roles import BREAK_GLASS_ROLES, CONTENT_ROLES


class Person(Protocol):
    """A staff member as a rule sees them (``StaffMember`` and ``Actor`` both fit)."""

    @property
    def id(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def team_id(self) -> str | None: ...


class CaseShape(Protocol):
    """A case as a rule sees it (``CaseFacts`` and ``CaseSummary`` both fit)."""

    @property
    def owner_id(self) -> str: ...

    @property
    def deputy_id(self) -> str | None: ...

    @property
    def team_id(self) -> str: ...


@dataclass(frozen=True)
class Relation:
    name: str
    roles: frozenset[str]
    # The case's column that must equal the person's attribute; None: held without any case.
    case_column: str | None = None
    person_attribute: str | None = None


RELATIONS_TABLE: tuple[Relation, ...] = (
    Relation("case_owner", CONTENT_ROLES, "owner_id", "id"),
    Relation("case_deputy", CONTENT_ROLES, "deputy_id", "id"),
    Relation("team_member", CONTENT_ROLES, "team_id", "team_id"),
    Relation("team_supervisor", frozenset({"supervisor"}), "team_id", "team_id"),
    # The duty manager answers for every case out of hours: held without a case.
    Relation("duty_manager", frozenset({"duty_manager"})),
)
RELATION_NAMES: tuple[str, ...] = tuple(r.name for r in RELATIONS_TABLE)
_BY_NAME = {r.name: r for r in RELATIONS_TABLE}
# Relations that exist only through a case: anonymous feedback has none, so nobody holds them.
CASE_RELATIONS = frozenset(r.name for r in RELATIONS_TABLE if r.case_column is not None)

# Knowing a case exists (its reference, its list of feedback). Team members and
# the duty manager do not, except through break-glass: need to know.
SEE_CASE_THROUGH: tuple[str, ...] = ("case_owner", "case_deputy", "team_supervisor")
# Closing a case or choosing its deputy.
MANAGE_CASE_THROUGH: tuple[str, ...] = ("case_owner", "team_supervisor")
# Recording what came of a case: the deputy covers for the owner.
RECORD_OUTCOME_THROUGH: tuple[str, ...] = ("case_owner", "case_deputy", "team_supervisor")


def _holds(relation: Relation, person: Person, case: CaseShape | None) -> bool:
    if person.role not in relation.roles:
        return False
    if relation.case_column is None or relation.person_attribute is None:
        return True
    mine = getattr(person, relation.person_attribute)
    return case is not None and mine is not None and getattr(case, relation.case_column) == mine


def relations(person: Person, case: CaseShape | None) -> frozenset[str]:
    """The relations a person holds to a case through their normal work (never through break-glass)."""
    return frozenset(r.name for r in RELATIONS_TABLE if _holds(r, person, case))


def relation_clause(name: str, person: Person, case_table: Table) -> ColumnElement[bool]:
    """The SQL form of ``name in relations(person, case)`` over rows of ``case_table``."""
    relation = _BY_NAME[name]
    if person.role not in relation.roles:
        return false()
    if relation.case_column is None or relation.person_attribute is None:
        return true()
    mine = getattr(person, relation.person_attribute)
    if mine is None:
        return false()
    column: ColumnElement[Any] = case_table.c[relation.case_column]
    clause: ColumnElement[bool] = column == mine
    return clause


def holds_any(person: Person, case: CaseShape | None, names: Iterable[str]) -> bool:
    return bool(relations(person, case) & frozenset(names))


def any_clause(person: Person, case_table: Table, names: Iterable[str]) -> ColumnElement[bool]:
    return or_(false(), *(relation_clause(name, person, case_table) for name in names))


def may_see_case(person: Person, case: CaseShape) -> bool:
    """Whether a person knows this case exists through their normal work."""
    return holds_any(person, case, SEE_CASE_THROUGH)


def visible_clause(person: Person, case_table: Table) -> ColumnElement[bool]:
    """SQL: the cases a person knows exist through their normal work (``may_see_case`` for many)."""
    return any_clause(person, case_table, SEE_CASE_THROUGH)


def break_glass_clause(person: Person, case_table: Table, glass_table: Table, now: datetime) -> ColumnElement[bool]:
    """SQL: the person's own break-glass on the case is open at ``now`` (only roles that may break glass)."""
    if person.role not in BREAK_GLASS_ROLES:
        return false()
    return exists().where(glass_table.c.case_id == case_table.c.id, glass_table.c.staff_id == person.id,
                          glass_table.c.ended_at.is_(None), glass_table.c.expires_at > now)


def visible_or_glass_clause(person: Person, case_table: Table, glass_table: Table,
                            now: datetime | None) -> ColumnElement[bool]:
    """SQL: cases the person may see, through normal work or (given ``now``) their own open break-glass."""
    normal = visible_clause(person, case_table)
    if now is None:
        return normal
    return or_(normal, break_glass_clause(person, case_table, glass_table, now))


def may_manage(person: Person, case: CaseShape, *, through_break_glass: bool) -> bool:
    """Close the case or choose its deputy; never on the strength of break-glass, which is for reading."""
    return not through_break_glass and holds_any(person, case, MANAGE_CASE_THROUGH)


def may_record_outcome(person: Person, case: CaseShape, *, through_break_glass: bool) -> bool:
    return not through_break_glass and holds_any(person, case, RECORD_OUTCOME_THROUGH)


def holders_clause(name: str, case: CaseShape | None, staff_table: Table) -> ColumnElement[bool]:
    """SQL over staff: who holds relation ``name`` to ``case`` — the same table read the other way round,
    so the people an alert names are exactly the people ``relations()`` would grant."""
    relation = _BY_NAME[name]
    role_matches: ColumnElement[bool] = staff_table.c.role.in_(sorted(relation.roles))
    if relation.case_column is None or relation.person_attribute is None:
        return role_matches
    theirs = getattr(case, relation.case_column) if case is not None else None
    if theirs is None:
        return false()
    column: ColumnElement[Any] = staff_table.c[relation.person_attribute]
    matches: ColumnElement[bool] = column == theirs
    return role_matches & matches
