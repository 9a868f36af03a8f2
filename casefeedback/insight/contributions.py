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
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.actions import Action
from casefeedback.crypto.envelope import IntegrityFailure, SealedField, WrappedDataKey, open_field
from casefeedback.crypto.keyring import Keyring
from casefeedback.insight.counts import add_counts
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


def contribute(connection: Connection, audit: AuditLog, source: InsightSource, submission_id: str,
               field_classes: Collection[str]) -> int:
    """Write the contributions of these classes of one submission, before their keys go. Returns rows written."""
    return contribute_many(connection, audit, source, {submission_id: field_classes}).get(submission_id, 0)


def contribute_many(connection: Connection, audit: AuditLog, source: InsightSource,
                    wanted: Mapping[str, Collection[str]]) -> dict[str, int]:
    """``contribute`` for many submissions at once; {submission id: rows written}."""
    eligible = _eligible(connection, source, wanted)
    if not eligible:
        return {}
    # At most once per submission, whichever comes first: sending or retention.
    connection.execute(insert(insight_contributed), [{"submission_id": sid} for sid in eligible])
    cases_by_id = _cases(connection, {sub.case_id for sub, _policy, _classes in eligible.values() if sub.case_id})
    rows = _answers(connection, {sid: classes for sid, (_s, _p, classes) in eligible.items()})
    written: dict[str, int] = {}
    inserts: list[dict[str, str]] = []
    teams: list[str] = []  # the case's team per row: counted (never stored), so insight can be seen per team
    events: list[AuditEvent] = []
    for submission_id, (sub, policy, classes) in eligible.items():
        month = sub.submitted_at.strftime("%Y-%m")
        for field_class in classes:
            values, event = _open_class(source, policy, cases_by_id.get(sub.case_id), submission_id, field_class,
                                        rows.get((submission_id, field_class), []))
            events.append(event)
            inserts += [{"id": str(uuid.uuid4()), "service_id": policy.id, "month": month, "question_id": q,
                         "answer": a} for q, a in values]
            case = cases_by_id.get(sub.case_id)
            teams += [case.team_id if case is not None and case.team_id else ""] * len(values)
            written[submission_id] = written.get(submission_id, 0) + len(values)
    if inserts:
        connection.execute(insert(insight_contributions), inserts)
        # Keep the pre-aggregated counts in step, in this same transaction: no page view counts live.
        add_counts(connection, [(r["service_id"], team, r["month"], r["question_id"], r["answer"])
                                for r, team in zip(inserts, teams, strict=True)])
    audit.append_many(connection, events)
    return written


def _eligible(connection: Connection, source: InsightSource,
              wanted: Mapping[str, Collection[str]]) -> dict[str, tuple[Any, ServicePolicy, list[str]]]:
    """Active submissions whose person consents to share_insight now, with their aggregate classes."""
    found: dict[str, tuple[Any, ServicePolicy, list[str]]] = {}
    done = set(connection.execute(select(insight_contributed.c.submission_id).where(
        insight_contributed.c.submission_id.in_(list(wanted)))).scalars()) if wanted else set()
    ids = [sid for sid in wanted if sid not in done]
    for start in range(0, len(ids), 500):
        subs = connection.execute(
            select(submissions.c.id, submissions.c.service_id, submissions.c.case_id, submissions.c.submitted_at,
                   submissions.c.status, consent_receipts.c.choices)
            .join(consent_receipts, consent_receipts.c.submission_id == submissions.c.id)
            .where(submissions.c.id.in_(ids[start:start + 500]))).all()
        for sub in subs:
            policy = source.policies.service(sub.service_id)
            if policy is None or sub.status != "active" or not _shares_insight(sub.choices):
                continue
            classes = [c for c in sorted(set(wanted[sub.id]))
                       if c in policy.classes and policy.classes[c].insight == "aggregate"]
            if classes:
                found[sub.id] = (sub, policy, classes)
    return found


def _shares_insight(choices: object) -> bool:
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
