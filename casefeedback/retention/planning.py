"""What a retention purge would erase: which (submission, field class) data keys are due, and which are held.

Read only. ``plan`` is the dry run; the purge itself (``purge.py``) starts from
the same facts, read outside any write transaction, and checks them again
inside each of its short write transactions.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, exists, false, func, or_, select

from casefeedback.retention.schedule import Events, effective_retention, is_due
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import (
    answers,
    cases,
    consent_receipts,
    data_keys,
    legal_holds,
    policy_versions,
    purge_runs,
    submissions,
)

Key = tuple[str, str]  # (service, field class)


class PurgeRefused(Exception):
    """This purge must not run as asked; the message says why and what to do instead."""


@dataclass
class PurgeReport:
    as_of: datetime
    dry_run: bool
    # (service, class) -> [data keys, fields]
    counts: dict[Key, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    held: dict[Key, int] = field(default_factory=lambda: defaultdict(int))
    held_cases: set[str] = field(default_factory=set)
    submissions: int = 0
    contributions: int = 0
    drafts: int | None = None
    outcomes: int = 0
    warnings: list[str] = field(default_factory=list)
    # How the purge went about it (not audited): ciphertext rows removed after the keys,
    # and the write lock's hold times of its transactions (see pacing.Pacer.summary).
    ciphertext_removed: int = 0
    lock: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # by step: plan, shred, sweep

    @property
    def data_keys(self) -> int:
        return sum(c[0] for c in self.counts.values())

    @property
    def fields(self) -> int:
        return sum(c[1] for c in self.counts.values())

    def by_class_text(self) -> str:
        return ",".join(f"{s}/{c}={k}:{f}" for (s, c), (k, f) in sorted(self.counts.items()))


@dataclass(frozen=True)
class Fact:
    """One data key and what decides whether it is due."""

    key_id: str
    submission_id: str
    field_class: str
    service_id: str
    events: Events
    held: bool
    case_id: str | None


def held_now() -> Any:
    """Whether the submission's case is on legal hold (a column expression)."""
    return exists().where(legal_holds.c.case_id == submissions.c.case_id, legal_holds.c.released_at.is_(None))


def facts_query() -> Select[Any]:
    return (select(data_keys.c.id, data_keys.c.submission_id, data_keys.c.field_class, submissions.c.service_id,
                   submissions.c.submitted_at, submissions.c.case_id, cases.c.closed_at,
                   consent_receipts.c.withdrawn_at, held_now().label("held"))
            .select_from(data_keys.join(submissions, submissions.c.id == data_keys.c.submission_id)
                         .outerjoin(cases, cases.c.id == submissions.c.case_id)
                         .outerjoin(consent_receipts, consent_receipts.c.submission_id == submissions.c.id)))


def may_be_due(found: Services, as_of: datetime) -> ColumnElement[bool]:
    """A condition on ``submissions`` that holds for every submission with a class due as of ``as_of``.

    Most of what is stored is nowhere near its time (two years' feedback, a
    purge a day), and reading every data key of it to decide so, each purge, is
    most of the purge's work. This passes over, unread, what cannot be due yet,
    by the same rule as ``is_fact_due``: a class whose effective retention
    (``schedule.effective_retention``, with a case and without) counts from
    sending is due no sooner than the least its keep can be after sending
    (``Duration.least``); from its case's closing, the least after closing;
    from withdrawal, once consent is withdrawn; from nothing, never. Taken over
    every class of every loaded policy, so it lets through more than is due,
    never less (tests/retention/test_may_be_due.py); what it lets through is
    then decided exactly, fact by fact.
    """
    least: dict[str, timedelta] = {}  # per event a class can count from: the least any keep after it can be
    for policy in found.policies.services.values():
        for declared in policy.classes.values():
            for linked_to_case in (False, True):
                rule = effective_retention(declared.retention, linked_to_case)
                if rule.after is not None:
                    least[rule.after] = min(least.get(rule.after, rule.keep.least()), rule.keep.least())
    # EXISTS rather than joins: a submission is walked once, whatever else is stored beside it.
    parts: list[ColumnElement[bool]] = []
    if "submitted" in least:
        parts.append(submissions.c.submitted_at <= as_of - least["submitted"])
    if "case_closed" in least:
        parts.append(exists().where(cases.c.id == submissions.c.case_id,
                                    cases.c.closed_at <= as_of - least["case_closed"]))
    if "consent_withdrawn" in least:  # (its keep is nothing: erased when withdrawn)
        parts.append(exists().where(consent_receipts.c.submission_id == submissions.c.id,
                                    consent_receipts.c.withdrawn_at.is_not(None)))
    return or_(*parts) if parts else false()


def fact_of(row: Any) -> Fact:
    return Fact(row.id, row.submission_id, row.field_class, row.service_id,
                Events(row.submitted_at, row.case_id is not None, row.closed_at, row.withdrawn_at),
                bool(row.held), row.case_id)


def facts(connection: Connection, submission_ids: Sequence[str] | None = None) -> Iterator[Fact]:
    query = facts_query()
    if submission_ids is not None:
        query = query.where(data_keys.c.submission_id.in_(list(submission_ids)))
    for row in connection.execution_options(yield_per=5000).execute(query):
        yield fact_of(row)


def is_fact_due(found: Services, fact: Fact, as_of: datetime, warnings: set[str]) -> bool:
    policy = found.policies.service(fact.service_id)
    declared = policy.classes.get(fact.field_class) if policy else None
    if declared is None:
        warnings.add(undeclared_warning(fact.service_id, fact.field_class))
        return False
    return is_due(declared.retention, fact.events, as_of)


def undeclared_warning(service_id: str, field_class: str) -> str:
    return (f"{service_id}/{field_class}: no longer declared by a loaded policy, so kept until the policy "
            "declares it again (or consent is withdrawn)")


def undeclared_warnings(found: Services, connection: Connection) -> set[str]:
    """The warning for every class an earlier policy version declared, the loaded policy does not, and that
    still has data keys stored: none of them is ever due, whenever it was sent.

    The purge walks only what may be due (``may_be_due``), so it would meet such a
    key, and warn, only on feedback old enough; an administrator must hear of a
    class left without a rule the day the policy drops it. Every policy text
    feedback was sent under is kept (``policy_versions``), so the classes that
    could have keys are known without reading any: only a class the loaded
    policy has dropped is looked for, and the look stops at the first key.
    """
    found_warnings: set[str] = set()
    looked: set[tuple[str, str]] = set()
    for service_id, document in connection.execute(select(policy_versions.c.service_id,
                                                          policy_versions.c.document)):
        try:
            declared_then = tomllib.loads(document).get("classes", {})
        except tomllib.TOMLDecodeError:
            continue  # recorded only after loading, so never; a text that will not parse declares nothing here
        policy = found.policies.service(service_id)
        for field_class in declared_then:
            if (policy is not None and field_class in policy.classes) or (service_id, field_class) in looked:
                continue
            looked.add((service_id, field_class))
            stored = connection.execute(
                select(data_keys.c.id).select_from(data_keys.join(submissions,
                                                                  submissions.c.id == data_keys.c.submission_id))
                .where(submissions.c.service_id == service_id, data_keys.c.field_class == field_class)
                .limit(1)).first()
            if stored is not None:
                found_warnings.add(undeclared_warning(service_id, field_class))
    return found_warnings


def last_purge_as_of(connection: Connection) -> datetime | None:
    found: datetime | None = connection.execute(select(func.max(purge_runs.c.as_of))).scalar()
    return found


def check_as_of(found: Services, as_of: datetime, *, dry_run: bool) -> None:
    now = found.clock()
    if as_of > now and not dry_run:
        raise PurgeRefused(f"--as-of {iso(as_of)} is in the future (it is now {iso(now)}): purging as of it "
                           "would erase answers before their time. Use --dry-run to see what will go then.")
    with read(found.engine) as connection:
        last = last_purge_as_of(connection)
    if last is not None and as_of < last:
        raise PurgeRefused(f"--as-of {iso(as_of)} is before the last purge, which ran as of {iso(last)}: "
                           "what was due then is already erased, so a purge as of an earlier moment would "
                           "report the wrong thing. Give a moment on or after it, or leave --as-of out.")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def draft_warnings(found: Services) -> list[str]:
    return [f"{p.id}/{c.id}: counts from draft_abandoned, which sent feedback never has: its answers are kept "
            "until consent is withdrawn" for p in found.policies.services.values() for c in p.classes.values()
            if c.retention.after == "draft_abandoned"]


def due_facts(found: Services, connection: Connection, as_of: datetime, report: PurgeReport,
              warnings: set[str], submission_ids: Sequence[str] | None = None) -> list[Fact]:
    """Every key due as of ``as_of`` and not on legal hold; those held back are counted in ``report``."""
    due = []
    for fact in facts(connection, submission_ids):
        if not is_fact_due(found, fact, as_of, warnings):
            continue
        if fact.held:
            count_held(report, fact)
            continue
        due.append(fact)
    return due


def count_held(report: PurgeReport, fact: Fact) -> None:
    report.held[(fact.service_id, fact.field_class)] += 1
    report.held_cases.add(str(fact.case_id))


def plan(found: Services, as_of: datetime) -> PurgeReport:
    """What a purge as of ``as_of`` would erase, counted; changes nothing."""
    report = PurgeReport(as_of, dry_run=True)
    warnings: set[str] = set()
    with read(found.engine) as connection:
        due = due_facts(found, connection, as_of, report, warnings)
        fields = field_counts(connection, due)
    for fact in due:
        report.counts[(fact.service_id, fact.field_class)][0] += 1
        report.counts[(fact.service_id, fact.field_class)][1] += fields.get(fact.key_id, 0)
    report.submissions = len({fact.submission_id for fact in due})
    report.warnings = sorted(warnings) + draft_warnings(found)
    return report


def answers_under_key() -> Any:
    """The answers sealed under the row's data key (a column for a query over ``data_keys``): what
    ``field_counts`` gives for facts already read, counted in the statement that reads them."""
    return (select(func.count()).select_from(answers).where(answers.c.data_key_id == data_keys.c.id)
            .scalar_subquery().label("answers"))


def field_counts(connection: Connection, keys: Sequence[Fact]) -> dict[str, int]:
    """{data key id: answers sealed under it}."""
    counts: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        rows = connection.execute(select(answers.c.data_key_id, func.count())
                                  .where(answers.c.submission_id.in_({k.submission_id for k in chunk}),
                                         answers.c.data_key_id.in_([k.key_id for k in chunk]))
                                  .group_by(answers.c.data_key_id))
        counts.update({row[0]: int(row[1]) for row in rows})
    return counts
