"""The retention purge: erase every (submission, field class) whose time has come, and nothing else.

A purge reads which data keys are due (``schedule.py``), skips every case on
legal hold, and erases the rest through the one erasure path
(``erasure.erase``), a batch of submissions per transaction so that people
giving feedback meanwhile wait for one short batch at most. Each batch
re-reads the facts it acts on inside its own transaction: a case re-opened or
put on hold a moment ago is respected. Then the write-ahead log is truncated,
so old page images holding what was erased do not linger beside the database.
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Select, exists, func, insert, select, update

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.insight.contributions import InsightSource
from casefeedback.intake import drafts as intake_drafts
from casefeedback.retention.erasure import erase_many
from casefeedback.retention.outcomes import purge_outcomes
from casefeedback.retention.schedule import Events, is_due
from casefeedback.services import Services
from casefeedback.storage.dialect import truncate_wal
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import (
    answers,
    cases,
    consent_receipts,
    data_keys,
    legal_holds,
    purge_runs,
    submissions,
)

log = logging.getLogger(__name__)
BATCH_SUBMISSIONS = 25
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

    @property
    def data_keys(self) -> int:
        return sum(c[0] for c in self.counts.values())

    @property
    def fields(self) -> int:
        return sum(c[1] for c in self.counts.values())

    def by_class_text(self) -> str:
        return ",".join(f"{s}/{c}={k}:{f}" for (s, c), (k, f) in sorted(self.counts.items()))


@dataclass(frozen=True)
class _Fact:
    key_id: str
    submission_id: str
    field_class: str
    service_id: str
    events: Events
    held: bool
    case_id: str | None


def _held() -> Any:
    return exists().where(legal_holds.c.case_id == submissions.c.case_id, legal_holds.c.released_at.is_(None))


def _facts_query() -> Select[Any]:
    return (select(data_keys.c.id, data_keys.c.submission_id, data_keys.c.field_class, submissions.c.service_id,
                   submissions.c.submitted_at, submissions.c.case_id, cases.c.closed_at,
                   consent_receipts.c.withdrawn_at, _held().label("held"))
            .select_from(data_keys.join(submissions, submissions.c.id == data_keys.c.submission_id)
                         .outerjoin(cases, cases.c.id == submissions.c.case_id)
                         .outerjoin(consent_receipts, consent_receipts.c.submission_id == submissions.c.id)))


def _facts(connection: Connection, submission_ids: Sequence[str] | None = None) -> Iterator[_Fact]:
    query = _facts_query()
    if submission_ids is not None:
        query = query.where(data_keys.c.submission_id.in_(list(submission_ids)))
    for row in connection.execution_options(yield_per=5000).execute(query):
        yield _Fact(row.id, row.submission_id, row.field_class, row.service_id,
                    Events(row.submitted_at, row.case_id is not None, row.closed_at, row.withdrawn_at),
                    bool(row.held), row.case_id)


def _due(found: Services, fact: _Fact, as_of: datetime, warnings: set[str]) -> bool:
    policy = found.policies.service(fact.service_id)
    declared = policy.classes.get(fact.field_class) if policy else None
    if declared is None:
        warnings.add(f"{fact.service_id}/{fact.field_class}: no longer declared by a loaded policy, so kept "
                     "until the policy declares it again (or consent is withdrawn)")
        return False
    return is_due(declared.retention, fact.events, as_of)


def last_purge_as_of(connection: Connection) -> datetime | None:
    found: datetime | None = connection.execute(select(func.max(purge_runs.c.as_of))).scalar()
    return found


def check_as_of(found: Services, as_of: datetime, *, dry_run: bool) -> None:
    now = found.clock()
    if as_of > now and not dry_run:
        raise PurgeRefused(f"--as-of {_iso(as_of)} is in the future (it is now {_iso(now)}): purging as of it "
                           "would erase answers before their time. Use --dry-run to see what will go then.")
    with read(found.engine) as connection:
        last = last_purge_as_of(connection)
    if last is not None and as_of < last:
        raise PurgeRefused(f"--as-of {_iso(as_of)} is before the last purge, which ran as of {_iso(last)}: "
                           "what was due then is already erased, so a purge as of an earlier moment would "
                           "report the wrong thing. Give a moment on or after it, or leave --as-of out.")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def draft_warnings(found: Services) -> list[str]:
    return [f"{p.id}/{c.id}: counts from draft_abandoned, which sent feedback never has: its answers are kept "
            "until consent is withdrawn" for p in found.policies.services.values() for c in p.classes.values()
            if c.retention.after == "draft_abandoned"]


def plan(found: Services, as_of: datetime) -> PurgeReport:
    """What a purge as of ``as_of`` would erase, counted; changes nothing."""
    report = PurgeReport(as_of, dry_run=True)
    warnings: set[str] = set()
    due_keys: dict[str, Key] = {}
    located: dict[str, tuple[str, str]] = {}
    submission_ids: set[str] = set()
    with read(found.engine) as connection:
        for fact in _facts(connection):
            if not _due(found, fact, as_of, warnings):
                continue
            if fact.held:
                report.held[(fact.service_id, fact.field_class)] += 1
                report.held_cases.add(str(fact.case_id))
                continue
            due_keys[fact.key_id] = (fact.service_id, fact.field_class)
            located[fact.key_id] = (fact.submission_id, fact.field_class)
            submission_ids.add(fact.submission_id)
        fields = _field_counts(connection, located)
    for key_id, where in due_keys.items():
        report.counts[where][0] += 1
        report.counts[where][1] += fields.get(key_id, 0)
    report.submissions = len(submission_ids)
    report.warnings = sorted(warnings) + draft_warnings(found)
    return report


def _field_counts(connection: Connection, keys: dict[str, tuple[str, str]]) -> dict[str, int]:
    """{data key id: answers under it}, for keys given as {id: (submission id, class)}."""
    counts: dict[str, int] = {}
    items = list(keys.items())
    for start in range(0, len(items), 500):
        chunk = items[start:start + 500]
        rows = connection.execute(select(answers.c.data_key_id, func.count())
                                  .where(answers.c.submission_id.in_({sub for _k, (sub, _c) in chunk}),
                                         answers.c.data_key_id.in_([k for k, _ in chunk]))
                                  .group_by(answers.c.data_key_id))
        counts.update({row[0]: int(row[1]) for row in rows})
    return counts


@contextmanager
def purge_lock(database: Path) -> Iterator[None]:
    """One purge at a time per instance (the worker's and a command's would otherwise race)."""
    fd = os.open(database.with_name(database.name + "-purge.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PurgeRefused("another purge is running on this instance (the worker's, or another "
                               "`casefeedback purge`); wait for it to finish and try again") from None
        yield
    finally:
        os.close(fd)


def purge(found: Services, as_of: datetime, *, trigger: str = "command",
          progress: Callable[[int, int], None] | None = None) -> PurgeReport:
    """Erase everything due as of ``as_of`` (never later than now), batch by batch; audit the counts."""
    check_as_of(found, as_of, dry_run=False)
    with purge_lock(found.config.database_path):
        return _purge_locked(found, as_of, trigger, progress)


def _purge_locked(found: Services, as_of: datetime, trigger: str,
                  progress: Callable[[int, int], None] | None) -> PurgeReport:
    report = PurgeReport(as_of, dry_run=False)
    warnings: set[str] = set()
    run_id = str(uuid.uuid4())
    with write(found.engine) as connection:
        connection.execute(insert(purge_runs).values(id=run_id, as_of=as_of, started_at=found.clock(),
                                                     trigger=trigger, data_keys=0, fields=0))
    with read(found.engine) as connection:
        candidates = sorted({f.submission_id for f in _facts(connection)
                             if not f.held and _due(found, f, as_of, warnings)})
    source = InsightSource(found.policies, found.keyring)
    for start in range(0, len(candidates), BATCH_SUBMISSIONS):
        batch = candidates[start:start + BATCH_SUBMISSIONS]
        with write(found.engine) as connection:
            _purge_batch(found, connection, batch, as_of, source, report, warnings)
        if progress is not None:
            progress(min(start + BATCH_SUBMISSIONS, len(candidates)), len(candidates))
    report.drafts = _purge_drafts(found)
    with write(found.engine) as connection:
        report.outcomes = purge_outcomes(connection, found.audit, found.policies.organisation.outcomes.keep,
                                         as_of, found.clock())
    _held_counts(found, as_of, report, warnings)
    report.warnings = sorted(warnings) + draft_warnings(found)
    with write(found.engine) as connection:
        connection.execute(update(purge_runs).where(purge_runs.c.id == run_id).values(
            finished_at=found.clock(), data_keys=report.data_keys, fields=report.fields))
        found.audit.append(connection, AuditEvent(
            action=Action.RETENTION_PURGE, outcome="completed", actor_role=trigger, object_type="purge",
            object_id=run_id, detail={"as_of": _iso(as_of), "submissions": report.submissions,
                                      "data_keys": report.data_keys, "fields": report.fields,
                                      "contributions": report.contributions, "by_class": report.by_class_text(),
                                      "held_back": sum(report.held.values()),
                                      "drafts": report.drafts if report.drafts is not None else -1,
                                      "case_outcomes": report.outcomes}))
    if not truncate_wal(found.engine):
        log.warning("purge: the write-ahead log could not be truncated now (readers busy); "
                    "it is on the next purge or checkpoint")
    return report


def _purge_batch(found: Services, connection: Connection, batch: Sequence[str], as_of: datetime,
                 source: InsightSource, report: PurgeReport, warnings: set[str]) -> None:
    due: dict[str, tuple[str, set[str]]] = {}
    for fact in _facts(connection, batch):
        if fact.held or not _due(found, fact, as_of, warnings):
            continue
        due.setdefault(fact.submission_id, (fact.service_id, set()))[1].add(fact.field_class)
    erased = erase_many(connection, found.audit, {sid: sorted(classes) for sid, (_s, classes) in due.items()},
                        reason="retention", actor_role="retention", insight=source)
    for submission_id, (service_id, _classes) in due.items():
        done = erased[submission_id]
        report.submissions += 1
        report.contributions += done.contributions
        for field_class, (keys, fields) in done.by_class.items():
            report.counts[(service_id, field_class)][0] += keys
            report.counts[(service_id, field_class)][1] += fields


def _held_counts(found: Services, as_of: datetime, report: PurgeReport, warnings: set[str]) -> None:
    with read(found.engine) as connection:
        for fact in _facts(connection):
            if fact.held and _due(found, fact, as_of, warnings):
                report.held[(fact.service_id, fact.field_class)] += 1
                report.held_cases.add(str(fact.case_id))


def _purge_drafts(found: Services) -> int:
    """Drafts whose keep time is over: erased in the same purge run, and audited the same way."""
    with write(found.engine) as connection:
        purged = intake_drafts.purge_expired_drafts(connection, found.audit, found.clock())
    return purged

