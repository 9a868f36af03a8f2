"""The bare baseline for the submit benchmark: Flask + stdlib sqlite3, nothing else.

Stores the same eight answers as casefeedback's victim-support form, one row
per POST /submit, with no CSRF, session, encryption, audit log or templates.
The database uses the same journal settings as casefeedback (WAL,
synchronous=NORMAL), so the difference measured is what casefeedback adds, not
a cheaper durability setting.

Served by gunicorn as ``baseline_app:app`` with BENCH_BASELINE_DB naming the
file, which ``create_database`` makes beforehand (once, not in every worker).
"""

from __future__ import annotations

import html
import os
import secrets
import sqlite3
from datetime import UTC, datetime

from flask import Flask, request

FIELDS = ("treated", "listened", "informed", "easy_to_reach", "chased", "safe_now", "safer", "anything_else")
PRAGMAS = ("PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 5000")

app = Flask(__name__)
_connection: sqlite3.Connection | None = None


def create_database(path: str) -> None:
    connection = sqlite3.connect(path)
    try:
        # WAL is a property of the file, so it is set once here; the others are per connection.
        connection.execute("PRAGMA journal_mode = WAL")
        columns = ", ".join(f"{name} TEXT" for name in FIELDS)
        connection.execute(f"CREATE TABLE IF NOT EXISTS submissions (id INTEGER PRIMARY KEY, {columns}, "
                           "submitted_at TEXT NOT NULL)")
        connection.commit()
    finally:
        connection.close()


def _database() -> sqlite3.Connection:
    # One connection per worker process, opened after gunicorn forks (a sqlite3
    # connection must not cross a fork). Sync workers serve one request at a time.
    global _connection
    if _connection is None:
        _connection = sqlite3.connect(os.environ["BENCH_BASELINE_DB"], isolation_level=None)
        for pragma in PRAGMAS:
            _connection.execute(pragma)
    return _connection


INSERT = (f"INSERT INTO submissions ({', '.join(FIELDS)}, submitted_at) "  # noqa: S608 - names are constants
          f"VALUES ({', '.join('?' for _ in FIELDS)}, ?)")


@app.post("/submit")
def submit() -> str:
    values = [request.form.get(f"q_{name}") or None for name in FIELDS]
    database = _database()
    # BEGIN IMMEDIATE, as casefeedback's writes do: the write lock is taken up front.
    database.execute("BEGIN IMMEDIATE")
    try:
        database.execute(INSERT, [*values, datetime.now(UTC).isoformat()])
    except BaseException:
        database.execute("ROLLBACK")
        raise
    database.execute("COMMIT")
    code = secrets.token_hex(10).upper()
    return (f"<!doctype html><html lang=en><title>Thank you</title><p>Your receipt code is</p>"
            f"<p class=receipt-code>{html.escape(code)}</p></html>")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
