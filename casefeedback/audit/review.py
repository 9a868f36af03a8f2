"""The auditor's view of the log: search, a case's access history, flags, the rows an export holds.

Auditors see audit rows and nothing else. The rows hold who, what, when, why
and ids — never content — so nothing here opens a field or reads an answer.

Flags:

* ``break_glass`` — a break-glass opening, or a field read through one;
* ``outside_hours`` — a field read outside the working hours the organisation
  policy declares (``[working_hours]``: days, hours and time zone; by default
  Monday to Friday, 08:00–18:00, Europe/London). Worked out when the log is
  read, never stored, so a changed policy re-judges old events too;
* ``many_cases`` — the reader opened fields of ``BURST_CASES`` or more
  different cases within ``BURST_WINDOW``;
* ``not_assigned`` — a field read by someone who is neither the case's owner
  nor its deputy (as the case stands now).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, or_, select

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth.sessions import StaffMember
from casefeedback.policy.model import WorkingHours
from casefeedback.services import Services
from casefeedback.storage.dialect import json_field
from casefeedback.storage.engine import write
from casefeedback.storage.tables import api_clients, audit_events, cases, staff, submissions

BURST_CASES = 5
BURST_WINDOW = timedelta(minutes=10)
READ_ACTIONS = (Action.FIELD_OPEN,)
FLAGS = {"break_glass": "Break-glass", "outside_hours": "Read outside working hours",
         "many_cases": f"Opened {BURST_CASES}+ cases within {int(BURST_WINDOW.total_seconds() // 60)} minutes",
         "not_assigned": "Read a case not assigned to them"}
COLUMNS = ("seq", "at", "actor_id", "actor_username", "actor_role", "action", "object_type", "object_id",
           "field_class", "purpose", "outcome", "case_id", "flags", "detail", "mac")
MAX_EXPORT = 1_000_000


@dataclass(frozen=True)
class Filters:
    staff: str | None = None  # a username or a staff id
    case_id: str | None = None
    action: str | None = None  # exact, or a prefix ending in "." ("field.")
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    flagged_only: bool = False

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in (("staff", self.staff), ("case", self.case_id), ("action", self.action),
                                         ("since", self.since), ("until", self.until)) if v]
        return ", ".join(parts + (["flagged only"] if self.flagged_only else [])) or "everything"


@dataclass
class ReviewRow:
    seq: int
    at: str
    actor_id: str | None
    actor_username: str | None
    actor_role: str | None
    action: str
    object_type: str | None
    object_id: str | None
    field_class: str | None
    purpose: str | None
    outcome: str
    detail: str
    mac: str
    case_id: str | None = None
    flags: list[str] = field(default_factory=list)
    # The reference staff know the case by, for people reading the page (exports keep the id).
    case_reference: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {name: (";".join(self.flags) if name == "flags" else getattr(self, name)) for name in COLUMNS}

    def detail_lines(self) -> list[tuple[str, str]]:
        """The detail (counts, reasons, ids) as key/value pairs for people to read, nested keys dotted."""
        try:
            loaded = json.loads(self.detail)
        except ValueError:
            return [("detail", self.detail)] if self.detail else []
        if not isinstance(loaded, dict):
            return [] if loaded is None else [("detail", _plain(loaded))]
        return _lines(loaded, "")


def _lines(detail: dict[str, Any], prefix: str) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for key, value in detail.items():
        if isinstance(value, dict) and value:
            lines += _lines(value, f"{prefix}{key}.")
        else:
            lines.append((f"{prefix}{key}", _plain(value)))
    return lines


def _plain(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value) or "none"
    if isinstance(value, dict):
        return "none"  # an empty mapping; a full one is spread over lines
    return str(value)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _case_clause(connection: Connection, case_id: str) -> ColumnElement[bool]:
    subs = list(connection.execute(select(submissions.c.id).where(submissions.c.case_id == case_id)).scalars())
    clauses = [audit_events.c.object_id == case_id, json_field(audit_events.c.detail, "case") == case_id]
    if subs:
        clauses += [audit_events.c.object_id.in_(subs), json_field(audit_events.c.detail, "submission").in_(subs)]
    return or_(*clauses)


def match_clauses(connection: Connection, filters: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.staff:
        ids = list(connection.execute(select(staff.c.id).where(or_(staff.c.username == filters.staff,
                                                                     staff.c.id == filters.staff))).scalars())
        where.append(audit_events.c.actor_id.in_(ids or [filters.staff]))
    if filters.case_id:
        # Staff know a case by its reference (VS-2026-0001); the log names it by id. Either finds it.
        by_reference = connection.execute(select(cases.c.id).where(cases.c.reference == filters.case_id)).scalar()
        where.append(_case_clause(connection, by_reference or filters.case_id))
    if filters.action:
        where.append(audit_events.c.action.startswith(filters.action) if filters.action.endswith(".")
                     else audit_events.c.action == filters.action)
    if filters.since:
        where.append(audit_events.c.at >= timestamp(filters.since))
    if filters.until:
        where.append(audit_events.c.at < timestamp(filters.until))
    return where


def case_history(found: Services, auditor: StaffMember, case_id: str) -> list[ReviewRow]:
    """A case's history for an auditor; looking is itself audited (who watched whom is evidence too)."""
    with write(found.engine) as connection:
        rows = history(connection, case_id, found.policies.organisation.working_hours)
        found.audit.append(connection, AuditEvent(
            action=Action.AUDIT_CASE_HISTORY, outcome="viewed", actor_id=auditor.id, actor_role=auditor.role,
            object_type="case", object_id=case_id, detail={"events": len(rows)}))
    return rows


def history(connection: Connection, case_id: str, hours: WorkingHours) -> list[ReviewRow]:
    """Every event touching a case, its submissions and their fields, oldest first."""
    rows = review_rows(connection.execute(select(audit_events).where(_case_clause(connection, case_id))
                                    .order_by(audit_events.c.seq)))
    flag(connection, rows, hours)
    return rows


def review_rows(result: Iterable[Any]) -> list[ReviewRow]:
    return [ReviewRow(r.seq, r.at, r.actor_id, None, r.actor_role, r.action, r.object_type, r.object_id,
                      r.field_class, r.purpose, r.outcome, r.detail, r.mac) for r in result]


def _detail(row: ReviewRow) -> dict[str, Any]:
    try:
        loaded = json.loads(row.detail)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def flag(connection: Connection, rows: Sequence[ReviewRow], hours: WorkingHours) -> None:
    """Fill in each row's case, staff username and flags; ``hours`` from the organisation policy."""
    _link_cases(connection, rows)
    names = {row[0]: row[1] for row in connection.execute(
        select(staff.c.id, staff.c.username).where(staff.c.id.in_({r.actor_id for r in rows if r.actor_id})))}
    # An API client acts under its registered name ("API client" is its role label).
    names |= {row[0]: row[1] for row in connection.execute(select(api_clients.c.id, api_clients.c.name).where(
        api_clients.c.id.in_({r.actor_id for r in rows if r.actor_id and r.actor_role == "api_client"})))}
    found_cases = connection.execute(select(cases.c.id, cases.c.owner_id, cases.c.deputy_id, cases.c.reference)
                                     .where(cases.c.id.in_({r.case_id for r in rows if r.case_id}))).all()
    assignments = {r.id: (r.owner_id, r.deputy_id) for r in found_cases}
    references = {r.id: r.reference for r in found_cases}
    bursts = _bursts(connection, [r for r in rows if _is_read(r)])
    for row in rows:
        row.actor_username = names.get(row.actor_id or "")
        row.case_reference = references.get(row.case_id or "")
        detail = _detail(row)
        if row.action.startswith("break_glass.") or detail.get("break_glass") is True:
            row.flags.append("break_glass")
        if not _is_read(row):
            continue
        if not hours.includes(_moment(row.at)):
            row.flags.append("outside_hours")
        if row.seq in bursts:
            row.flags.append("many_cases")
        assigned = assignments.get(row.case_id or "")
        if assigned is not None and row.actor_id not in assigned:
            row.flags.append("not_assigned")


def _is_read(row: ReviewRow) -> bool:
    return row.action in READ_ACTIONS and row.outcome == "allowed" and row.actor_role not in (None, "retention")


def _link_cases(connection: Connection, rows: Sequence[ReviewRow]) -> None:
    wanted: set[str] = set()
    for row in rows:
        detail = _detail(row)
        if row.object_type == "case":
            row.case_id = row.object_id
        elif isinstance(detail.get("case"), str):
            row.case_id = detail["case"]
        else:
            sub = detail.get("submission") if isinstance(detail.get("submission"), str) else (
                row.object_id if row.object_type == "submission" else None)
            if sub:
                wanted.add(sub)
    if not wanted:
        return
    by_submission = {row[0]: row[1] for row in connection.execute(
        select(submissions.c.id, submissions.c.case_id).where(submissions.c.id.in_(wanted)))}
    for row in rows:
        if row.case_id is None:
            detail = _detail(row)
            sub = detail.get("submission") if isinstance(detail.get("submission"), str) else row.object_id
            row.case_id = by_submission.get(sub or "")


def _moment(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def _bursts(connection: Connection, reads: Sequence[ReviewRow]) -> set[int]:
    """Seqs of reads that complete a run of BURST_CASES different cases by one reader within BURST_WINDOW."""
    if not reads:
        return set()
    start = min(r.at for r in reads)
    since = timestamp(datetime.fromisoformat(start.replace("Z", "+00:00")) - BURST_WINDOW)
    until = max(r.at for r in reads)
    around = review_rows(connection.execute(select(audit_events).where(
        audit_events.c.action.in_(READ_ACTIONS), audit_events.c.outcome == "allowed",
        audit_events.c.actor_id.in_({r.actor_id for r in reads}), audit_events.c.at >= since,
        audit_events.c.at <= until).order_by(audit_events.c.seq)))
    _link_cases(connection, around)
    flagged: set[int] = set()
    by_actor: dict[str | None, list[ReviewRow]] = defaultdict(list)
    for row in around:
        by_actor[row.actor_id].append(row)
    for actor_rows in by_actor.values():
        window: list[tuple[datetime, str]] = []
        for row in actor_rows:
            moment = datetime.fromisoformat(row.at.replace("Z", "+00:00"))
            window = [(t, c) for t, c in window if moment - t <= BURST_WINDOW]
            if row.case_id:
                window.append((moment, row.case_id))
            if len({c for _, c in window}) >= BURST_CASES:
                flagged.add(row.seq)
    return flagged


def export_rows(connection: Connection, filters: Filters, up_to_seq: int, hours: WorkingHours) -> list[ReviewRow]:
    where = match_clauses(connection, filters)
    rows = review_rows(connection.execute(select(audit_events).where(audit_events.c.seq <= up_to_seq, *where)
                                    .order_by(audit_events.c.seq).limit(MAX_EXPORT)))
    for start in range(0, len(rows), 5000):
        flag(connection, rows[start:start + 5000], hours)
    return [r for r in rows if r.flags] if filters.flagged_only else rows
