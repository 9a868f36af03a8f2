"""The audit append writes through the driver (dialect.execute_plain): every column of the table, exactly the
values its MAC covers, on either engine."""

from __future__ import annotations

import json

from sqlalchemy import select

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.audit.log import _COLUMNS
from casefeedback.storage.dialect import driver_sql
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events

WHY = 'it\'s 100% \\ "quoted"'  # a percent sign, a backslash, quotes: text psycopg or JSON could mangle


def test_the_plain_insert_names_every_column_of_the_table() -> None:
    assert sorted(_COLUMNS) == sorted(audit_events.c.keys())


def test_a_literal_percent_survives_psycopgs_placeholders() -> None:
    assert driver_sql("SELECT ? % 3", "pyformat") == "SELECT %s %% 3"
    assert driver_sql("SELECT ? % 3", "qmark") == "SELECT ? % 3"


def test_appended_events_are_stored_as_given_and_verify(found) -> None:
    with write(found.engine) as connection:
        found.audit.append_many(connection, [
            AuditEvent(action=Action.FIELD_OPEN, outcome="allowed", actor_id="staff-1", actor_role="caseworker",
                       object_type="answer", object_id="a-1", field_class="narrative", purpose="case_work",
                       detail={"n": 1, "why": WHY}),
            AuditEvent(action=Action.FIELD_OPEN, outcome="denied")])
    with read(found.engine) as connection:
        rows = connection.execute(select(audit_events).order_by(audit_events.c.seq.desc()).limit(2)).all()
        report = found.audit.verify(connection)
    assert report.ok, report.problem
    newest, first = rows
    assert (first.action, first.actor_id, first.purpose, first.field_class) == (
        "field.open", "staff-1", "case_work", "narrative")
    assert json.loads(first.detail) == {"n": 1, "why": WHY}
    assert (newest.outcome, newest.actor_id, newest.chain_seq) == ("denied", None, first.chain_seq + 1)
