"""`casefeedback export-to-postgres URL`: an instance moves from its SQLCipher file to PostgreSQL with every row
copied as stored — the audit log still verifies against its witness there, and the instance's keys still open
what was sealed in the file. A target that is not new and empty, or cannot be reached, is refused with one
sentence and a non-zero exit, and nothing is written to it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, LargeBinary, create_engine, func, inspect, make_url, select
from sqlalchemy.pool import NullPool

from casefeedback import create_app
from casefeedback.audit.actions import Action
from casefeedback.auth import accounts
from casefeedback.auth.sessions import StaffMember
from casefeedback.backup.lock import hold_running, release
from casefeedback.casework.cases import create_case
from casefeedback.cli import main
from casefeedback.config import Config
from casefeedback.demo import seed
from casefeedback.policy import load_policies
from casefeedback.policy.decisions import Actor
from casefeedback.reading import read_submission
from casefeedback.services import Services, build_services
from casefeedback.storage import migrate
from casefeedback.storage.engine import open_engine, open_postgres, read, write
from casefeedback.storage.tables import audit_events, metadata, teams
from tests.conftest import Clock, canary, make_config
from tests.retention.conftest import seed_submission
from tests.services import postgres_url
from tests.stores import fresh_postgres_database
from tests.test_cli import run


def counts(engine: Engine) -> dict[str, int]:
    with read(engine) as connection:
        return {t.name: connection.execute(select(func.count()).select_from(t)).scalar_one()
                for t in metadata.sorted_tables}


def stored_bytes(engine: Engine) -> dict[str, dict[tuple[object, ...], tuple[object, ...]]]:
    """Every bytes column of every table (sealed fields, wrapped keys, signatures), by primary key."""
    found = {}
    with read(engine) as connection:
        for table in metadata.sorted_tables:
            binary = [c for c in table.c if isinstance(c.type, LargeBinary)]
            if binary:
                key = list(table.primary_key.columns)
                found[table.name] = {tuple(row[:len(key)]): tuple(row[len(key):]) for row in
                                     connection.execute(select(*key, *binary))}
    return found


def pg(url: str) -> Engine:
    return open_postgres(url, statement_timeout_ms=30_000, lock_timeout_ms=5_000)


def tables_in(url: str) -> list[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return inspect(connection).get_table_names()
    finally:
        engine.dispose()


def build_source(config: Config, clock: Clock) -> tuple[Actor, str, str]:
    """Demo data (staff, a case, an invitation, a legal hold, two years of history and its audit events), real
    feedback on a case with a narrative answer sealed, read once by its owner, and a witnessed checkpoint."""
    found = build_services(config, load_policies(config.policies_dir), clock)
    try:
        seed(found, "http://127.0.0.1:5000")
        with write(found.engine) as connection:
            team_id = accounts.ensure_team(connection, "North")
            owner_id = accounts.add_staff(connection, username="owner", display_name="Owner", role="caseworker",
                                          password="x" * 16, now=clock(), team_id=team_id)
            case_id = create_case(connection, member=StaffMember(owner_id, "owner", "Owner", "caseworker", team_id),
                                  service_id="victim-support", reference="VS-1", now=clock())
        said = canary()
        submission_id = seed_submission(found, {"treated": "4", "anything_else": said}, case_id=case_id)
        owner = Actor(owner_id, "caseworker", team_id)
        assert _narrative(found, owner, submission_id) == said
    finally:
        found.engine.dispose()
    signed = run("audit", "checkpoint", instance=config.instance_dir)
    assert signed.returncode == 0, signed.stderr
    return owner, submission_id, said


def _narrative(found: Services, actor: Actor, submission_id: str) -> object:
    view = read_submission(found, actor, submission_id, "casework")
    (field,) = [f for f in view.fields if f.question_id == "anything_else"]
    assert field.state == "open"
    return field.value


def test_every_row_is_copied_as_stored_and_the_log_and_keys_work_on_postgresql(tmp_path: Path) -> None:
    clock = Clock()
    config = make_config(tmp_path / "instance")
    owner, submission_id, said = build_source(config, clock)
    source = open_engine(config.database_path, config.secrets.database.value)
    before, sealed = counts(source), stored_bytes(source)
    with read(source) as connection:
        events = connection.execute(select(audit_events).order_by(audit_events.c.seq)).all()
    source.dispose()
    # Every kind of row the test means to carry is there to be carried.
    assert [name for name in ("answers", "data_keys", "legal_holds", "audit_checkpoints", "alerts", "staff_mfa",
                              "invitations", "insight_counts", "instance_identity") if not before[name]] == []

    with fresh_postgres_database() as url:
        exported = run("export-to-postgres", url, instance=config.instance_dir)
        assert exported.returncode == 0, exported.stderr
        assert f"Copied {sum(before.values()):,} rows of {len(before)} tables" in exported.stdout
        assert "Set CASEFEEDBACK_DATABASE_URL" in exported.stdout and "audit verify" in exported.stdout

        target = pg(url)
        try:
            assert migrate.current_revision(target) == migrate.head_revision()
            # Every table as many rows as in the file, and one audit event more: the export's own.
            assert counts(target) == {**before, "audit_events": before["audit_events"] + 1}
            assert stored_bytes(target) == sealed
            with read(target) as connection:
                copied = connection.execute(select(audit_events).order_by(audit_events.c.seq)).all()
            assert copied[:-1] == events  # every event, byte for byte: what the MACs cover
            last = copied[-1]
            assert (last.action, last.outcome, last.seq) == (Action.DATABASE_EXPORT_TO_POSTGRES, "success",
                                                             events[-1].seq + 1)
            assert json.loads(last.detail)["rows"] == sum(before.values())
        finally:
            target.dispose()

        verified = run("audit", "verify", instance=config.instance_dir, CASEFEEDBACK_DATABASE_URL=url)
        assert verified.returncode == 0, verified.stderr
        assert f"audit log intact: {len(events) + 1} events verified; consistent with the witness" in verified.stdout

        # The app on the new database: the instance's keys open what was sealed in the file, and new events
        # take new numbers after the copied ones (the sequence was moved past them).
        app = create_app(replace(config, database_url=url), clock=clock)
        found = app.extensions["casefeedback"]
        try:
            assert _narrative(found, owner, submission_id) == said
            with read(found.engine) as connection:
                newest = connection.execute(select(func.max(audit_events.c.seq))).scalar_one()
            assert newest > events[-1].seq + 1
        finally:
            found.engine.dispose()
        again = run("audit", "verify", instance=config.instance_dir, CASEFEEDBACK_DATABASE_URL=url)
        assert again.returncode == 0, again.stderr


@pytest.fixture
def small(tmp_path: Path) -> Config:
    """An instance with only what `init` makes (its policies and their audit events)."""
    return make_config(tmp_path / "instance")


def export(config: Config, url: str, **env: str) -> Result:
    """The command in this process (the refusals need no second interpreter), with the instance's settings."""
    return CliRunner().invoke(main, ["export-to-postgres", url], env={
        "CASEFEEDBACK_INSTANCE": str(config.instance_dir), "CASEFEEDBACK_POLICIES": str(config.policies_dir),
        "CASEFEEDBACK_DATABASE_URL": None, **env})  # None: unset for the command


def refused(result: Result, *said: str) -> None:
    """One sentence on stderr, exit status 1, nothing on stdout."""
    assert result.exit_code == 1 and result.stdout == "", result.output
    assert result.stderr.startswith("casefeedback: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for words in said:
        assert words in result.stderr, result.stderr


def test_a_target_that_already_holds_data_is_refused_and_left_as_it_was(small: Config) -> None:
    with fresh_postgres_database() as url:
        assert export(small, url).exit_code == 0
        target = pg(url)
        try:
            held = counts(target)
            refused(export(small, url), "the PostgreSQL database ", "already holds data (in ",
                    "Nothing was written to PostgreSQL.")
            assert counts(target) == held
        finally:
            target.dispose()


def test_a_target_at_another_schema_is_refused(small: Config) -> None:
    with fresh_postgres_database() as url:
        target = pg(url)
        try:
            older = migrate.history().get_revision(migrate.head_revision()).down_revision
            migrate.upgrade(target, str(older))
            refused(export(small, url), f"is at casefeedback schema {older}, not {migrate.head_revision()}")
            assert migrate.current_revision(target) == older
        finally:
            target.dispose()


@pytest.mark.parametrize(("url", "said"), [
    ("postgresql://someone@/casefeedback?host=/nonexistent/no-server",
     "cannot reach the PostgreSQL database casefeedback on /nonexistent/no-server"),
    ("mysql://someone@db/casefeedback", "the URL names 'mysql', not PostgreSQL"),
    ("not a url", "the URL is not a database URL"),
])
def test_an_unreachable_server_or_a_wrong_url_is_one_sentence(small: Config, url: str, said: str) -> None:
    refused(export(small, url), said)


def test_refused_credentials_are_one_sentence_naming_the_user_never_a_password(small: Config) -> None:
    # The throwaway server trusts every local user it knows, so an unknown role stands for wrong credentials.
    url = make_url(postgres_url()).set(username="nobody_here", password="not-the-password")
    result = export(small, url.render_as_string(hide_password=False))
    refused(result, "refused the connection", '"nobody_here"', "check the user and password in the URL given")
    assert "not-the-password" not in result.stderr


def test_a_failure_part_way_leaves_the_target_without_even_the_schema(small: Config) -> None:
    # Something PostgreSQL refuses that the file took (SQLite does not enforce a column's length):
    # the copy fails after the migrations and many tables were written, and all of it goes.
    source = open_engine(small.database_path, small.secrets.database.value)
    with write(source) as connection:
        connection.execute(teams.insert(), {"id": "t-long", "name": "n" * 500})
    source.dispose()
    with fresh_postgres_database() as url:
        result = export(small, url)
        refused(result, "failed (StringDataRightTruncation, SQLSTATE 22001); it was rolled back")
        assert "n" * 20 not in result.stderr
        assert tables_in(url) == []


def test_a_failure_never_quotes_the_value_postgresql_refused(small: Config) -> None:
    # PostgreSQL's own first line would be 'invalid input syntax for type integer: "<the value>"', and a
    # value in the source may be a column that is plaintext there (a name, a reference): only its class,
    # SQLSTATE and where are said.
    source = open_engine(small.database_path, small.secrets.database.value)
    with write(source) as connection:
        connection.exec_driver_sql(
            "INSERT INTO sign_in_throttle (username, failures, last_failure_at) VALUES (?, ?, ?)",
            ("someone", "CANARY-throttle-7f3a", "2026-12-01 10:00:00.000000"))
    source.dispose()
    with fresh_postgres_database() as url:
        result = export(small, url)
        refused(result, "failed (InvalidTextRepresentation, SQLSTATE 22P02); it was rolled back")
        assert "CANARY" not in result.stderr + result.stdout
        assert tables_in(url) == []


def test_a_running_instance_is_refused(small: Config) -> None:
    with fresh_postgres_database() as url:
        running = hold_running(small.instance_dir)  # as every web process and the worker do
        try:
            refused(export(small, url), "is running on", "stop it before exporting its database")
        finally:
            release(running)
        assert tables_in(url) == []


def test_an_instance_already_on_postgresql_is_refused(small: Config) -> None:
    with fresh_postgres_database() as url:
        refused(export(small, url, CASEFEEDBACK_DATABASE_URL=url), "this instance already uses PostgreSQL")
        assert tables_in(url) == []
