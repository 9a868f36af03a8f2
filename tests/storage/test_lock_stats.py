"""The writer lock's hold time, counted for the benchmarks only when asked for, without what was written."""

from __future__ import annotations

import time

from sqlalchemy import text

from casefeedback.storage.engine import open_engine, read, write
from casefeedback.storage.lock_stats import STATS_ENV, read_totals


def test_each_write_adds_its_hold_time_to_this_process_record(config, tmp_path, monkeypatch):
    stats = tmp_path / "stats"
    stats.mkdir()
    monkeypatch.setenv(STATS_ENV, str(stats))
    engine = open_engine(config.database_path, config.secrets.database.value)
    try:
        for _ in range(2):
            with write(engine) as connection:
                connection.execute(text("SELECT 1"))
                time.sleep(0.01)  # held, not working: counted as held time but not as CPU
        with read(engine) as connection:  # a read takes no writer lock: not counted
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    totals = read_totals(stats)
    assert totals.writes == 2
    assert totals.held_ns >= 20_000_000 > totals.held_cpu_ns > 0
    assert totals.process_cpu_ns >= totals.held_cpu_ns
    assert [p.suffix for p in stats.iterdir()] == [".stats"]


def test_an_engine_opened_without_the_setting_counts_nothing(config, tmp_path, monkeypatch):
    stats = tmp_path / "stats"
    stats.mkdir()
    monkeypatch.setenv(STATS_ENV, str(stats))
    counted = open_engine(config.database_path, config.secrets.database.value)
    monkeypatch.delenv(STATS_ENV)
    uncounted = open_engine(config.database_path, config.secrets.database.value)
    try:
        for engine in (counted, uncounted, uncounted):
            with write(engine) as connection:
                connection.execute(text("SELECT 1"))
    finally:
        counted.dispose()
        uncounted.dispose()
    assert read_totals(stats).writes == 1
