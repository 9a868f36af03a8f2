"""De-identified contributions to insight: written when a consenting person sends (intake calls
``contribute_many`` in the submission's transaction), or at the latest when retention erases the
answers they came from — at most once per submission (``insight_contributed``).

Only for a class the policy marks ``insight = "aggregate"``, only for a person
whose consent (as it stands now: they may have changed it) includes
``share_insight``, and only answers that are one of the question's own options
or ratings — never free text, never anything a person typed. What is kept:
service, month, question id, answer. No submission id, no case, no time finer
than the month, and rows stored in random order (see the table), so a
contribution cannot be traced back to a person.

The answers are opened for this like any other read: one access decision per
field class (purpose ``insight``, by the retention process), then
``open_field``, and an audit event with the count — never the values.

Two steps, so that the retention purge can do the slow one outside the write
lock: ``prepare_contributions`` only reads (eligibility, decisions, opening,
the rows and audit events to write) and ``store_contributions`` only writes.
``contribute_many`` does both in the caller's transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, insert, select

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.actions import Action
from casefeedback.crypto.envelope import IntegrityFailure, SealedField, WrappedDataKey, open_field
from casefeedback.crypto.keyring import Keyring
from casefeedback.insight.counts import CountKey, add_counts
from casefeedback.policy.decisions import AccessGrant, Actor, CaseFacts, decide
from casefeedback.policy.model import PolicySet, Question, ServicePolicy
from casefeedback.storage.tables import (
    answers,
    cases,
    consent_receipts,
    data_keys,
    insight_contributed,
    insight_contributions,
    submissions,
)

RETENTION_ACTOR = Actor(id="retention", role="retention")
INSIGHT_KINDS = ("choice", "multi_choice", "rating")
# The consent choice (policies/README.md) without which nothing of a submission is counted.
SHARE_INSIGHT_CHOICE = "share_insight"


@dataclass(frozen=True)
class InsightSource:
    """What erasure needs to keep de-identified contributions: the policies and the keys to open answers."""

    policies: PolicySet
    keyring: Keyring


@dataclass(frozen=True)
class Contribution:
    """One submission's contribution, opened and de-identified, ready to store.

    ``rows`` per field class: (service, team, month, question, answer) — the team
    is counted (never stored), so insight can be seen per team. ``events``: the
    access decision for each class opened, to append when this is stored — or,
    if it is dropped after all, with nothing kept (see ``dropped``), because the
    answers were opened either way.
    """

    submission_id: str
    rows: Mapping[str, tuple[CountKey, ...]]
    events: Mapping[str, AuditEvent]
    kept: bool = True
    dropped_because: Mapping[str, str] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(r) for r in self.rows.values()) if self.kept else 0

    def only(self, field_classes: Collection[str], reason: str) -> Contribution:
        """Keep only these classes' rows; the others are dropped with ``reason``."""
        gone = {c: reason for c in self.rows if c not in field_classes}
        return replace(self, rows={c: r for c, r in self.rows.items() if c in field_classes},
                       dropped_because={**self.dropped_because, **gone})

    def dropped(self, reason: str) -> Contribution:
        """Nothing of it is stored (not even that it contributed): only the audit of the opening."""
        return replace(self, kept=False, dropped_because={c: reason for c in self.events})

    def audit_events(self) -> list[AuditEvent]:
        found = []
        for field_class, event in self.events.items():
            reason = self.dropped_because.get(field_class)
            if reason is not None and event.action == Action.FIELD_OPEN:
                event = replace(event, detail={**event.detail, "contributions": 0, "dropped": reason})
            found.append(event)
        return found


def contribute(connection: Connection, audit: AuditLog, source: InsightSource, submission_id: str,
               field_classes: Collection[str]) -> int:
    """Write the contributions of these classes of one submission, before their keys go. Returns rows written."""
    return contribute_many(connection, audit, source, {submission_id: field_classes}).get(submission_id, 0)


def contribute_many(connection: Connection, audit: AuditLog, source: InsightSource,
                    wanted: Mapping[str, Collection[str]]) -> dict[str, int]:
    """``contribute`` for many submissions at once, in the caller's write transaction; {submission id: rows}."""
    return store_contributions(connection, audit, prepare_contributions(connection, source, wanted).values())


def prepare_contributions(connection: Connection, source: InsightSource,
                          wanted: Mapping[str, Collection[str]]) -> dict[str, Contribution]:
    """Decide, open and de-identify, reading only: {submission id: what to store}, for eligible submissions."""
    eligible = _eligible(connection, source, wanted)
    if not eligible:
        return {}
    cases_by_id = _cases(connection, {sub.case_id for sub, _policy, _classes in eligible.values() if sub.case_id})
    rows = _answers(connection, {sid: classes for sid, (_s, _p, classes) in eligible.items()})
    prepared: dict[str, Contribution] = {}
    for submission_id, (sub, policy, classes) in eligible.items():
        month = sub.submitted_at.strftime("%Y-%m")
        case = cases_by_id.get(sub.case_id)
        team = case.team_id if case is not None and case.team_id else ""
        by_class: dict[str, tuple[CountKey, ...]] = {}
        events: dict[str, AuditEvent] = {}
        for field_class in classes:
            values, events[field_class] = _open_class(source, policy, case, submission_id, field_class,
                                                      rows.get((submission_id, field_class), []))
            by_class[field_class] = tuple((policy.id, team, month, q, a) for q, a in values)
        prepared[submission_id] = Contribution(submission_id, by_class, events)
    return prepared


def store_contributions(connection: Connection, audit: AuditLog,
                        prepared: Iterable[Contribution]) -> dict[str, int]:
    """Write prepared contributions in the caller's write transaction; {submission id: rows written}.

    The caller makes sure none of the kept ones has contributed already (``contributed``):
    ``insight_contributed`` refuses a second time.
    """
    prepared = list(prepared)
    kept = [p for p in prepared if p.kept]
    if kept:
        # At most once per submission, whichever comes first: sending or retention.
        connection.execute(insert(insight_contributed), [{"submission_id": p.submission_id} for p in kept])
    counted = [row for p in kept for rows in p.rows.values() for row in rows]
    if counted:
        connection.execute(insert(insight_contributions), [
            {"id": str(uuid.uuid4()), "service_id": s, "month": m, "question_id": q, "answer": a}
            for s, _team, m, q, a in counted])
        # Keep the pre-aggregated counts in step, in this same transaction: no page view counts live.
        add_counts(connection, counted)
    audit.append_many(connection, [event for p in prepared for event in p.audit_events()])
    return {p.submission_id: p.count for p in kept}


def contributed(connection: Connection, submission_ids: Collection[str]) -> set[str]:
    """Which of these submissions have contributed already."""
    if not submission_ids:
        return set()
    return set(connection.execute(select(insight_contributed.c.submission_id).where(
        insight_contributed.c.submission_id.in_(list(submission_ids)))).scalars())


def insight_classes(policy: ServicePolicy, field_classes: Collection[str]) -> list[str]:
    """Those of ``field_classes`` the policy lets become insight, sorted."""
    return [c for c in sorted(set(field_classes))
            if c in policy.classes and policy.classes[c].insight == "aggregate"]


def _eligible(connection: Connection, source: InsightSource,
              wanted: Mapping[str, Collection[str]]) -> dict[str, tuple[Any, ServicePolicy, list[str]]]:
    """Active submissions whose person consents to share_insight now, with their aggregate classes."""
    found: dict[str, tuple[Any, ServicePolicy, list[str]]] = {}
    done = contributed(connection, list(wanted))
    ids = [sid for sid in wanted if sid not in done]
    for start in range(0, len(ids), 500):
        subs = connection.execute(
            select(submissions.c.id, submissions.c.service_id, submissions.c.case_id, submissions.c.submitted_at,
                   submissions.c.status, consent_receipts.c.choices)
            .join(consent_receipts, consent_receipts.c.submission_id == submissions.c.id)
            .where(submissions.c.id.in_(ids[start:start + 500]))).all()
        for sub in subs:
            policy = source.policies.service(sub.service_id)
            if policy is None or sub.status != "active" or not shares_insight(sub.choices):
                continue
            classes = insight_classes(policy, wanted[sub.id])
            if classes:
                found[sub.id] = (sub, policy, classes)
    return found


def shares_insight(choices: object) -> bool:
    """Whether stored consent choices (JSON text) include share_insight."""
    try:
        return isinstance(choices, str) and json.loads(choices).get(SHARE_INSIGHT_CHOICE) is True
    except (ValueError, AttributeError):
        return False


def _cases(connection: Connection, case_ids: set[str]) -> dict[str, CaseFacts]:
    if not case_ids:
        return {}
    rows = connection.execute(select(cases).where(cases.c.id.in_(case_ids))).all()
    return {r.id: CaseFacts(r.id, r.owner_id, r.deputy_id, r.team_id) for r in rows}


def _answers(connection: Connection, wanted: Mapping[str, list[str]]) -> dict[tuple[str, str], list[Any]]:
    found: dict[tuple[str, str], list[Any]] = {}
    ids = list(wanted)
    for start in range(0, len(ids), 500):
        rows = connection.execute(
            select(answers, data_keys.c.kek_id, data_keys.c.wrapped)
            .join(data_keys, data_keys.c.id == answers.c.data_key_id)
            .where(answers.c.submission_id.in_(ids[start:start + 500]))).all()
        for row in rows:
            if row.field_class in wanted[row.submission_id]:
                found.setdefault((row.submission_id, row.field_class), []).append(row)
    return found


def _open_class(source: InsightSource, policy: ServicePolicy, case: CaseFacts | None, submission_id: str,
                field_class: str, rows: list[Any]) -> tuple[list[tuple[str, str]], AuditEvent]:
    """Decide, open and keep only option values; the audit event says how many, never which."""
    decision = decide(policy, RETENTION_ACTOR, case, submission_id, field_class, "insight")
    event: dict[str, Any] = {"actor_id": RETENTION_ACTOR.id, "actor_role": RETENTION_ACTOR.role,
                             "object_type": "submission", "object_id": submission_id,
                             "field_class": field_class, "purpose": "insight"}
    if not isinstance(decision, AccessGrant):
        return [], AuditEvent(action=Action.FIELD_WITHHOLD, outcome="denied", **event,
                              detail={"reason": decision.reason})
    values: list[tuple[str, str]] = []
    failures = 0
    for row in rows:
        question = policy.question(row.question_id)
        if question is None or question.kind not in INSIGHT_KINDS:
            continue  # free text (or a question no longer asked) never becomes insight
        key = WrappedDataKey(row.data_key_id, submission_id, field_class, row.kek_id, row.wrapped)
        sealed = SealedField("answers", row.id, row.question_id, field_class, row.data_key_id, row.ciphertext)
        try:
            opened = json.loads(open_field(decision, source.keyring, key, sealed))
        except (IntegrityFailure, ValueError):
            failures += 1
            continue
        values.extend((question.id, answer) for answer in _options(question, opened))
    return values, AuditEvent(action=Action.FIELD_OPEN, outcome="allowed", **event,
                              detail={"reason": decision.reason, "fields": len(rows),
                                      "contributions": len(values), "unreadable": failures})


def _options(question: Question, opened: object) -> list[str]:
    """Only the question's own option ids (or scale points): anything else is dropped, never kept."""
    given = opened if isinstance(opened, list) else [opened]
    allowed = set(question.option_ids())
    return [value for value in given if isinstance(value, str) and value in allowed]
