"""The conventional peer for the submit benchmark: the same job as casefeedback's Send, done the usual way.

What a competent Flask team would build without our security: Flask-WTF
CSRF protection, Flask's signed cookie session holding the person's consent
and answers until they send, a Jinja receipt page that extends a layout, and
SQLAlchemy inserting the submission, its consent receipt, its eight answers and
three activity-log rows — the rows casefeedback's Send inserts, less the
wrapped data keys — into plain SQLite in one transaction. No encryption, no
access decisions, no HMAC chain, no draft store to erase.

SQLAlchemy Core with one executemany per table, as casefeedback itself writes,
so the comparison prices our security and not an ORM. The database uses
casefeedback's journal settings (WAL, synchronous=NORMAL).

Served by gunicorn as ``conventional_app:app`` with BENCH_CONVENTIONAL_DB
naming the file, made beforehand by ``create_database``. A session is
prepared by GET /form then POST /answers; the timed request is POST /send.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, abort, redirect, render_template, request, session
from flask_wtf import FlaskForm
from jinja2 import DictLoader
from sqlalchemy import (
    Column,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)

FIELDS = ("treated", "listened", "informed", "easy_to_reach", "chased", "safe_now", "safer", "anything_else")
DB_ENV = "BENCH_CONVENTIONAL_DB"
COOKIE = "conventional"

metadata = MetaData()
submissions = Table("submissions", metadata, Column("id", String(36), primary_key=True),
                    Column("language", String(8), nullable=False), Column("submitted_at", String(40), nullable=False),
                    Column("receipt_hash", String(64), nullable=False, unique=True))
consent_receipts = Table("consent_receipts", metadata, Column("id", String(36), primary_key=True),
                         Column("submission_id", ForeignKey("submissions.id"), nullable=False),
                         Column("choices", Text, nullable=False), Column("given_at", String(40), nullable=False))
answers = Table("answers", metadata, Column("id", String(36), primary_key=True),
                Column("submission_id", ForeignKey("submissions.id"), nullable=False),
                Column("question_id", String(40), nullable=False), Column("position", Integer, nullable=False),
                Column("value", Text, nullable=False))
activity = Table("activity", metadata, Column("id", Integer, primary_key=True),
                 Column("at", String(40), nullable=False), Column("action", String(40), nullable=False),
                 Column("object_id", String(36)), Column("detail", Text, nullable=False))

TEMPLATES = {
    "layout.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %} – Give feedback</title><link rel="stylesheet" href="/static/site.css"></head>
<body><header class="header"><a href="/" class="header__link">Give feedback about our support</a></header>
<main class="main" id="main-content">{% block content %}{% endblock %}</main>
<footer class="footer"><p>If you are in danger now, call 999.</p></footer></body></html>""",
    "form.html": """{% extends "layout.html" %}{% block title %}Your answers{% endblock %}
{% block content %}<form method="post" action="/answers">{{ form.csrf_token }}
{% for name in fields %}<label for="q_{{ name }}">{{ name }}</label>
<input id="q_{{ name }}" name="q_{{ name }}">{% endfor %}
<button type="submit">Continue</button></form>{% endblock %}""",
    "receipt.html": """{% extends "layout.html" %}{% block title %}Thank you{% endblock %}
{% block content %}<div class="panel"><h1 class="panel__title">Thank you: your feedback was sent</h1>
<p>Your receipt code is</p><p class="receipt-code">{{ code }}</p></div>
<p>Keep this code if you want to see or withdraw your feedback later. You answered
{{ answered }} of your {{ total }} questions as you gave them.</p>{% endblock %}""",
    "already_sent.html": """{% extends "layout.html" %}{% block title %}Already sent{% endblock %}
{% block content %}<h1>Your feedback was already sent</h1>{% endblock %}""",
}

app = Flask(__name__)
# Each gunicorn worker needs the same keys, so they come from the environment the bench sets.
app.config.update(SECRET_KEY=os.environ.get("BENCH_CONVENTIONAL_SECRET", "bench-only-not-a-secret"),
                  SESSION_COOKIE_NAME=COOKIE, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
app.jinja_loader = DictLoader(TEMPLATES)
_engine: Engine | None = None


class ActionForm(FlaskForm):  # type: ignore[misc]  # flask_wtf is untyped
    """No fields of its own: it carries the CSRF token."""


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    for pragma in ("PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 5000"):
        connection.execute(pragma)


def _open(path: str) -> Engine:
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_database(path: str) -> None:
    engine = _open(path)
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode = WAL")
    metadata.create_all(engine)
    engine.dispose()


def server_env(path: str) -> dict[str, str]:
    return {DB_ENV: path, "BENCH_CONVENTIONAL_SECRET": secrets.token_hex(32)}


def _database() -> Engine:
    # One engine per worker, made after gunicorn forks.
    global _engine
    if _engine is None:
        _engine = _open(os.environ[DB_ENV])
    return _engine


@app.get("/form")
def form() -> str:
    return render_template("form.html", form=ActionForm(), fields=FIELDS)


@app.post("/answers")
def save_answers() -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    session["consent"] = {"store": True, "given_at": datetime.now(UTC).isoformat()}
    session["answers"] = {name: value for name in FIELDS if (value := request.form.get(f"q_{name}"))}
    return redirect("/check", code=303)


@app.post("/send")
def send() -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    given, consent = session.pop("answers", None), session.pop("consent", None)
    if given is None or consent is None:
        return render_template("already_sent.html"), 409
    now, submission_id = datetime.now(UTC).isoformat(), str(uuid.uuid4())
    code = secrets.token_hex(10).upper()
    with _database().begin() as connection:
        connection.execute(submissions.insert(), [{
            "id": submission_id, "language": "en", "submitted_at": now,
            "receipt_hash": hashlib.sha256(code.encode()).hexdigest()}])
        connection.execute(consent_receipts.insert(), [{
            "id": str(uuid.uuid4()), "submission_id": submission_id,
            "choices": json.dumps({"store": consent["store"]}), "given_at": consent["given_at"]}])
        connection.execute(answers.insert(), [{
            "id": str(uuid.uuid4()), "submission_id": submission_id, "question_id": name, "position": position,
            "value": json.dumps(given[name])} for position, name in enumerate(FIELDS) if name in given])
        connection.execute(activity.insert(), [
            {"at": now, "action": action, "object_id": submission_id, "detail": json.dumps(detail)}
            for action, detail in (("received", {"answered": len(given)}),
                                   ("consent_recorded", {"choices": 1}), ("answers_cleared", {"fields": len(given)}))])
    return render_template("receipt.html", code=code, answered=len(given), total=len(FIELDS))


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
