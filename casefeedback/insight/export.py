"""Shared insight exports: a signed Frictionless Data Package of suppressed base counts.

Only contribution counts are exported: contributions exist only for people
whose consent includes ``share_insight`` (insight/contributions.py), so nothing of
anyone who did not agree to sharing leaves the organisation. Submission and
consent counts cover everyone and stay in-house.

Every combination in scope (team × month × question × answer) is a row; a count
under the threshold — including none — is the declared missing value
``suppressed``. Writing the full grid says no more than leaving rows out did
(a suppressed row and a row of nobody read the same), and a partner's tools
see "not known" where a number is withheld, instead of guessing zero.

``datapackage.json`` lists each file's SHA-256 and size; its exact bytes are
signed with Ed25519 under the instance's own ``insight-signing`` key (never the
audit signing key) into ``datapackage.json.sig``, so a partner agency checks one
signature — with our code, ``cryptography`` or ``openssl`` — against the public
key it was given out of band. Format: docs/insight-export.md.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Connection

from casefeedback.insight import datapackage, suppression
from casefeedback.insight.counts import Scope, read_counts
from casefeedback.insight.filters import months_between
from casefeedback.insight.report import insight_questions
from casefeedback.policy.model import Question, ServicePolicy

DESCRIPTOR = "datapackage.json"
SIGNATURE = "datapackage.json.sig"
ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # fixed, so the same export is the same bytes
Row = tuple[str, ...]


class ExportError(Exception):
    """The export cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class Bundle:
    files: Mapping[str, bytes]  # name -> content, datapackage.json and its signature included
    rows: int  # published counts (rows that are not suppressed)
    manifest_sha256: str  # of datapackage.json: the audit event names exactly what left

    def zip_bytes(self) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in self.files.items():
                archive.writestr(zipfile.ZipInfo(name, ZIP_TIME), content)
        return out.getvalue()


def public_key_of(seed: bytes) -> str:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def public_key_pem(public_key: str) -> str:
    """The same public key as PEM, for ``openssl pkeyutl -verify``."""
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def _safe(value: str) -> str:
    # Team names are typed by administrators: neutralise spreadsheet formulas.
    return "'" + value if value[:1] in "=+-@\t\r" else value


def _teams(scope: Scope, team_names: Mapping[str, str]) -> list[tuple[str, str]]:
    """(team id, name as written) in scope: one team, or every team and the feedback with none."""
    if scope.team_id is not None:
        return [(scope.team_id, _safe(team_names.get(scope.team_id, datapackage.NO_TEAM)))]
    return [("", datapackage.NO_TEAM), *sorted(((t, _safe(n)) for t, n in team_names.items()),
                                               key=lambda pair: pair[1])]


def _grid(published: Mapping[tuple[str, str, str, str, str], int], policy: ServicePolicy, scope: Scope,
          teams: Sequence[tuple[str, str]], questions: Sequence[Question]) -> list[Row]:
    rows: list[Row] = []
    for team_id, team_name in teams:
        for month in months_between(scope.first_month, scope.last_month):
            for question in questions:
                for answer in question.option_ids():
                    n = published.get((policy.id, team_id, month, question.id, answer))
                    rows.append((policy.id, team_name, month, question.id, answer,
                                 datapackage.SUPPRESSED if n is None else str(n)))
    return rows


def _csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def build_bundle(connection: Connection, policy: ServicePolicy, scope: Scope, team_names: Mapping[str, str],
                 *, seed: bytes, instance_id: str, now: datetime, licence: str = "OGL-UK-3.0") -> Bundle:
    published = suppression.publish(read_counts(connection, scope), policy.suppress_below)
    questions = insight_questions(policy)
    teams = _teams(scope, team_names)
    grid = _grid(published, policy, scope, teams, questions)
    bodies = {
        "insight": _csv(datapackage.INSIGHT_COLUMNS, grid),
        "questions": _csv(("question_id", "text", "kind", "failure_demand"),
                          [(q.id, q.text.get("en", q.id), q.kind, "true" if q.failure_demand else "false")
                           for q in questions]),
        "answers": _csv(("question_id", "answer", "label"), [(q.id, a, _label(q, a)) for q in questions
                                                             for a in q.option_ids()]),
    }
    schemas = {"insight": datapackage.insight_schema(policy, questions, [name for _t, name in teams]),
               "questions": datapackage.questions_schema(questions),
               "answers": datapackage.answers_schema(questions)}
    titles = {"insight": ("Counts", "One row per team, month, question and answer: the count, or `suppressed`."),
              "questions": ("Questions", "The questions counted, as asked."),
              "answers": ("Answers", "Every answer a question could have, as people saw it.")}
    resources = [datapackage.resource(name, *titles[name], body, hashlib.sha256(body).hexdigest(), schemas[name])
                 for name, body in bodies.items()]
    about: dict[str, Any] = {
        "generated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "instance_id": instance_id,
        "service": {"id": policy.id, "name": policy.name.get("en", policy.id)},
        "team": team_names.get(scope.team_id, datapackage.NO_TEAM) if scope.team_id is not None else None,
        "period": {"first_month": scope.first_month, "last_month": scope.last_month},
        "public_key": public_key_of(seed),
    }
    descriptor = json.dumps(datapackage.describe(policy, resources, about, licence), indent=1,
                            ensure_ascii=False).encode("utf-8")
    signature = Ed25519PrivateKey.from_private_bytes(seed).sign(descriptor)
    files = {DESCRIPTOR: descriptor, SIGNATURE: signature, **{f"{name}.csv": body for name, body in bodies.items()}}
    rows = sum(1 for row in grid if row[-1] != datapackage.SUPPRESSED)
    return Bundle(files, rows, hashlib.sha256(descriptor).hexdigest())


def _label(question: Question, answer: str) -> str:
    for option in question.options:
        if option.id == answer:
            return option.text.get("en", answer)
    return "Prefer not to say" if answer == "prefer_not_to_say" else answer


def verify_bundle(files: Mapping[str, bytes], public_key: str) -> list[str]:
    """What is wrong with a received package, checked against the sender's public key; empty when it is sound."""
    descriptor, signature = files.get(DESCRIPTOR), files.get(SIGNATURE)
    if descriptor is None or signature is None:
        return [f"{DESCRIPTOR} or {SIGNATURE} is missing"]
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(signature, descriptor)
    except (ValueError, InvalidSignature):
        return [f"{DESCRIPTOR} is not signed by the expected key, or was changed"]
    problems = []
    for entry in json.loads(descriptor)["resources"]:  # signed by the sender, so well-formed
        body = files.get(entry["path"])
        if body is None or f"sha256:{hashlib.sha256(body).hexdigest()}" != entry["hash"] \
                or len(body) != entry["bytes"]:
            problems.append(f"{entry['path']} is missing or changed")
    return problems
