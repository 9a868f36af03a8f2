"""Signed evidence for auditors: the log's rows as a zip, with the checkpoint that covers every one of them.

The export is audited in the transaction that reads it, so no copy of the log
leaves without a trace; the checkpoint lets anyone holding the zip prove, later
and without trusting the instance, that the log still agrees with it.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.audit.checkpoints import Checkpoint, Signer, covering_checkpoint, write_checkpoint
from casefeedback.audit.review import COLUMNS, Filters, ReviewRow, export_rows, timestamp
from casefeedback.audit.walk import last_seq_of
from casefeedback.audit.watch import sign_and_witness
from casefeedback.audit.witness import Witness
from casefeedback.auth.sessions import StaffMember
from casefeedback.services import Services
from casefeedback.storage.engine import write

FORMATS = ("csv", "jsonl")


class NothingToExport(Exception):
    """The log has no events yet, so no checkpoint can cover an export."""


@dataclass(frozen=True)
class Evidence:
    body: bytes  # the zip
    filename: str
    events: int


def export_log(found: Services, auditor: StaffMember, filters: Filters, kind: str) -> Evidence:
    """The filtered log up to a signed checkpoint (the newest covering one, or one signed now).

    Signing goes through the witness first: evidence signed over a log that no
    longer holds what its witness recorded would launder the cut (WitnessRefused).
    """
    signer = Signer(found.config.secrets.audit_signing.value)
    sign_and_witness(found.engine, found.audit, signer, Witness(found.config.witness_path))
    with write(found.engine) as connection:
        last = last_seq_of(connection)
        if last == 0:
            raise NothingToExport
        checkpoint = covering_checkpoint(connection, last) or write_checkpoint(connection, found.audit, signer)
        if checkpoint is None:
            raise NothingToExport
        rows = export_rows(connection, filters, checkpoint.seq, found.policies.organisation.working_hours)
        found.audit.append(connection, AuditEvent(
            action=Action.AUDIT_EXPORT, outcome="success", actor_id=auditor.id, actor_role=auditor.role,
            object_type="checkpoint", object_id=str(checkpoint.seq),
            detail={"format": kind, "events": len(rows), "filters": filters.describe()[:200]}))
    now = found.clock()
    name = f"casefeedback-audit-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{kind}.zip"
    return Evidence(export_archive(rows, kind, checkpoint, filters, now), name, len(rows))


def export_archive(rows: Sequence[ReviewRow], kind: str, checkpoint: Checkpoint, filters: Filters,
                   exported_at: datetime) -> bytes:
    """A zip: the events (CSV or JSON Lines), the signed checkpoint that covers them, and how to check them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if kind == "csv":
            text = io.StringIO()
            writer = csv.DictWriter(text, fieldnames=COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _csv_safe(v) for k, v in row.as_dict().items()})
            archive.writestr("events.csv", text.getvalue())
        else:
            archive.writestr("events.jsonl", "".join(json.dumps(r.as_dict(), ensure_ascii=True) + "\n"
                                                     for r in rows))
        archive.writestr("checkpoint.json", checkpoint.to_json())
        archive.writestr("README.txt", _readme(len(rows), kind, checkpoint, filters, exported_at))
    return buffer.getvalue()


def _csv_safe(value: Any) -> Any:
    # A cell starting with = + - @ is run as a formula by spreadsheets: never let an id or reason do that.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _readme(count: int, kind: str, checkpoint: Checkpoint, filters: Filters, exported_at: datetime) -> str:
    return (f"casefeedback audit export\n\nExported: {timestamp(exported_at)}\nEvents: {count} ({kind})\n"
            f"Filters: {filters.describe()}\n\ncheckpoint.json is the signed checkpoint at event {checkpoint.seq}, "
            "which covers every event in this export. Keep it somewhere the instance cannot reach. At any later "
            "time, `casefeedback audit verify --from-checkpoint checkpoint.json` proves the instance's log still "
            "agrees with it: nothing up to that event was edited, deleted, inserted, reordered or cut off.\n"
            f"The checkpoint's signature can be checked with the instance's public key {checkpoint.public_key}.\n")
