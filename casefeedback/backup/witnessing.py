"""Erasures to the remote witness: the ledger's key ids, sent where the host cannot take them back.

The copy beside the audit witness file survives losing the database directory;
a remote witness survives losing the host. Each new ledger line goes to
``CASEFEEDBACK_AUDIT_WITNESS_URL`` as ``{"format": "casefeedback-erasures/1",
"entries": [...]}``, signed like the checkpoints. Ids and times only, never
content. How far it got is kept beside the copy, so a line is sent once and a
failure is retried by the next run.
"""

from __future__ import annotations

import json
from pathlib import Path

from casefeedback.audit.remote import RemoteWitnessFailed, post_signed
from casefeedback.config import Config
from casefeedback.retention import ledger

FORMAT = "casefeedback-erasures/1"
_BATCH = 500


def _sent_path(copy: Path) -> Path:
    return copy.with_name(copy.name + ".sent")


def send_erasures(config: Config, now: int) -> str:
    """POST the copy's lines the remote witness has not had; a one-line summary (never content)."""
    if not config.audit_witness_url:
        return ""
    copy = ledger.witness_copy_path(config.witness_path)
    lines = [e.line() for e in ledger.read_file(copy)]
    try:
        sent = int(_sent_path(copy).read_text(encoding="ascii").strip() or 0)
    except (OSError, ValueError):
        sent = 0
    start = sent
    while sent < len(lines):
        batch = [json.loads(line) for line in lines[sent:sent + _BATCH]]
        body = json.dumps({"format": FORMAT, "entries": batch}, sort_keys=True, separators=(",", ":")).encode()
        try:
            post_signed(config, config.audit_witness_url, body, now)
        except RemoteWitnessFailed as failed:
            return f"{sent - start} erasure(s) sent to the remote witness, then it failed ({failed.kind})"
        sent += len(batch)
        _sent_path(copy).write_text(f"{sent}\n", encoding="ascii")
    return f"{sent - start} erasure(s) sent to the remote witness" if sent > start else ""
