"""The schema is declared once (``storage/schema/``) and the migrations build exactly it.

A declaration the migrations do not make real (or the reverse) is a schema the
code believes in and the database does not have: a missing unique constraint
lets a bearer token be stored twice, a missing ON DELETE CASCADE leaves
ciphertext behind after an erasure. So the migrated database is compared with
the declaration in full, not just by table names: on a real SQLCipher file and on a
real PostgreSQL database (``STORES``), since the same migrations build both.
"""

from __future__ import annotations

import pprint
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import (
    CheckConstraint,
    Column,
    Connection,
    Engine,
    MetaData,
    Sequence,
    String,
    Table,
    UniqueConstraint,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.schema import DefaultClause

from casefeedback import create_app
from casefeedback.config import Config
from casefeedback.storage import migrate
from casefeedback.storage.dialect import StoreOpenError
from casefeedback.storage.engine import open_store, write
from casefeedback.storage.tables import metadata
from tests.stores import STORES, empty_store, instance_config

# Where the domain branches of the early history were joined; linear after it.
MERGE = "0009"


@dataclass(frozen=True)
class Migrated:
    store: str
    engine: Engine
    # PostgreSQL rewrites a CHECK's text in its own words ("role IN (…)" becomes "((role)::text = ANY …)"):
    # each declared check as that store spells it, read back from a database made from the declaration.
    spelled_checks: dict[tuple[str, str], str]


@pytest.fixture(scope="module", params=STORES)
def migrated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Migrated]:
    """An empty database (a SQLCipher file under a fresh random key, or PostgreSQL) migrated from nothing to head."""
    directory = tmp_path_factory.mktemp("schema")
    with empty_store(request.param, directory) as engine:
        migrate.upgrade(engine)
        spelled: dict[tuple[str, str], str] = {}
        if request.param == "postgresql":
            with empty_store(request.param, directory) as reference:
                metadata.create_all(reference)
                with reference.connect() as connection:
                    spelled = _checks_of(connection)
        yield Migrated(request.param, engine, spelled)


def _checks_of(connection: Connection) -> dict[tuple[str, str], str]:
    reflected = inspect(connection)
    return {(table, check["name"]): " ".join(check["sqltext"].split())
            for table in reflected.get_table_names() for check in reflected.get_check_constraints(table)}


def differences(connection: Connection, declared: MetaData,
                spelled_checks: dict[tuple[str, str], str] | None = None) -> list[Any]:
    """Everything in which the database and ``declared`` differ; empty when they agree."""
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
    found: list[Any] = list(compare_metadata(context, declared))
    return found + _not_compared_by_alembic(connection, declared, spelled_checks or {})


def _not_compared_by_alembic(connection: Connection, declared: MetaData,
                             spelled_checks: dict[tuple[str, str], str]) -> list[Any]:
    """What autogenerate leaves out: check constraints, primary keys, table options, unique
    constraints that the database has without a name (Alembic only reports named ones), and sequences."""
    found: list[Any] = []
    reflected = inspect(connection)
    existing = set(reflected.get_table_names())
    # Options of this store only (sqlite_with_rowid means nothing to PostgreSQL).
    prefix = f"{connection.dialect.name}_"
    for table in declared.sorted_tables:
        if table.name not in existing:
            continue  # compare_metadata reports it
        uniques = {tuple(u["column_names"]) for u in reflected.get_unique_constraints(table.name)}
        declared_uniques = {tuple(c.name for c in u.columns) for u in table.constraints
                            if isinstance(u, UniqueConstraint)}
        checks = {(c["name"], " ".join(c["sqltext"].split())) for c in reflected.get_check_constraints(table.name)}
        declared_checks = {(c.name, spelled_checks.get((table.name, str(c.name)), " ".join(str(c.sqltext).split())))
                           for c in table.constraints if isinstance(c, CheckConstraint)}
        primary_key = reflected.get_pk_constraint(table.name)["constrained_columns"]
        options = {k: v for k, v in reflected.get_table_options(table.name).items() if k.startswith(prefix)}
        partial = {i["name"]: _condition(i["dialect_options"][f"{prefix}where"])
                   for i in reflected.get_indexes(table.name)
                   if i.get("dialect_options", {}).get(f"{prefix}where") is not None}
        declared_partial = {i.name: _condition(i.dialect_kwargs[f"{prefix}where"]) for i in table.indexes
                            if i.dialect_kwargs.get(f"{prefix}where") is not None}
        for what, database, declaration in (
            ("unique", uniques, declared_uniques),
            ("check", checks, declared_checks),
            ("primary_key", primary_key, [c.name for c in table.primary_key.columns]),
            ("options", options, {k: v for k, v in table.dialect_kwargs.items() if k.startswith(prefix)}),
            ("partial_index", partial, declared_partial),  # Alembic compares an index's columns, not its WHERE
        ):
            if database != declaration:
                found.append((what, table.name, database, declaration))
    if connection.dialect.name == "postgresql":
        sequences, declared_sequences = _standalone_sequences(connection), set(declared._sequences)
        if sequences != declared_sequences:
            found.append(("sequences", sequences, declared_sequences))
    return found


def _condition(where: object) -> str:
    """A partial index's WHERE as written or as reflected (PostgreSQL adds parentheses), compared as words."""
    return " ".join(str(where).replace("(", " ").replace(")", " ").split())


def _standalone_sequences(connection: Connection) -> set[str]:
    """PostgreSQL's sequences other than those a SERIAL column owns (which the column's type declares)."""
    return set(connection.execute(text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'S' AND n.nspname = current_schema() AND NOT EXISTS "
        "(SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))")).scalars())


def test_migrated_database_equals_the_declared_schema(migrated: Migrated) -> None:
    with migrated.engine.connect() as connection:
        found = differences(connection, metadata, migrated.spelled_checks)
    assert found == [], "the migrated database differs from storage/schema/:\n" + pprint.pformat(found, width=120)


def test_migrate_check_agrees_at_head_and_refuses_an_old_database(migrated: Migrated, tmp_path: Any) -> None:
    migrate.check(migrated.engine)
    with empty_store(migrated.store, tmp_path) as engine:
        migrate.upgrade(engine, "0001")
        with pytest.raises(CommandError, match="not up to date"):
            migrate.check(engine)


def test_a_database_from_before_the_merge_is_refused_until_migrated(store_kind: str, tmp_path: Path) -> None:
    with instance_config(store_kind, tmp_path) as config:
        _refused_until_migrated(config)


def _refused_until_migrated(config: Config) -> None:
    engine = open_store(config.store)
    migrate.downgrade(engine, "0001")
    branch_heads = sorted(set(migrate.history().get_revision(MERGE).down_revision or ()))
    for revision in branch_heads:
        migrate.upgrade(engine, revision)
    assert migrate.current_revision(engine) == ",".join(branch_heads)
    with pytest.raises(StoreOpenError, match=f"at revision {','.join(branch_heads)} but this version needs "
                                             f"{migrate.head_revision()}: run `casefeedback migrate`"):
        create_app(config)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()
    create_app(config).extensions["casefeedback"].engine.dispose()


def _table(declared: MetaData, name: str) -> Table:
    return declared.tables[name]


def _drop_constraint(table: str, match: Callable[[Any], bool]) -> Callable[[MetaData], None]:
    def change(declared: MetaData) -> None:
        found = _table(declared, table).constraints
        found.discard(next(c for c in found if match(c)))
    return change


def _set_column(table: str, column: str, **attributes: Any) -> Callable[[MetaData], None]:
    def change(declared: MetaData) -> None:
        target = _table(declared, table).c[column]
        for name, value in attributes.items():
            setattr(target, name, value)
    return change


def _drop_index(declared: MetaData) -> None:
    indexes = _table(declared, "cases").indexes
    indexes.discard(next(i for i in indexes if i.name == "ix_cases_owner_id"))


def _whole_index(declared: MetaData) -> None:
    index = next(i for i in _table(declared, "submissions").indexes if i.name == "ix_submissions_case_id")
    for option in ("sqlite_where", "postgresql_where"):
        index.dialect_options[option.split("_")[0]]["where"] = None


def _plain_foreign_key(declared: MetaData) -> None:
    foreign_key = next(iter(_table(declared, "staff_sessions").c.staff_id.foreign_keys))
    foreign_key.constraint.ondelete = None


def _extra_column(declared: MetaData) -> None:
    _table(declared, "alerts").append_column(Column("undeclared", String(8), nullable=True))


DRIFTS: dict[str, Callable[[MetaData], None]] = {
    "type": _set_column("teams", "name", type=String(121)),
    "nullability": _set_column("staff", "email", nullable=False),
    "server_default": _set_column("staff", "enabled", server_default=DefaultClause(text("1"))),
    "index": _drop_index,
    "partial_index": _whole_index,
    "named_unique": _drop_constraint("data_keys", lambda c: c.name == "one_data_key_per_class"),
    "unnamed_unique": _drop_constraint("teams", lambda c: isinstance(c, UniqueConstraint)),
    "foreign_key_on_delete": _plain_foreign_key,
    "check": _drop_constraint("staff", lambda c: c.name == "staff_role_known"),
    "table_options": lambda declared: _table(declared, "insight_contributions").dialect_kwargs.pop(
        "sqlite_with_rowid"),
    "table_only_in_database": lambda declared: declared.remove(_table(declared, "insight_contributed")),
    "column_only_in_declaration": _extra_column,
    "sequence_only_in_database": lambda declared: declared._sequences.pop("audit_events_seq"),
}
# Drifts that a store cannot have: SQLite has no sequences, PostgreSQL no WITHOUT ROWID tables.
ONLY_ON = {"table_options": "sqlite", "sequence_only_in_database": "postgresql"}


@pytest.mark.parametrize("drift", DRIFTS)
def test_the_comparison_sees_each_kind_of_drift(migrated: Migrated, drift: str) -> None:
    if ONLY_ON.get(drift, migrated.engine.dialect.name) != migrated.engine.dialect.name:
        pytest.skip(f"no {drift} drift on {migrated.store}")
    declared = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(declared)
    for sequence in metadata._sequences.values():
        Sequence(sequence.name, metadata=declared)
    with migrated.engine.connect() as connection:
        assert differences(connection, declared, migrated.spelled_checks) == [], "the copy itself differs"
    DRIFTS[drift](declared)
    with migrated.engine.connect() as connection:
        assert differences(connection, declared, migrated.spelled_checks), f"a {drift} difference went unnoticed"


def test_one_head_and_a_straight_line_from_the_merge() -> None:
    history = migrate.history()
    head = migrate.head_revision()
    assert history.get_heads() == [head]
    assert [s.revision for s in history.walk_revisions() if s.is_merge_point] == [MERGE]
    line, script = [], history.get_revision(head)
    while script is not None and script.revision != MERGE:
        assert isinstance(script.down_revision, str), f"{script.revision} must follow exactly one revision"
        line.append(script.revision)
        script = history.get_revision(script.down_revision)
    assert script is not None, f"{head} does not descend from the merge {MERGE}"
    before_merge = {s.revision for s in history.iterate_revisions(MERGE, "base")}
    # Nothing branches off the line: every revision is on it or came before the merge.
    assert {s.revision for s in history.walk_revisions()} == before_merge | set(line)
    for revision in [MERGE, *line]:
        assert len(history.get_revision(revision).nextrev) <= 1, f"{revision} has two successors"


NOW = datetime(2026, 1, 2, 3, 4, 5)  # naive: written through reflected tables, read back the same
KEY = b"\x01" * 40
# One representative row per table, in foreign-key order; each is written as
# soon as its table exists, so every later migration has to carry it.
SAMPLES: list[tuple[str, dict[str, Any]]] = [
    ("policy_versions", {"version": "v1", "service_id": "svc", "source": "policies/svc.toml", "document": "d",
                         "first_loaded_at": NOW}),
    ("teams", {"id": "team-1", "name": "North"}),
    ("staff", {"id": "staff-1", "username": "sam", "display_name": "Sam", "email": None, "role": "caseworker",
               "team_id": "team-1", "password_hash": "h", "enabled": True, "created_at": NOW,
               "password_changed_at": NOW}),
    ("staff_sessions", {"token_hash": "a" * 64, "staff_id": "staff-1", "created_at": NOW, "last_seen_at": NOW}),
    ("cases", {"id": "case-1", "service_id": "svc", "reference": "CR-1", "team_id": "team-1", "owner_id": "staff-1",
               "deputy_id": None, "status": "open", "created_at": NOW, "closed_at": None}),
    ("invitations", {"id": "inv-1", "token_hash": "b" * 64, "case_id": "case-1", "uses_left": 1, "expires_at": NOW,
                     "created_by": "staff-1", "created_at": NOW, "revoked_at": None}),
    # Seeded once 0010 has added the column: the unique short-code hash must survive every later migration.
    ("invitations", {"id": "inv-2", "token_hash": "j" * 64, "case_id": "case-1", "uses_left": 3, "expires_at": NOW,
                     "created_by": "staff-1", "created_at": NOW, "revoked_at": None, "short_code_hash": "l" * 64}),
    ("submissions", {"id": "sub-1", "service_id": "svc", "policy_version": "v1", "case_id": "case-1",
                     "language": "en", "submitted_at": NOW, "receipt_hash": "c" * 64, "status": "active"}),
    ("submissions", {"id": "sub-2", "service_id": "svc", "policy_version": "v1", "case_id": None,
                     "language": "cy", "submitted_at": NOW, "receipt_hash": "d" * 64, "status": "withdrawn"}),
    ("consent_receipts", {"id": "cr-1", "submission_id": "sub-1", "consent_version": 1, "language": "en",
                          "choices": '{"store": true}', "given_at": NOW, "withdrawn_at": None}),
    ("data_keys", {"id": "dk-1", "submission_id": "sub-1", "field_class": "free_text", "kek_id": "kek-1",
                   "wrapped": KEY, "created_at": NOW}),
    ("answers", {"id": "ans-1", "submission_id": "sub-1", "question_id": "q1", "field_class": "free_text",
                 "data_key_id": "dk-1", "position": 0, "ciphertext": b"\x02" * 30}),
    ("audit_events", {"seq": 1, "at": "2026-01-02T03:04:05Z", "actor_id": None, "actor_role": "cli",
                      "action": "policy.load", "object_type": "policy", "object_id": "v1", "field_class": None,
                      "purpose": None, "outcome": "recorded", "detail": "{}", "mac": "e" * 64}),
    ("audit_head", {"id": 1, "seq": 1, "mac": "e" * 64}),
    # 0014 turns the one head into chain 0's row of audit_chains (tests/storage/test_migration_0014.py).
    ("audit_chains", {"chain": 9, "seq": 0, "mac": "f" * 64}),
    ("drafts", {"id": "draft-1", "service_id": "svc", "policy_version": "v1", "invitation_id": "inv-1",
                "consent_version": 1, "consent_language": "en", "consent_choices": "{}", "consent_given_at": NOW,
                "created_at": NOW, "updated_at": NOW, "expires_at": NOW, "resume_hash": "f" * 64}),
    ("draft_answers", {"id": "da-1", "draft_id": "draft-1", "question_id": "q1", "field_class": "free_text",
                       "data_key_id": "dk-d", "kek_id": "kek-1", "wrapped": KEY, "ciphertext": b"\x03",
                       "saved_at": NOW}),
    ("submission_additions", {"submission_id": "sub-2", "parent_id": "sub-1", "added_at": NOW}),
    ("consent_changes", {"id": "cc-1", "submission_id": "sub-1", "choice": "contact_me", "value": False,
                         "changed_at": NOW}),
    ("staff_mfa", {"staff_id": "staff-1", "totp_secret": "JBSWY3DPEHPK3PXP", "enrolled_at": NOW,
                   "last_used_step": 7}),
    ("staff_recovery_codes", {"id": "rc-1", "staff_id": "staff-1", "code_hash": "g" * 64, "created_at": NOW,
                              "used_at": None}),
    ("sign_in_challenges", {"token_hash": "h" * 64, "staff_id": "staff-1", "created_at": NOW}),
    ("sign_in_throttle", {"username": "sam", "failures": 2, "last_failure_at": NOW, "locked_until": None}),
    ("break_glass", {"id": "bg-1", "staff_id": "staff-1", "case_id": "case-1", "reason": "urgent",
                     "opened_at": NOW, "expires_at": NOW, "ended_at": None}),
    ("staff_notifications", {"id": "sn-1", "recipient_id": "staff-1", "kind": "break_glass", "case_id": "case-1",
                             "subject_id": None, "message": "m", "created_at": NOW, "read_at": None}),
    ("case_outcomes", {"id": "co-1", "case_id": "case-1", "recorded_by": "staff-1", "recorded_at": NOW,
                       "form_nonce": "i" * 64, "data_key_id": "dk-o", "kek_id": "kek-1", "wrapped_key": KEY,
                       "ciphertext": b"\x04"}),
    ("submission_reads", {"staff_id": "staff-1", "submission_id": "sub-1", "first_read_at": NOW}),
    ("legal_holds", {"id": "lh-1", "case_id": "case-1", "reason": "court order", "set_by": None, "set_at": NOW,
                     "released_at": None, "released_by": None, "release_reason": None}),
    # 0018: sealed reasons, a review date, and the reviews (tests/retention/test_migration_0018.py).
    ("legal_hold_reviews", {"id": "lhr-1", "hold_id": "lh-1", "reviewed_by": None, "reviewed_at": NOW,
                            "review_by_before": NOW, "review_by": NOW, "note": b"\x06" * 30}),
    ("erased_keys", {"data_key_id": "dk-gone", "submission_id": "sub-0", "field_class": "free_text",
                     "reason": "retention", "erased_at": NOW}),
    ("purge_runs", {"id": "pr-1", "as_of": NOW, "started_at": NOW, "finished_at": NOW, "trigger": "worker",
                    "data_keys": 1, "fields": 1}),
    ("insight_contributions", {"id": "ic-1", "service_id": "svc", "month": "2026-01", "question_id": "q2",
                               "answer": "yes"}),
    ("audit_checkpoints", {"seq": 1, "mac": "e" * 64, "at": "2026-01-02T03:04:05Z", "previous_seq": None,
                           "previous_mac": None, "key_check": "k" * 16, "public_key": "p" * 64,
                           "signature": "s" * 128}),
    ("retired_keks", {"kek_id": "kek-0", "retired_at": NOW}),
    ("worker_jobs", {"id": "purge", "last_started_at": NOW, "last_finished_at": NOW, "last_outcome": "ok",
                     "last_error": None, "runs": 3}),
    ("alerts", {"id": "al-1", "reference": "A1B2C3", "service_id": "svc", "rule_id": "risk", "severity": "urgent",
                "submission_id": "sub-1", "case_id": "case-1", "raised_at": NOW, "chain": "[]",
                "acknowledge_seconds": 900, "max_attempts": 3, "step": -1, "deadline_at": NOW}),
    ("alert_recipients", {"alert_id": "al-1", "staff_id": "staff-1", "step": 0, "relation": "owner",
                          "told_at": NOW}),
    ("alert_notifications", {"id": "an-1", "alert_id": "al-1", "recipient": "staff-1", "channel": "email",
                             "status": "pending", "attempts": 0, "next_attempt_at": NOW, "created_at": NOW}),
    ("alert_attempts", {"id": "aa-1", "notification_id": "an-1", "at": NOW, "outcome": "failed",
                        "error": "timeout"}),
    ("duty_rota", {"service_id": "svc", "position": 0, "staff_id": "staff-1"}),
    ("staff_absences", {"staff_id": "staff-1", "since": NOW, "set_by": None}),
    # The dated rota (0012) reshapes the two above; their rows are carried over (tests/alerts/test_migration_0012.py).
    ("duty_shifts", {"id": "ds-1", "service_id": "svc", "staff_id": "staff-1", "starts_at": NOW, "ends_at": None,
                     "set_by": None, "created_at": NOW}),
    ("staff_absences", {"id": "sa-1", "staff_id": "staff-1", "starts_at": NOW, "ends_at": NOW, "set_by": None,
                        "created_at": NOW}),
    ("insight_counts", {"service_id": "svc", "team_id": "", "month": "2026-01", "question_id": "q2",
                        "answer": "yes", "n": 2}),
    ("insight_submission_counts", {"service_id": "svc", "month": "2026-01", "team_id": "", "received": 1,
                                   "shared": 1, "asked": 1}),
    ("insight_submission_months", {"service_id": "svc", "month": "2026-01", "refreshed_at": NOW}),
    ("insight_contributed", {"submission_id": "sub-1"}),
    ("rate_limits", {"key_hash": "m" * 64, "hits": 3, "expires_at": NOW}),
    ("submission_channels", {"submission_id": "sub-1", "channel": "phone", "consent_method": "verbal",
                             "consent_text": "Before you start...", "recorded_by": "staff-1", "api_client_id": None}),
    ("failure_demand", {"id": "fd-1", "service_id": "svc", "category": "chasing_progress", "channel": "phone",
                        "occurred_at": NOW}),
    ("staff_voice", {"id": "sv-1", "service_id": "svc", "category": "systems", "impact": "slowed", "channel": None,
                     "occurred_at": NOW}),
    ("api_clients", {"id": "api-1", "name": "case system", "scopes": "cases:write", "token_prefix": "cfk_abcd1234",
                     "token_hash": "n" * 64, "created_at": NOW, "created_by": None, "revoked_at": None}),
    ("feedback_replies", {"id": "rep-1", "submission_id": "sub-1", "field_class": "reply", "data_key_id": "dk-9",
                          "language": "en", "written_by": "staff-1", "written_at": NOW, "form_nonce": "o" * 32,
                          "ciphertext": b"\x05" * 30}),
    ("published_changes", {"id": "chg-1", "service_id": "svc", "period": "2026-01", "period_starts": NOW,
                           "said": '{"en": "s"}', "did": '{"en": "d"}', "status": "published", "created_by": "staff-1",
                           "created_at": NOW, "updated_at": NOW, "published_at": NOW, "form_nonce": "p" * 32}),
]

# Tables a migration reshapes on purpose, carrying their rows into a new form that its
# own test checks row by row; and tables no longer in the schema after such a change.
RESHAPED: dict[str, set[str]] = {"0012": {"duty_rota", "staff_absences"}, "0014": {"audit_head"},
                                 "0018": {"legal_holds"}}
RETIRED = {"duty_rota", "audit_head"}

Snapshot = dict[str, tuple[list[str], list[tuple[Any, ...]]]]


def _snapshot(engine: Engine) -> Snapshot:
    """Every row of every table, as the database has them now (its own columns, not the declared ones)."""
    found: Snapshot = {}
    with engine.connect() as connection:
        reflected = MetaData()
        reflected.reflect(connection)
        for name, table in reflected.tables.items():
            if name == "alembic_version":
                continue
            columns = list(table.columns.keys())
            found[name] = (columns, sorted(connection.execute(select(table)).all(), key=repr))
    return found


def _seed(engine: Engine, seeded: set[int]) -> None:
    with write(engine) as connection:
        reflected = MetaData()
        reflected.reflect(connection)
        for number, (name, row) in enumerate(SAMPLES):
            # A row for a column a later migration adds waits until the column exists.
            if number not in seeded and name in reflected.tables and set(row) <= set(reflected.tables[name].c.keys()):
                connection.execute(insert(reflected.tables[name]).values(row))
                seeded.add(number)


def test_every_migration_keeps_the_data_written_before_it(new_database: Callable[[], Engine]) -> None:
    history = migrate.history()
    engine = new_database()
    seeded: set[int] = set()
    order = [script.revision for script in reversed(list(history.walk_revisions()))]
    for revision in order:
        before = _snapshot(engine)
        migrate.upgrade(engine, revision)
        after = _snapshot(engine)
        for name, (columns, rows) in before.items():
            if name in RESHAPED.get(revision, ()):
                continue
            assert name in after, f"{revision} dropped {name}"
            now_columns, now_rows = after[name]
            kept = sorted((tuple(row[now_columns.index(c)] for c in columns) for row in now_rows), key=repr)
            assert kept == rows, f"{revision} changed the rows of {name}"
        _seed(engine, seeded)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert {name for name, _ in SAMPLES} - RETIRED | {"instance_identity"} == set(metadata.tables), \
        "a table without a sample row here is not checked through later migrations"
    assert len(seeded) == len(SAMPLES)
