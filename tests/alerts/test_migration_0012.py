"""Migration 0012 (the dated rota) carries every rota position and absence over, and back, on a real encrypted file."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from sqlalchemy import MetaData, insert, inspect, select

from casefeedback.storage import migrate
from casefeedback.storage.engine import open_engine, write
from casefeedback.storage.tables import alerts, duty_shifts, metadata, staff_absences

SINCE = datetime(2026, 1, 2, 3, 4, 5)  # naive: written through reflected tables, as the old code stored it
RAISED = datetime(2026, 1, 2, 4, 0, 0)


def _seed_0011(engine) -> None:  # type: ignore[no-untyped-def]
    with write(engine) as connection:
        old = MetaData()
        old.reflect(connection)
        for staff_id, username in (("staff-1", "sam"), ("staff-2", "kim"), ("staff-3", "lee")):
            connection.execute(insert(old.tables["staff"]).values(
                id=staff_id, username=username, display_name=username.title(), email=None, role="caseworker",
                team_id=None, password_hash="h", enabled=True, created_at=SINCE, password_changed_at=SINCE))
        connection.execute(insert(old.tables["duty_rota"]), [
            {"service_id": "victim-support", "position": 0, "staff_id": "staff-1"},
            {"service_id": "victim-support", "position": 1, "staff_id": "staff-2"},
            {"service_id": "other", "position": 0, "staff_id": "staff-3"}])
        connection.execute(insert(old.tables["staff_absences"]).values(staff_id="staff-2", since=SINCE,
                                                                      set_by="staff-1"))
        connection.execute(insert(old.tables["alerts"]).values(
            id="al-1", reference="A-TEST0001", service_id="victim-support", rule_id="r", severity="urgent",
            submission_id="sub-1", case_id=None, raised_at=RAISED, chain="[]", acknowledge_seconds=900,
            max_attempts=8, step=0, deadline_at=RAISED))
        connection.execute(insert(old.tables["alert_recipients"]).values(
            alert_id="al-1", staff_id="staff-1", step=0, relation="duty_rota", told_at=RAISED))


def test_0012_carries_the_rota_and_absences_over_and_back(tmp_path):
    engine = open_engine(tmp_path / "m.db", os.urandom(32), create=True)
    migrate.upgrade(engine, "0011")
    _seed_0011(engine)
    before = datetime.now(UTC)
    migrate.upgrade(engine, "0012")
    after = datetime.now(UTC)
    with engine.connect() as connection:
        assert "duty_rota" not in inspect(connection).get_table_names()
        for name in ("duty_shifts", "staff_absences", "alerts"):
            assert {c["name"] for c in inspect(connection).get_columns(name)} == set(metadata.tables[name].c.keys())
        shifts = connection.execute(select(duty_shifts).order_by(duty_shifts.c.staff_id)).all()
        absences = connection.execute(select(staff_absences)).all()
        alert = connection.execute(select(alerts)).one()
    # Each person on a rota is on duty from the upgrade, until someone removes the shift.
    assert [(s.service_id, s.staff_id, s.ends_at, s.set_by) for s in shifts] == [
        ("victim-support", "staff-1", None, None), ("victim-support", "staff-2", None, None),
        ("other", "staff-3", None, None)]
    assert all(before - timedelta(seconds=1) <= s.starts_at <= after for s in shifts)
    # An absence runs from when it was marked, until someone ends it.
    (absence,) = absences
    assert (absence.staff_id, absence.starts_at, absence.ends_at, absence.set_by) == (
        "staff-2", SINCE.replace(tzinfo=UTC), None, "staff-1")
    assert alert.due_at == RAISED.replace(tzinfo=UTC) + timedelta(seconds=900) and alert.reminded_round is None

    migrate.downgrade(engine, "0011")
    with write(engine) as connection:
        old = MetaData()
        old.reflect(connection)
        rota = connection.execute(select(old.tables["duty_rota"]).order_by("service_id", "position")).all()
        away = connection.execute(select(old.tables["staff_absences"])).all()
        # Columns dropped in place: who was told (ON DELETE CASCADE from alerts) is still there.
        assert "due_at" not in old.tables["alerts"].c
        assert len(connection.execute(select(old.tables["alert_recipients"])).all()) == 1
        assert connection.execute(select(old.tables["alerts"].c.reference)).scalars().all() == ["A-TEST0001"]
    assert sorted((r.service_id, r.staff_id) for r in rota) == [
        ("other", "staff-3"), ("victim-support", "staff-1"), ("victim-support", "staff-2")]
    assert [(a.staff_id, a.since, a.set_by) for a in away] == [("staff-2", SINCE, "staff-1")]
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()
