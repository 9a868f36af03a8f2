"""The purge's middle step: plan a chunk of submissions reading only, then destroy its due data keys in
paced write transactions that each check again, cheaply, what may have changed since.

The check is per submission: whether a key is due depends only on the
submission's events (case closed, consent withdrawn), its legal hold, and the
policy, so the write transaction reads those few facts again and compares them
with what the plan saw. Unchanged (the usual case), the plan stands; changed (a
hold, a re-opened case, a withdrawal, insight consent or a contribution since),
that submission's keys are decided again from scratch, inside the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, func, select

from casefeedback.insight.contributions import (
    Contribution,
    InsightSource,
    insight_classes,
    prepare_contributions,
    shares_insight,
    store_contributions,
)
from casefeedback.policy.model import REPLY_CLASS
from casefeedback.retention import ledger
from casefeedback.retention.erasure import DoomedKey, shred
from casefeedback.retention.pacing import Pacer
from casefeedback.retention.planning import (
    Fact,
    PurgeReport,
    answers_under_key,
    count_held,
    fact_of,
    facts_query,
    held_now,
    is_fact_due,
    may_be_due,
)
from casefeedback.services import Services
from casefeedback.storage.dialect import insertion_order
from casefeedback.storage.engine import read
from casefeedback.storage.tables import cases, consent_receipts, data_keys, insight_contributed, submissions

# Submissions planned at a time (answers counted, contributions opened) before their write
# transactions: enough to keep reads efficient, few enough that a plan is seconds old at most.
PLAN_CHUNK = 500

_contributed = exists().where(insight_contributed.c.submission_id == submissions.c.id).label("contributed")
# What decides whether a submission's keys are due, and whether it may contribute to insight.
_STATE = (select(submissions.c.id, submissions.c.status, cases.c.closed_at, consent_receipts.c.withdrawn_at,
                 consent_receipts.c.choices, held_now().label("held"), _contributed)
          .select_from(submissions.outerjoin(cases, cases.c.id == submissions.c.case_id)
                       .outerjoin(consent_receipts, consent_receipts.c.submission_id == submissions.c.id))
          .where(submissions.c.id.in_(bindparam("ids", expanding=True))))
_KEY_FACTS = (facts_query().add_columns(submissions.c.status, consent_receipts.c.choices, _contributed)
              .where(data_keys.c.submission_id.in_(bindparam("ids", expanding=True))))
# The answers each key sealed counted in the same statement, not a second query over the chunk.
_PLAN_FACTS = _KEY_FACTS.add_columns(answers_under_key())


@dataclass(frozen=True)
class _State:
    status: str
    closed_at: datetime | None
    withdrawn_at: datetime | None
    choices: str | None
    held: bool
    contributed: bool


def _state_of(row: Any) -> _State:
    return _State(row.status, row.closed_at, row.withdrawn_at, row.choices, bool(row.held), bool(row.contributed))


@dataclass
class _Planned:
    """One submission as planned: its keys due (not held), and the facts that made them so."""

    service_id: str
    state: _State
    keys: list[DoomedKey]


@dataclass
class _Done:
    """What one write transaction did, applied to the report once it has committed."""

    keys: list[tuple[str, DoomedKey]] = field(default_factory=list)  # (service, key)
    contributions: Mapping[str, int] = field(default_factory=dict)
    entries: list[ledger.LedgerEntry] = field(default_factory=list)
    held: list[Fact] = field(default_factory=list)
    put_off: list[str] = field(default_factory=list)


class Shredder:
    """Plans chunk by chunk and destroys what is due, keys only; keeps what the report and the sweep need."""

    def __init__(self, found: Services, as_of: datetime, report: PurgeReport, warnings: set[str]) -> None:
        self.found, self.as_of, self.report, self.warnings = found, as_of, report, warnings
        # Submissions in the order they were stored, so each transaction's keys and, in the sweep, answers
        # are neighbours on the pages a commit writes (measured: a quarter less time shredding, half
        # sweeping, against walking them by their random ids).
        order = insertion_order(submissions, found.engine.dialect.name)
        # Only submissions that may have something due: the rest is not read at all (planning.may_be_due).
        self._candidates = may_be_due(found, as_of)
        self._first = select(submissions.c.id, order).where(self._candidates).order_by(order).limit(PLAN_CHUNK)
        self._next = self._first.where(order > bindparam("after"))
        self.source = InsightSource(found.policies, found.keyring)
        self.pacer = Pacer()
        self.destroyed: list[str] = []  # data key ids, for the sweep
        self.destroyed_replies: set[str] = set()  # those of them that can have sealed replies
        self.ledger_file = ledger.ledger_path(found.config.database_path)

    def run_all(self, progress: Callable[[int, int], None] | None) -> list[str]:
        """Every submission, in the order stored, a chunk at a time; the ids put off (see ``_contribution``)."""
        with read(self.found.engine) as connection:
            total = int(connection.execute(select(func.count()).select_from(submissions)
                                           .where(self._candidates)).scalar_one())
        put_off: list[str] = []
        after: object = None
        seen = 0
        while True:
            with read(self.found.engine) as connection:
                rows = connection.execute(self._first if after is None else self._next, {"after": after}).all()
            if not rows:
                return put_off
            put_off += self.run([row[0] for row in rows])
            after, seen = rows[-1][1], seen + len(rows)
            if progress is not None:
                progress(min(seen, total), total)

    def run(self, submission_ids: Sequence[str]) -> list[str]:
        """Plan these submissions (reading only), then destroy their due keys; the ids put off."""
        planned, offered = self._plan(submission_ids)
        pending = [submission_id for submission_id in submission_ids if submission_id in planned]  # as given
        put_off: list[str] = []
        while pending:
            batch, pending = _take(pending, planned, self.pacer.size)
            with self.pacer.transaction(self.found.engine, sum(len(planned[s].keys) for s in batch)) as connection:
                done = self._shred(connection, batch, planned, offered)
            # Committed: the ledger file's lines now (the fsync waits for the end of the run: see ledger.py).
            ledger.append_entries(self.ledger_file, done.entries)
            self._count(done)
            put_off += done.put_off
        return put_off

    def _plan(self, submission_ids: Sequence[str]) -> tuple[dict[str, _Planned], dict[str, Contribution]]:
        planned: dict[str, _Planned] = {}
        due: list[Fact] = []
        with read(self.found.engine) as connection:
            for row in connection.execute(_PLAN_FACTS, {"ids": list(submission_ids)}):
                fact = fact_of(row)
                if not is_fact_due(self.found, fact, self.as_of, self.warnings):
                    continue
                if fact.held:
                    count_held(self.report, fact)
                    continue
                due.append(fact)
                plan = planned.get(fact.submission_id)
                if plan is None:  # the submission's state is the same on each of its keys' rows
                    plan = planned[fact.submission_id] = _Planned(fact.service_id, _state_of(row), [])
                plan.keys.append(DoomedKey(fact.key_id, fact.submission_id, fact.field_class, int(row.answers)))
            offered = prepare_contributions(connection, self.source, _classes(due)) if due else {}
        return planned, offered

    def _shred(self, connection: Connection, batch: Sequence[str], planned: Mapping[str, _Planned],
               offered: Mapping[str, Contribution]) -> _Done:
        """In the write transaction: check again, then store contributions and destroy the keys still due."""
        done = _Done()
        states = {row.id: _state_of(row) for row in connection.execute(_STATE, {"ids": list(batch)})}
        changed = {sid for sid in batch if states.get(sid) != planned[sid].state}
        again = self._decide_again(connection, sorted(changed), planned, done) if changed else {}
        store: list[Contribution] = []
        keys: list[DoomedKey] = []
        for submission_id in batch:
            plan = planned[submission_id]
            still = again.get(submission_id, []) if submission_id in changed else plan.keys
            contribution = offered.get(submission_id)
            state = states.get(submission_id)
            if not still or state is None:  # held, re-opened or withdrawn (its keys went with it) since the plan
                if contribution is not None:
                    store.append(contribution.dropped("not_erased"))
                continue
            if submission_id in changed:
                put_off, kept = self._contribution(plan.service_id, state, contribution,
                                                   [k.field_class for k in still])
            else:  # what the plan decided stands: nothing it depends on has changed
                put_off, kept = False, contribution
            if put_off:
                done.put_off.append(submission_id)
                continue
            if kept is not None:
                store.append(kept)
            keys += still
            done.keys += [(plan.service_id, key) for key in still]
        done.contributions = store_contributions(connection, self.found.audit, store)
        _erased, done.entries = shred(connection, self.found.audit, keys, reason="retention",
                                        actor_role="retention", contributions=done.contributions)
        gone = {e.data_key_id for e in done.entries}
        done.keys = [(service, key) for service, key in done.keys if key.id in gone]
        return done

    def _decide_again(self, connection: Connection, changed: Sequence[str], planned: Mapping[str, _Planned],
                      done: _Done) -> dict[str, list[DoomedKey]]:
        """The keys of submissions whose facts changed since the plan, decided again from the facts now."""
        again: dict[str, list[DoomedKey]] = {}
        for row in connection.execute(_KEY_FACTS, {"ids": list(changed)}):
            plan = planned[row.submission_id]
            key = next((k for k in plan.keys if k.id == row.id), None)
            if key is None:
                continue  # not due when planned: the next purge sees it
            fact = fact_of(row)
            if not is_fact_due(self.found, fact, self.as_of, self.warnings):
                continue  # a case re-opened since the plan
            if fact.held:
                done.held.append(fact)  # put on hold since the plan
                continue
            again.setdefault(row.submission_id, []).append(key)
        return again

    def _contribution(self, service_id: str, state: _State, offered: Contribution | None,
                      classes: list[str]) -> tuple[bool, Contribution | None]:
        """(Put the submission off?, what to store of ``offered``), as things stand now."""
        sharing = state.status == "active" and shares_insight(state.choices) and not state.contributed
        if offered is None:
            policy = self.found.policies.service(service_id)
            # Consent to share given since the plan: nothing was opened for it yet.
            return bool(sharing and policy is not None and insight_classes(policy, classes)), None
        if state.contributed:
            return False, offered.dropped("contributed_already")
        if not sharing:
            return False, offered.dropped("consent_changed")
        return False, offered.only(classes, "not_erased")

    def _count(self, done: _Done) -> None:
        for fact in done.held:
            count_held(self.report, fact)
        for service_id, key in done.keys:
            self.report.counts[(service_id, key.field_class)][0] += 1
            self.report.counts[(service_id, key.field_class)][1] += key.fields
            self.destroyed.append(key.id)
            if key.field_class == REPLY_CLASS:
                self.destroyed_replies.add(key.id)
        self.report.submissions += len({key.submission_id for _service, key in done.keys})
        self.report.contributions += sum(done.contributions.values())


def _classes(due: Sequence[Fact]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for fact in due:
        found.setdefault(fact.submission_id, []).append(fact.field_class)
    return found


def _take(pending: Sequence[str], planned: Mapping[str, _Planned], size: int) -> tuple[list[str], list[str]]:
    """Whole submissions from ``pending`` up to about ``size`` keys (at least one), and the rest."""
    taken = 0
    for end, submission_id in enumerate(pending, start=1):
        taken += len(planned[submission_id].keys)
        if taken >= size:
            return list(pending[:end]), list(pending[end:])
    return list(pending), []
