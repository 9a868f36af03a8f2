"""Migration 0015 (channels, failure demand, staff voice): up, down and up on a real encrypted file, keeping data."""

from __future__ import annotations

import os
from datetime import datetime

import pytest
from sqlalchemy import Engine, MetaData, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from casefeedback.storage import migrate
from casefeedback.storage.engine import open_engine, write
from casefeedback.storage.tables import metadata

NOW = datetime(2026, 1, 2, 3, 4, 5)
NEW = {"submission_channels", "failure_demand", "staff_voice"}


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def _reflected(engine: Engine) -> MetaData:
    reflected = MetaData()
    with engine.connect() as connection:
        reflected.reflect(connection)
    return reflected


def test_0015_up_down_up_on_an_encrypted_file_keeps_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "m.db"
    engine = open_engine(path, os.urandom(32), create=True)
    migrate.upgrade(engine, "0014")
    assert not NEW & _tables(engine)
    old = _reflected(engine)
    with write(engine) as connection:  # feedback from before: it came through the web form, and stays
        connection.execute(insert(old.tables["policy_versions"]).values(
            version="v1", service_id="svc", source="s", document="d", first_loaded_at=NOW))
        connection.execute(insert(old.tables["submissions"]).values(
            id="sub-1", service_id="svc", policy_version="v1", case_id=None, language="en", submitted_at=NOW,
            receipt_hash="c" * 64, status="active"))
    migrate.upgrade(engine, "0015")
    assert _tables(engine) >= NEW
    with engine.connect() as connection:
        for name in NEW:
            columns = {c["name"] for c in inspect(connection).get_columns(name)}
            assert columns == set(metadata.tables[name].columns.keys())
    new = _reflected(engine)
    with write(engine) as connection:
        connection.execute(insert(new.tables["submission_channels"]).values(
            submission_id="sub-1", channel="phone", consent_method="verbal", consent_text="t", recorded_by=None))
        connection.execute(insert(new.tables["failure_demand"]).values(
            id="fd-1", service_id="svc", category="chasing_progress", channel=None, occurred_at=NOW))
    migrate.downgrade(engine, "0014")
    assert not NEW & _tables(engine)
    migrate.upgrade(engine)
    assert _tables(engine) >= NEW
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as connection:
        kept = list(connection.execute(select(old.tables["submissions"].c.id)).scalars())
    assert kept == ["sub-1"]
    engine.dispose()
    assert b"SQLite format 3" not in path.read_bytes()[:16]  # the file is encrypted


def test_a_consent_method_outside_the_vocabulary_is_refused_by_the_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = open_engine(tmp_path / "m.db", os.urandom(32), create=True)
    migrate.upgrade(engine, "0015")
    tables = _reflected(engine).tables
    with write(engine) as connection:
        connection.execute(insert(tables["policy_versions"]).values(
            version="v1", service_id="svc", source="s", document="d", first_loaded_at=NOW))
        connection.execute(insert(tables["submissions"]).values(
            id="sub-1", service_id="svc", policy_version="v1", case_id=None, language="en", submitted_at=NOW,
            receipt_hash="c" * 64, status="active"))
    with pytest.raises(IntegrityError), write(engine) as connection:
        connection.execute(insert(tables["submission_channels"]).values(
            submission_id="sub-1", channel="phone", consent_method="telepathy", consent_text="t"))
    engine.dispose()
