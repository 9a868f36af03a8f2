"""Migration 0006 (alerts) runs up and down on a real encrypted file."""

from __future__ import annotations

import os

from sqlalchemy import inspect

from casefeedback.storage import migrate
from casefeedback.storage.engine import open_engine
from casefeedback.storage.tables import metadata

# As they stand at head: 0012 turned 0006's duty_rota into dated duty_shifts.
OURS = {"alerts", "alert_recipients", "alert_notifications", "alert_attempts", "duty_shifts", "staff_absences"}


def test_0006_up_down_up(tmp_path):
    engine = open_engine(tmp_path / "m.db", os.urandom(32), create=True)
    migrate.upgrade(engine)
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) >= OURS
        for name in OURS:
            columns = {c["name"] for c in inspect(connection).get_columns(name)}
            assert columns == set(metadata.tables[name].columns.keys()), name
    migrate.downgrade(engine, "0006@-1")
    with engine.connect() as connection:
        assert not (OURS | {"duty_rota"}) & set(inspect(connection).get_table_names())
        assert "staff" in set(inspect(connection).get_table_names())
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()
