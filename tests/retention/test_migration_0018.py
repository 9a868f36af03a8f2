"""Migration 0018 (legal hold on a screen) on a real encrypted file: up, down, up, keeping the holds.

A hold set from the command line before it keeps its case, who set it and when;
its plain-text reason leaves the table (a placeholder says it is in the audit
log) and it gets a review date six months on. ``staff.role`` admits the
records officer, and nothing else new; going back is refused while one exists.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from casefeedback.storage import migrate
from casefeedback.storage.engine import open_engine, write
from tests.retention.conftest import decrypted_image

NOW = datetime(2026, 1, 2, 3, 4, 5)
BEFORE = [
    ("teams", {"id": "team-1", "name": "North"}),
    ("staff", {"id": "staff-1", "username": "casey", "display_name": "Casey", "role": "caseworker",
               "team_id": "team-1", "password_hash": "x", "enabled": True, "created_at": NOW,
               "password_changed_at": NOW}),
    ("cases", {"id": "case-1", "reference": "VS-1", "service_id": "svc", "team_id": "team-1", "owner_id": "staff-1",
               "status": "open", "created_at": NOW}),
    ("legal_holds", {"id": "lh-1", "case_id": "case-1", "reason": "Order naming PLAINREASON77", "set_by": None,
                     "set_at": NOW, "released_at": None, "released_by": None, "release_reason": None}),
    ("legal_holds", {"id": "lh-0", "case_id": "case-1", "reason": "Earlier", "set_by": "staff-1", "set_at": NOW,
                     "released_at": NOW, "released_by": "staff-1", "release_reason": "Done"}),
]


def _tables(engine):  # type: ignore[no-untyped-def]
    reflected = MetaData()
    with engine.connect() as connection:
        reflected.reflect(connection)
    return reflected.tables


def _add_staff(engine, staff_id: str, role: str) -> None:  # type: ignore[no-untyped-def]
    staff = _tables(engine)["staff"]
    with write(engine) as connection:
        connection.execute(insert(staff).values(
            id=staff_id, username=staff_id, display_name=staff_id, role=role, password_hash="x", enabled=True,
            created_at=NOW, password_changed_at=NOW))


def test_0018_up_down_up_on_an_encrypted_file_keeps_the_holds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, key = tmp_path / "m.db", os.urandom(32)
    engine = open_engine(path, key, create=True)
    migrate.upgrade(engine, "0017")
    tables = _tables(engine)
    with write(engine) as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("cases")}
        for name, row in BEFORE:
            connection.execute(insert(tables[name]).values({k: v for k, v in row.items()
                                                             if name != "cases" or k in columns}))
    with pytest.raises(IntegrityError):
        _add_staff(engine, "r-0", "records_officer")

    migrate.upgrade(engine, "0018")
    holds = _tables(engine)["legal_holds"]
    with engine.connect() as connection:
        rows = {r.id: r for r in connection.execute(select(holds))}
    assert set(rows) == {"lh-0", "lh-1"}
    assert rows["lh-1"].case_id == "case-1" and rows["lh-1"].set_at == NOW and rows["lh-1"].released_at is None
    assert rows["lh-0"].released_by == "staff-1" and rows["lh-0"].set_by == "staff-1"
    assert all(r.reason is None and r.release_reason is None and r.data_key_id is None for r in rows.values())
    now = datetime.now(UTC).replace(tzinfo=None)
    assert timedelta(days=180) <= rows["lh-1"].review_by - now <= timedelta(days=185)
    assert "legal_hold_reviews" in _tables(engine)
    _add_staff(engine, "r-1", "records_officer")
    with pytest.raises(IntegrityError):
        _add_staff(engine, "r-2", "records_clerk")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"

    with pytest.raises(RuntimeError, match="records_officer"):
        migrate.downgrade(engine, "0017")
    assert migrate.current_revision(engine) == "0018"  # refused whole: nothing half-done
    with write(engine) as connection:
        connection.execute(text("DELETE FROM staff WHERE id = 'r-1'"))
    migrate.downgrade(engine, "0017")
    with engine.connect() as connection:
        back = {r.id: r for r in connection.execute(select(_tables(engine)["legal_holds"]))}
    assert set(back) == {"lh-0", "lh-1"} and back["lh-1"].reason.startswith("(set before reasons were sealed")
    with pytest.raises(IntegrityError):
        _add_staff(engine, "r-3", "records_officer")
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()
    assert b"SQLite format 3" not in path.read_bytes()[:16]
    # The plain-text reason is gone from the file itself, not only from the row (secure_delete).
    engine = open_engine(path, key)
    with engine.connect() as connection:
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    assert b"PLAINREASON77" not in decrypted_image(path, key)
