"""The online re-key's live copy follows every change to a table however its rows are keyed: by rowid, by a
one-column primary key or by a two-column one (WITHOUT ROWID, as drafts and their answers are since 0024)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from casefeedback.storage import live_copy
from casefeedback.storage.dialect import APPLICATION_ID, open_keyed
from casefeedback.storage.live_copy import TARGET, CopyError, LiveCopy

TABLES = {
    "by_rowid": "CREATE TABLE by_rowid (name TEXT, value BLOB)",
    "by_one": "CREATE TABLE by_one (id TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID",
    "by_two": "CREATE TABLE by_two (owner TEXT, question TEXT, value BLOB, PRIMARY KEY (owner, question)) "
              "WITHOUT ROWID",
}


def _live(path: Path, key: bytes, tables: dict[str, str]) -> None:
    connection = open_keyed(str(path), key, str(path), isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")  # ours: the copy opens only our files
        for sql in tables.values():
            connection.execute(sql)
        connection.execute("INSERT INTO by_rowid VALUES ('a', x'01'), ('b', x'02')")
        connection.execute("INSERT INTO by_one VALUES ('a', x'01'), ('b', x'02')")
        connection.execute("INSERT INTO by_two VALUES ('d1', 'q1', x'01'), ('d1', 'q2', x'02'), ('d2', 'q1', x'03')")
        connection.execute("BEGIN IMMEDIATE")
        live_copy.start_tracking(connection.cursor())
        connection.execute("COMMIT")
    finally:
        connection.close()


def _change(path: Path, key: bytes) -> None:
    """Every kind of change after the bulk copy: insert, update in place, a key moved, delete."""
    connection = open_keyed(str(path), key, str(path), isolation_level=None)
    try:
        for sql in ("INSERT INTO by_rowid VALUES ('c', x'03')", "UPDATE by_rowid SET value = x'ff' WHERE name = 'a'",
                    "DELETE FROM by_rowid WHERE name = 'b'",
                    "INSERT INTO by_one VALUES ('c', x'03')", "UPDATE by_one SET value = x'ff' WHERE id = 'a'",
                    "UPDATE by_one SET id = 'z' WHERE id = 'b'",
                    "INSERT INTO by_two VALUES ('d3', 'q1', x'04')",
                    "UPDATE by_two SET value = x'ff' WHERE owner = 'd1' AND question = 'q1'",
                    "UPDATE by_two SET question = 'q9' WHERE owner = 'd1' AND question = 'q2'",  # half the key moves
                    "DELETE FROM by_two WHERE owner = 'd2'"):
            connection.execute(sql)
    finally:
        connection.close()


def _contents(copy: LiveCopy, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    db = copy._db  # the copy's own connection sees both files
    return {name: sorted(db.execute(f"SELECT * FROM {schema}.{name}").fetchall())  # noqa: S608 - constant names
            for name in TABLES}


def test_changes_after_the_bulk_copy_reach_the_copy_whatever_the_key(tmp_path: Path) -> None:
    live_key, target_key = os.urandom(32), os.urandom(32)
    live, target = tmp_path / "live.db", tmp_path / "copy.db"
    _live(live, live_key, TABLES)
    copy = LiveCopy(live, live_key, target, target_key)
    try:
        keys = {table.name: table.key for table in live_copy.tables(copy._db.cursor())}
        assert keys["by_rowid"] == ("rowid",) and keys["by_one"] == ('"id"',)
        assert keys["by_two"] == ('"owner"', '"question"')
        done = copy.bulk(lambda *_: None)
        assert _contents(copy, TARGET) == _contents(copy, "main")
        _change(live, live_key)
        assert _contents(copy, TARGET) != _contents(copy, "main")
        caught = copy.catch_up(done.watermark, compare=True)
        assert _contents(copy, TARGET) == _contents(copy, "main")
        assert _contents(copy, "main")["by_two"] == [("d1", "q1", b"\xff"), ("d1", "q9", b"\x02"),
                                                     ("d3", "q1", b"\x04")]
        assert caught.tables == 3
        again = copy.catch_up(caught.watermark)  # nothing changed since: nothing to copy
        assert again.rows == 0
    finally:
        copy.close()


def test_a_key_of_three_columns_is_refused_before_anything_is_copied(tmp_path: Path) -> None:
    key = os.urandom(32)
    live = tmp_path / "live.db"
    connection = open_keyed(str(live), key, str(live), isolation_level=None)
    try:
        connection.execute("CREATE TABLE by_three (a TEXT, b TEXT, c TEXT, PRIMARY KEY (a, b, c)) WITHOUT ROWID")
        with pytest.raises(CopyError, match="3-column key"):
            live_copy.tables(connection.cursor())
    finally:
        connection.close()
