"""The bare baseline for the submit benchmark: Flask + stdlib sqlite3, nothing else.

Stores the same eight answers as casefeedback's victim-support form, one row
per POST /submit, with no CSRF, session, encryption, audit log or templates.
The database uses the same journal settings as casefeedback (WAL,
synchronous=NORMAL), so the difference measured is what casefeedback adds, not
a cheaper durability setting.

Served by gunicorn as ``baseline_app:app`` with BENCH_BASELINE_DB naming the
file, which ``create_database`` makes beforehand (once, not in every worker).

With BENCH_BASELINE_DRIVER=sqlcipher and BENCH_BASELINE_KEY (64 hex digits) the
same app opens the file with SQLCipher under that raw key instead (``server_env``
builds those variables; ``create_database(path, key_hex)`` makes the file
encrypted): the ladder benchmark uses it to price the encryption on its own.
The default, without them, is stdlib sqlite3 as above.
"""

from __future__ import annotations

import html
import os
import secrets
import sqlite3
from datetime import UTC, datetime
from typing import Any

from flask import Flask, request

FIELDS = ("treated", "listened", "informed", "easy_to_reach", "chased", "safe_now", "safer", "anything_else")
PRAGMAS = ("PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 5000")
DB_ENV, DRIVER_ENV, KEY_ENV = "BENCH_BASELINE_DB", "BENCH_BASELINE_DRIVER", "BENCH_BASELINE_KEY"

app = Flask(__name__)
_connection: sqlite3.Connection | None = None


def server_env(path: str, key_hex: str | None = None) -> dict[str, str]:
    """The environment gunicorn serves this app with: stdlib sqlite3, or SQLCipher under ``key_hex``."""
    if key_hex is None:
        return {DB_ENV: path}
    return {DB_ENV: path, DRIVER_ENV: "sqlcipher", KEY_ENV: key_hex}


def _key_from_env() -> str | None:
    driver = os.environ.get(DRIVER_ENV, "sqlite3")
    if driver == "sqlite3":
        return None
    if driver != "sqlcipher":
        raise RuntimeError(f"{DRIVER_ENV} must be sqlite3 or sqlcipher, not {driver!r}")
    return os.environ[KEY_ENV]


def _connect(path: str, key_hex: str | None, **options: Any) -> sqlite3.Connection:
    """Open ``path`` with stdlib sqlite3, or with SQLCipher under the raw key ``key_hex``."""
    if key_hex is None:
        plain: sqlite3.Connection = sqlite3.connect(path, **options)  # typed: **options hides the overload
        return plain
    # The key goes into SQL text, so it must be exactly what it claims: 256 bits in hex.
    if len(bytes.fromhex(key_hex)) != 32:
        raise ValueError("the SQLCipher key must be 64 hex digits (256 bits)")
    import sqlcipher3  # only when asked: the default baseline must not depend on it

    # sqlcipher3 is the stdlib sqlite3 module built against SQLCipher: the same DB-API.
    connection: sqlite3.Connection = sqlcipher3.connect(path, **options)
    # The key must be the first statement. A raw key (x'...') skips the per-open
    # key derivation, as casefeedback's own store does (storage/dialect.py).
    connection.execute(f"PRAGMA key = \"x'{key_hex}'\"")
    return connection


def create_database(path: str, key_hex: str | None = None) -> None:
    connection = _connect(path, key_hex)
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
        _connection = _connect(os.environ[DB_ENV], _key_from_env(), isolation_level=None)
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
