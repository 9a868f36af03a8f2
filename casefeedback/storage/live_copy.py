"""Copying the live database into a new file under a new key while the application keeps writing.

The copy is logical, table by table, in one read snapshot of the live file
(WAL mode: writers carry on beside it). What changed after that snapshot is
found from a change log, not by comparing everything again:

* before the copy, a trigger on every table appends ``(table, key)`` to
  ``casefeedback_rekey_changes`` for each row inserted, updated or deleted.
  Only names of tables and row keys go there, never content;
* the snapshot notes the log's last ``seq``; a catch-up pass re-copies just the
  rows named after it (delete them in the copy, insert what the live file now
  holds), in a fresh snapshot, and notes the new last ``seq``;
* passes repeat outside any lock while writers carry on; the last one runs while
  the caller holds the writer lock, and so has only a few seconds' writes to copy.

Rows keep their ``rowid`` (``sqlcipher_export`` would renumber tables that have
no integer primary key, and the log names rows by it); a ``WITHOUT ROWID``
table is keyed by its primary key, of one column or two (the log has room for
two). The log and triggers exist in the live file only, never in the copy; a
re-key that stops before its swap drops them, and so does the next run or
process start after one that was killed (backup/rekey_recovery.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from casefeedback.storage.dialect import APPLICATION_ID, BUSY_TIMEOUT_MS, open_keyed, raw_key_pragma_value

PREFIX = "casefeedback_rekey_"
CHANGES = PREFIX + "changes"
TARGET = "casefeedback_rekey_target"
_SKIPPED = ("sqlite_%", PREFIX + "%")


class CopyError(Exception):
    """The copy cannot be trusted or finished; the live database is untouched."""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # ("rowid",), or the primary-key columns (quoted) of a WITHOUT ROWID table
    with_rowid: bool

    def of(self, row: str) -> tuple[str, ...]:
        """The key's columns of the trigger's ``NEW`` or ``OLD`` row."""
        return tuple(f"{row}.{column}" for column in self.key)

    def matching(self) -> str:
        """A condition: the row's key is one the change log names (the subquery's parameters: table, since, upto)."""
        logged = ", ".join(_LOG_KEYS[: len(self.key)])
        named = f"(SELECT {logged} FROM main.{CHANGES} WHERE tbl = ? AND seq > ? AND seq <= ?)"  # noqa: S608
        return f"({', '.join(self.key)}) IN {named}" if len(self.key) > 1 else f"{self.key[0]} IN {named}"

    def quoted(self) -> str:
        return _q(self.name)

    def select_list(self) -> str:
        return ", ".join((["rowid"] if self.with_rowid else []) + [_q(c) for c in self.columns])


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def tables(cursor: Any, schema: str = "main") -> list[Table]:
    found = []
    rows = cursor.execute("SELECT name, wr FROM pragma_table_list WHERE schema = ? AND type = 'table' "
                          "AND name NOT LIKE ? AND name NOT LIKE ? ORDER BY name", (schema, *_SKIPPED)).fetchall()
    for name, without_rowid in rows:
        info = cursor.execute("SELECT name, pk FROM pragma_table_info(?, ?) ORDER BY cid", (name, schema)).fetchall()
        columns = tuple(str(row[0]) for row in info)
        if without_rowid:
            # pk: the column's place in the primary key (1, 2 …), 0 if not in it.
            keys = [str(row[0]) for row in sorted((row for row in info if row[1]), key=lambda row: row[1])]
            if not 1 <= len(keys) <= len(_LOG_KEYS):
                raise CopyError(f"table {name} is WITHOUT ROWID with a {len(keys)}-column key: its changes "
                                "cannot be followed during an online re-key")
            found.append(Table(str(name), columns, tuple(_q(key) for key in keys), False))
        else:
            found.append(Table(str(name), columns, ("rowid",), True))
    return found


# --- the change log, in the live file ---

# The change log's columns for a row's key: a rowid or a one-column key in the first, a two-column key in both.
_LOG_KEYS = ("k", "k2")


def start_tracking(cursor: Any) -> None:
    """Create the change log and its triggers: run inside a write transaction on the live file."""
    execute = cursor.execute
    execute(f"CREATE TABLE IF NOT EXISTS {CHANGES} (seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, k, k2)")
    for index, table in enumerate(tables(cursor)):
        name = table.name.replace("'", "''")
        new_key, old_key = table.of("NEW"), table.of("OLD")
        new, old = ", ".join(new_key), ", ".join(old_key)
        moved = " OR ".join(f"{n} IS NOT {o}" for n, o in zip(new_key, old_key, strict=True))
        log = f"INSERT INTO {CHANGES}(tbl, {', '.join(_LOG_KEYS[: len(table.key)])})"
        for kind, body in (("i", f"{log} VALUES ('{name}', {new});"),
                           ("u", f"{log} VALUES ('{name}', {old}); "
                                 f"{log} SELECT '{name}', {new} WHERE {moved};"),
                           ("d", f"{log} VALUES ('{name}', {old});")):
            event = {"i": "INSERT", "u": "UPDATE", "d": "DELETE"}[kind]
            execute(f"CREATE TRIGGER IF NOT EXISTS {PREFIX}{kind}{index} AFTER {event} ON {table.quoted()} "
                    f"BEGIN {body} END")


def stop_tracking(cursor: Any) -> bool:
    """Drop the log and its triggers (inside a write transaction); False if there were none."""
    execute = cursor.execute
    triggers = [str(row[0]) for row in cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?", (PREFIX + "%",)).fetchall()]
    had_log = cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = ?", (CHANGES,)).fetchone()[0]
    for trigger in triggers:
        execute(f"DROP TRIGGER IF EXISTS {_q(trigger)}")
    execute(f"DROP TABLE IF EXISTS {CHANGES}")
    return bool(triggers or had_log)


# --- the copy ---

@dataclass
class Pass:
    watermark: int  # the change log's last seq the copy now includes
    rows: int  # rows copied (bulk) or re-copied (catch-up)
    tables: int


class LiveCopy:
    """One connection on the live file with the new file attached under the new key."""

    def __init__(self, live: Path, live_key: bytes, target: Path, target_key: bytes) -> None:
        self.target = target
        self._db = open_keyed(f"file:{quote(str(live))}?mode=rw", live_key, str(live), uri=True, isolation_level=None,
                              check_same_thread=False)
        try:
            for pragma in (f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}", "PRAGMA temp_store = MEMORY",
                           # Catch-up deletes then re-inserts rows: any order of tables must be allowed.
                           "PRAGMA foreign_keys = OFF"):
                self._db.execute(pragma)
            self._db.execute(f"ATTACH DATABASE ? AS {TARGET} KEY ?", (str(target), raw_key_pragma_value(target_key)))
            for pragma in ("auto_vacuum = FULL", f"application_id = {APPLICATION_ID}", "secure_delete = ON",
                           "journal_mode = WAL", "synchronous = FULL"):
                self._db.execute(f"PRAGMA {TARGET}.{pragma}")
        except BaseException:
            self._db.close()
            raise
        self.schema_version = 0

    def close(self) -> None:
        self._db.close()

    def bulk(self, progress: Callable[[str, int, int, int], None]) -> Pass:
        """Copy every table as of one snapshot; return the change log's seq at that snapshot."""
        cursor = self._db.cursor()
        cursor.execute("BEGIN")
        try:
            watermark = int(cursor.execute(f"SELECT coalesce(max(seq), 0) FROM {CHANGES}").fetchone()[0])  # noqa: S608 — names from this module
            self.schema_version = int(cursor.execute("PRAGMA main.schema_version").fetchone()[0])
            user_version = int(cursor.execute("PRAGMA main.user_version").fetchone()[0])
            cursor.execute(f"PRAGMA {TARGET}.user_version = {user_version}")
            for sql in self._schema(cursor, "table"):
                cursor.execute(sql)
            found, total = tables(cursor), 0
            for number, table in enumerate(found, 1):
                cursor.execute(f"INSERT INTO {TARGET}.{table.quoted()}({table.select_list()}) "  # noqa: S608
                               f"SELECT {table.select_list()} FROM main.{table.quoted()}")
                total += cursor.rowcount
                progress(table.name, cursor.rowcount, number, len(found))
            self._copy_sequences(cursor)
            for sql in self._schema(cursor, "index"):
                cursor.execute(sql)
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        return Pass(watermark, total, len(found))

    def catch_up(self, since: int, *, final: bool = False, compare: bool = False) -> Pass:
        """Re-copy the rows changed after ``since``, as the live file holds them now.

        ``compare``: then check every table holds as many rows as the live one, in this same
        snapshot (a read of every table: done before the pause, not in it). ``final``: the
        last pass, under the writer lock; it also brings views and triggers over."""
        cursor = self._db.cursor()
        cursor.execute("BEGIN")
        try:
            if int(cursor.execute("PRAGMA main.schema_version").fetchone()[0]) != self.schema_version:
                raise CopyError("the database's schema changed during the re-key (a migration ran?): nothing was "
                                "swapped; run `casefeedback keys rekey-db` again")
            upto = int(cursor.execute(f"SELECT coalesce(max(seq), 0) FROM {CHANGES}").fetchone()[0])  # noqa: S608 — names from this module
            changed = [str(row[0]) for row in cursor.execute(
                f"SELECT DISTINCT tbl FROM {CHANGES} WHERE seq > ? AND seq <= ?", (since, upto)).fetchall()]  # noqa: S608
            by_name = {table.name: table for table in tables(cursor)}
            rows = 0
            for name in changed:
                table = by_name[name]
                cursor.execute(f"DELETE FROM {TARGET}.{table.quoted()} WHERE {table.matching()}",  # noqa: S608
                               (name, since, upto))
                cursor.execute(f"INSERT INTO {TARGET}.{table.quoted()}({table.select_list()}) "  # noqa: S608
                               f"SELECT {table.select_list()} FROM main.{table.quoted()} WHERE {table.matching()}",
                               (name, since, upto))
                rows += cursor.rowcount
            if final:
                self._copy_sequences(cursor)
                for kind in ("view", "trigger"):
                    for sql in self._schema(cursor, kind):
                        cursor.execute(sql)
            if compare:
                self._compare_counts(cursor, by_name.values())
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        return Pass(upto, rows, len(changed))

    def check_target(self) -> list[str]:
        """SQLCipher's page MACs and SQLite's structure check on the copy; empty when sound."""
        problems = [str(row[0]) for row in self._db.execute(f"PRAGMA {TARGET}.cipher_integrity_check").fetchall()]
        problems += [str(row[0]) for row in self._db.execute(f"PRAGMA {TARGET}.integrity_check").fetchall()
                     if row[0] != "ok"]
        return problems

    def fold_log(self) -> None:
        """Fold the copy's write-ahead log into it (the bulk copy is all there): before the pause, so
        that the paused pass's own checkpoint has only its few pages to move."""
        self._db.execute(f"PRAGMA {TARGET}.wal_checkpoint(TRUNCATE)")

    def detach(self) -> None:
        """Fold the copy's write-ahead log into it and let it go: it is about to become the live file."""
        self.fold_log()
        self._db.execute(f"DETACH DATABASE {TARGET}")

    @staticmethod
    def _schema(cursor: Any, kind: str) -> list[str]:
        # sqlite_master holds each object's CREATE statement; the name is re-qualified for the copy.
        rows = cursor.execute("SELECT sql FROM main.sqlite_master WHERE type = ? AND sql IS NOT NULL "
                              "AND name NOT LIKE ? AND name NOT LIKE ? ORDER BY rowid", (kind, *_SKIPPED)).fetchall()
        statements = []
        for (sql,) in rows:
            head, _, rest = str(sql).partition(kind.upper() + " ")
            statements.append(f"{head}{kind.upper()} {TARGET}.{rest.lstrip()}")
        return statements

    @staticmethod
    def _copy_sequences(cursor: Any) -> None:
        exists = cursor.execute("SELECT count(*) FROM main.sqlite_master WHERE name = 'sqlite_sequence'").fetchone()[0]
        if exists:
            cursor.execute(f"DELETE FROM {TARGET}.sqlite_sequence")  # noqa: S608 — names from this module
            cursor.execute(f"INSERT INTO {TARGET}.sqlite_sequence SELECT * FROM main.sqlite_sequence")  # noqa: S608 — names from this module

    @staticmethod
    def _compare_counts(cursor: Any, found: Any) -> None:
        for table in found:
            live = cursor.execute(f"SELECT count(*) FROM main.{table.quoted()}").fetchone()[0]  # noqa: S608
            copy = cursor.execute(f"SELECT count(*) FROM {TARGET}.{table.quoted()}").fetchone()[0]  # noqa: S608
            if live != copy:
                raise CopyError(f"the copy of table {table.name} holds {copy} rows, the live one {live}: "
                                "nothing was swapped")
