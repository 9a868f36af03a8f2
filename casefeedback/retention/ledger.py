"""The ledger of destroyed data keys: what a restore must never bring back.

Every erasure records the ids of the data keys it destroyed — ids only, never
content — in two places:

* the ``erased_keys`` table, in the same transaction as the erasure (so the
  ledger and the erasure commit together or not at all), and
* an append-only file beside the database (``erasure-ledger.jsonl``), written
  as that transaction commits, so the ledger survives even when the database
  itself is lost and an old backup must be restored.

The lines are also copied to ``erasure-witness.jsonl`` in the audit witness's
directory — outside the database's directory, so it survives losing the database
*and* the file beside it — and the worker sends them on to the remote witness
where one is configured (``casefeedback/backup/witnessing.py``). A separate file
rather than lines in the checkpoint witness: a purge writes thousands of lines,
which would push the newest checkpoint out of the witness's tail.

A restore re-applies the union of the live table, this file, its witness copy and the backup's
own table before the restored database goes into service (see
``casefeedback/backup/restore.py``). A line is written just before the commit:
if the commit then failed, the ledger names a key that was not destroyed, and
a later restore destroys it — the safe direction for data that was due to go.

The retention purge is the exception (``record(..., file=False)``): an fsync
costs milliseconds, longer than a purge transaction may hold the write lock, so
it appends its lines just after each commit, outside the lock, and syncs them
to disk once at the end (``append_entries``, ``sync``). A crash between a commit
and its lines leaves a gap that ``sync_file`` (the worker's ledger mirror) fills
from the table — the table, committed with the erasure, is never behind.
"""

from __future__ import annotations

import json
import logging
import os
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, delete, event, insert, select

from casefeedback.storage.driver_rows import DriverRows, binders_of, insert_rows, insert_sql
from casefeedback.storage.engine import database_file
from casefeedback.storage.tables import answers, case_outcomes, data_keys, erased_keys, feedback_replies

LEDGER_FILE = "erasure-ledger.jsonl"
WITNESS_COPY_FILE = "erasure-witness.jsonl"
log = logging.getLogger(__name__)
# Ledger file -> its copy beside the audit witness, registered when the services are built.
_copies: dict[Path, Path] = {}


@dataclass(frozen=True)
class LedgerEntry:
    data_key_id: str
    submission_id: str
    field_class: str
    reason: str
    erased_at: datetime

    def line(self) -> str:
        return json.dumps({"data_key_id": self.data_key_id, "submission_id": self.submission_id,
                           "field_class": self.field_class, "reason": self.reason,
                           "erased_at": self.erased_at.isoformat()}, separators=(",", ":")) + "\n"


def ledger_path(database: Path) -> Path:
    return database.with_name(LEDGER_FILE)


def witness_copy_path(witness: Path) -> Path:
    """The ledger's copy beside the audit witness file (outside the database's directory)."""
    return witness.with_name(WITNESS_COPY_FILE)


def keep_copy(database: Path, witness: Path) -> Path:
    """From now on, every line this process appends to the ledger goes to the witness copy too."""
    copy = witness_copy_path(witness)
    _copies[ledger_path(database)] = copy
    return copy


# PostgreSQL has no database file to write beside: its ledger file is named per engine (the instance
# directory's), so that a restored dump or point-in-time recovery — which brings the erased_keys table
# back as it was — can be corrected from it (`casefeedback erasures reapply`).
_files_of: weakref.WeakKeyDictionary[Engine, Path] = weakref.WeakKeyDictionary()


def write_file_for(engine: Engine, path: Path) -> None:
    """Where erasures committed through ``engine`` are appended when it has no database file (PostgreSQL)."""
    _files_of[engine] = path


def _file_of(connection: Connection) -> Path | None:
    database = database_file(connection.engine)
    return ledger_path(database) if database is not None else _files_of.get(connection.engine)


_COLUMNS = ("data_key_id", "submission_id", "field_class", "reason", "erased_at")


# Lines waiting for their transaction to commit, per connection.
_pending: weakref.WeakKeyDictionary[Connection, list[str]] = weakref.WeakKeyDictionary()


def record(connection: Connection, entries: list[LedgerEntry], *, file: bool = True) -> None:
    """Note destroyed keys in the caller's transaction; the file line follows at commit
    (unless ``file`` is False: then the caller appends them itself, with ``append_entries``)."""
    if not entries:
        return
    # Straight to the driver: a purge writes thousands of these inside its short write transactions, and
    # SQLAlchemy's per-row parameter processing cost more than the insert itself (measured: 0.8 of a
    # 3.4 ms transaction). The time goes through the column's own type, so it is stored exactly as before.
    # The rows are made here, inside the transaction, so each distinct moment is converted once (one erasure:
    # one moment), not once a row as driver_rows would.
    stored_time = binders_of(erased_keys, ("erased_at",), connection.dialect)[0] or (lambda moment: moment)
    times = {moment: stored_time(moment) for moment in {e.erased_at for e in entries}}
    insert_rows(connection, DriverRows(insert_sql(erased_keys, _COLUMNS, connection.dialect), [
        (e.data_key_id, e.submission_id, e.field_class, e.reason, times[e.erased_at]) for e in entries]))
    if not file:  # the purge's own: no need to look for the file
        return
    path = _file_of(connection)
    if path is None:
        return
    if connection not in _pending:
        _pending[connection] = []
        event.listen(connection, "commit", lambda conn: _flush(conn, path))
        event.listen(connection, "rollback", lambda conn: _pending.get(conn, []).clear())
    _pending[connection].extend(e.line() for e in entries)


def _flush(connection: Connection, path: Path) -> None:
    lines = _pending.get(connection)
    if not lines:
        return
    append_lines(path, lines)
    lines.clear()


def append_lines(path: Path, lines: Iterable[str], *, durable: bool = True) -> None:
    data = "".join(lines).encode("utf-8")
    if not data:
        return
    _append(path, data, durable)
    copy = _copies.get(path)
    if copy is not None:
        try:
            copy.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _append(copy, data, durable)
        except OSError as error:
            # The erasure is done and the file beside the database has it; the worker's
            # ledger mirror (``sync_file``) fills the copy's gap when the directory is back.
            log.error("erasure ledger copy %s not written: %s", copy, error.strerror)


def _append(path: Path, data: bytes, durable: bool) -> None:
    # One write with O_APPEND: concurrent writers (web workers, the worker,
    # a command) never interleave inside a line. fsync: the ledger must outlive a crash
    # (without it, ``durable=False``, the lines outlive the process but not the machine).
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def append_entries(path: Path, entries: Iterable[LedgerEntry]) -> None:
    """Append lines for entries already committed to the table; not yet synced to disk (see ``sync``)."""
    append_lines(path, (e.line() for e in entries), durable=False)


def sync(path: Path) -> None:
    """Make every line appended so far (and its witness copy's) outlive a crash of the machine."""
    for each in (path, _copies.get(path)):
        if each is None or not each.exists():
            continue
        fd = os.open(each, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_file(path: Path) -> list[LedgerEntry]:
    """Every well-formed line (a line cut short by a crash is skipped: it was never committed)."""
    if not path.exists():
        return []
    found = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            data = json.loads(line)
            found.append(LedgerEntry(str(data["data_key_id"]), str(data["submission_id"]),
                                     str(data["field_class"]), str(data["reason"]),
                                     datetime.fromisoformat(data["erased_at"])))
        except (ValueError, KeyError, TypeError):
            continue
    return found


def read_table(connection: Connection) -> list[LedgerEntry]:
    rows = connection.execute(select(erased_keys)).all()
    return [LedgerEntry(r.data_key_id, r.submission_id, r.field_class, r.reason, r.erased_at) for r in rows]


def sync_file(connection: Connection, path: Path) -> int:
    """Append to the file (and its witness copy) any entry the table has and it lacks; return how many."""
    table = read_table(connection)
    in_file = {e.data_key_id for e in read_file(path)}
    missing = [e for e in table if e.data_key_id not in in_file]
    if missing:
        _append(path, "".join(e.line() for e in missing).encode(), True)
    copy = _copies.get(path)
    if copy is not None:
        in_copy = {e.data_key_id for e in read_file(copy)}
        lacking = [e for e in table if e.data_key_id not in in_copy]
        if lacking:
            copy.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _append(copy, "".join(e.line() for e in lacking).encode(), True)
    return len(missing)


@dataclass(frozen=True)
class Applied:
    data_keys: int
    fields: int
    entries_added: int


def apply(connection: Connection, entries: Iterable[LedgerEntry],
          progress: Callable[[int, int], None] | None = None) -> Applied:
    """Destroy every key (and its ciphertext) the ledger names, and complete the table. In the caller's transaction.

    ``progress``: told (entries applied, entries in all) at the start and after each chunk of 500."""
    wanted = {e.data_key_id: e for e in entries}
    known = set(connection.execute(select(erased_keys.c.data_key_id)).scalars())
    keys = fields = 0
    items = list(wanted.values())
    if progress is not None:
        progress(0, len(items))
    for start in range(0, len(items), 500):
        chunk = items[start:start + 500]
        # By submission first: answers are indexed by submission, not by data key.
        fields += connection.execute(delete(answers).where(
            answers.c.submission_id.in_({e.submission_id for e in chunk}),
            answers.c.data_key_id.in_([e.data_key_id for e in chunk]))).rowcount
        # Replies to the person, sealed under the submission's reply-class key.
        fields += connection.execute(delete(feedback_replies).where(
            feedback_replies.c.data_key_id.in_([e.data_key_id for e in chunk]))).rowcount
        keys += connection.execute(delete(data_keys).where(
            data_keys.c.id.in_([e.data_key_id for e in chunk]))).rowcount
        # Case outcomes carry their wrapped key in their own row.
        fields += connection.execute(delete(case_outcomes).where(
            case_outcomes.c.data_key_id.in_([e.data_key_id for e in chunk]))).rowcount
        if progress is not None:
            progress(start + len(chunk), len(items))
    added = [e for key_id, e in wanted.items() if key_id not in known]
    if added:
        connection.execute(insert(erased_keys), [
            {"data_key_id": e.data_key_id, "submission_id": e.submission_id, "field_class": e.field_class,
             "reason": e.reason, "erased_at": e.erased_at} for e in added])
    return Applied(keys, fields, len(added))
