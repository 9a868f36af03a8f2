"""Shared insight exports: suppressed base counts as CSV and JSON, with a signed manifest.

Only contribution counts are exported: contributions exist only for people
whose consent includes ``share_insight`` (insight/contributions.py), so nothing of
anyone who did not agree to sharing leaves the organisation. Submission and
consent counts cover everyone and stay in-house. Only published base counts
(at or over the threshold) are listed: a combination that is not listed had
fewer than the threshold, possibly none — absence says nothing more.

The manifest lists each file's SHA-256 and is signed with Ed25519 under the
instance's own ``insight-signing`` key (never the audit signing key). A partner
agency checks the signature against the public key it was given out of band.
Schema: docs/insight-export.md.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Connection

from casefeedback.insight import suppression
from casefeedback.insight.counts import Scope, read_counts
from casefeedback.insight.report import insight_questions
from casefeedback.policy.model import ServicePolicy

SCHEMA = "casefeedback.insight/1"
MANIFEST_SCHEMA = "casefeedback.insight-manifest/1"
CSV_COLUMNS = ("service_id", "team", "month", "question_id", "answer", "count")
NO_TEAM = "(no team)"
ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # fixed, so the same export is the same bytes


class ExportError(Exception):
    """The export cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class Bundle:
    files: Mapping[str, bytes]  # name -> content, manifest.json included
    rows: int
    manifest_sha256: str

    def zip_bytes(self) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in self.files.items():
                archive.writestr(zipfile.ZipInfo(name, ZIP_TIME), content)
        return out.getvalue()


def canonical(document: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def public_key_of(seed: bytes) -> str:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def build_bundle(connection: Connection, policy: ServicePolicy, scope: Scope, team_names: Mapping[str, str],
                 *, seed: bytes, instance_id: str, now: datetime) -> Bundle:
    published = suppression.publish(read_counts(connection, scope), policy.suppress_below)
    wanted = {q.id for q in insight_questions(policy)}
    rows = sorted((s, team_names.get(t, NO_TEAM), m, q, a, n) for (s, t, m, q, a), n in published.items()
                  if q in wanted)
    generated = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    document = {
        "schema": SCHEMA, "generated_at": generated, "suppress_below": policy.suppress_below,
        "service": {"id": policy.id, "name": policy.name.get("en", policy.id)},
        "team": team_names.get(scope.team_id, NO_TEAM) if scope.team_id is not None else None,
        "period": {"first_month": scope.first_month, "last_month": scope.last_month},
        "questions": [{"id": q.id, "text": q.text.get("en", q.id), "kind": q.kind,
                       "failure_demand": q.failure_demand, "answers": list(q.option_ids())}
                      for q in insight_questions(policy)],
        "rows": [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows],
    }
    files = {"insight.csv": _csv(rows), "insight.json": json.dumps(document, indent=1, ensure_ascii=False).encode()}
    manifest: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA, "data_schema": SCHEMA, "instance_id": instance_id, "generated_at": generated,
        "suppress_below": policy.suppress_below, "rows": len(rows),
        "files": [{"name": name, "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}
                  for name, body in files.items()],
        "public_key": public_key_of(seed),
    }
    manifest["signature"] = Ed25519PrivateKey.from_private_bytes(seed).sign(canonical(manifest)).hex()
    manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode()
    return Bundle({**files, "manifest.json": manifest_bytes}, len(rows), hashlib.sha256(manifest_bytes).hexdigest())


def _csv(rows: list[tuple[str, str, str, str, str, int]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        # Team names are typed by administrators: neutralise spreadsheet formulas.
        writer.writerow(["'" + v if isinstance(v, str) and v[:1] in "=+-@\t\r" else v for v in row])
    return out.getvalue().encode()


def verify_bundle(files: Mapping[str, bytes], public_key: str) -> list[str]:
    """What is wrong with a received bundle, checked against the sender's public key; empty when it is sound."""
    try:
        manifest = json.loads(files["manifest.json"])
        signature = bytes.fromhex(manifest.pop("signature"))
    except (KeyError, ValueError, TypeError, AttributeError):
        return ["manifest.json is missing or unreadable"]
    problems = []
    if manifest.get("public_key") != public_key:
        problems.append("the manifest was not signed with the expected key")
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(signature, canonical(manifest))
    except (ValueError, InvalidSignature):
        problems.append("the manifest's signature does not match")
    for entry in manifest.get("files", []):
        body = files.get(entry.get("name", ""))
        if body is None or hashlib.sha256(body).hexdigest() != entry.get("sha256"):
            problems.append(f"{entry.get('name')} is missing or changed")
    return problems
