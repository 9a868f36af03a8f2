"""Seeding submissions straight into the store (sealed exactly as intake seals them), at chosen times.

Retention tests need feedback sent on a given day, tied (or not) to a case
closed on a given day; driving the intake forms for each would test intake,
not retention. The sealing is the real SubmissionSealer, so erasure and
restore act on real ciphertext under real data keys.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from casefeedback.audit import AuditEvent
from casefeedback.auth import accounts
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import create_case
from casefeedback.crypto.envelope import SubmissionSealer
from casefeedback.policy import load_policies
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.tables import answers, cases, consent_receipts, data_keys, submissions
from tests.conftest import POLICIES
from tests.stores import config_on_each_engine  # noqa: F401 - every test here runs on both engines


def seed_submission(found: Services, given: dict[str, str | list[str]], *, at: datetime | None = None,
                    case_id: str | None = None, share_insight: bool = False,
                    service: str = "victim-support") -> str:
    policy = found.policies.service(service)
    assert policy is not None
    at = at or found.clock()
    submission_id = str(uuid.uuid4())
    sealer = SubmissionSealer(found.keyring, submission_id)
    rows = []
    for position, question in enumerate(policy.questions):
        if question.id not in given:
            continue
        row_id = str(uuid.uuid4())
        sealed = sealer.seal(table="answers", row_id=row_id, field_id=question.id,
                             field_class=question.field_class, plaintext=json.dumps(given[question.id]))
        rows.append({"id": row_id, "submission_id": submission_id, "question_id": question.id,
                     "field_class": question.field_class, "data_key_id": sealed.data_key_id,
                     "position": position, "ciphertext": sealed.ciphertext})
    keys = [{"id": k.id, "submission_id": submission_id, "field_class": k.field_class, "kek_id": k.kek_id,
             "wrapped": k.wrapped, "created_at": at} for k in sealer.wrapped_keys()]
    with write(found.engine) as connection:
        connection.execute(submissions.insert(), {
            "id": submission_id, "service_id": service, "policy_version": policy.version, "case_id": case_id,
            "language": "en", "submitted_at": at, "status": "active", "receipt_hash": secrets.token_hex(32)})
        connection.execute(consent_receipts.insert(), {
            "id": str(uuid.uuid4()), "submission_id": submission_id, "consent_version": policy.consent.version,
            "language": "en", "choices": json.dumps({"store": True, "share_insight": share_insight}),
            "given_at": at, "withdrawn_at": None})
        if keys:
            connection.execute(data_keys.insert(), keys)
            connection.execute(answers.insert(), rows)
        found.audit.append(connection, AuditEvent(action="submission.receive", outcome="stored",
                                                  actor_role="service_user", object_type="submission",
                                                  object_id=submission_id, detail={"answered": len(rows)}))
    return submission_id


def seed_case(found: Services, *, owner: str | None = None, team: str = "North",
              closed_at: datetime | None = None) -> str:
    with write(found.engine) as connection:
        team_id = accounts.ensure_team(connection, team)
        owner_id = owner or accounts.add_staff(connection, username=f"owner-{secrets.token_hex(3)}",
                                               display_name="Owner", role="caseworker", password="x" * 16,
                                               now=found.clock(), team_id=team_id)
        member = StaffMember(owner_id, "owner", "Owner", "caseworker", team_id)
        case_id = create_case(connection, member=member, service_id="victim-support",
                              reference=f"R-{secrets.token_hex(4)}", now=found.clock())
        if closed_at is not None:
            connection.execute(update(cases).where(cases.c.id == case_id).values(status="closed",
                                                                                  closed_at=closed_at))
    return case_id


def close_case(found: Services, case_id: str, at: datetime | None) -> None:
    with write(found.engine) as connection:
        connection.execute(update(cases).where(cases.c.id == case_id).values(
            status="closed" if at else "open", closed_at=at))


def key_classes(found: Services, submission_id: str) -> set[str]:
    with write(found.engine) as connection:
        return set(connection.execute(select(data_keys.c.field_class)
                                      .where(data_keys.c.submission_id == submission_id)).scalars())


def policies_with(tmp_path: Path, replacements: dict[str, str]):
    """The default policy with some lines changed, e.g. a class's retention, loaded from a temp dir."""
    text = (POLICIES / "victim-support.toml").read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    directory = tmp_path / "policies"
    directory.mkdir(exist_ok=True)
    for extra in POLICIES.glob("*.toml"):
        if extra.name != "victim-support.toml":
            (directory / extra.name).write_text(extra.read_text(encoding="utf-8"), encoding="utf-8")
    (directory / "victim-support.toml").write_text(text, encoding="utf-8")
    return load_policies(directory)


@pytest.fixture
def found(config, clock):
    """The services alone, as the worker and the commands build them: no web app needed."""
    from casefeedback.services import build_services

    services = build_services(config, load_policies(config.policies_dir), clock)
    yield services
    services.engine.dispose()


# SQLCipher 4's defaults, as casefeedback opens files (raw key, so no key derivation for encryption):
# AES-256-CBC per page, 80 reserved bytes at the end of each page (16-byte IV, 64-byte HMAC), the first
# 16 bytes of the file are the salt.
PAGE, WAL_HEADER, FRAME_HEADER = 4096, 32, 24
# Bytes SQLCipher keeps at the end of each page: the IV (16) and the page MAC (32 for HMAC-SHA256, what files
# are made with now; 64 for HMAC-SHA512, SQLCipher 4's own default, which earlier files have).
RESERVES = (48, 80)


def _decrypt_page(page: bytes, key: bytes, first: bool, reserve: int) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    start = 16 if first else 0
    iv = page[PAGE - reserve:PAGE - reserve + 16]
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(page[start:PAGE - reserve]) + decryptor.finalize()


def _reserve_of(first_page: bytes, key: bytes) -> int:
    """The file's per-page reserve, told by which one decrypts page 1 into a true SQLite header (page size,
    the reserve itself at byte 20, and the fixed payload fractions 64, 32, 32 at bytes 21-23). Never a guess:
    a decryption that went wrong would make every "the canary is not in the file" check pass for nothing."""
    for reserve in RESERVES:
        header = _decrypt_page(first_page, key, True, reserve)  # page bytes 16 onwards
        if header[0:2] == PAGE.to_bytes(2, "big") and header[4:8] == bytes([reserve, 64, 32, 32]):
            return reserve
    raise AssertionError("decrypted_image cannot decrypt this file: its page settings are not ones it knows")


def decrypted_image(database: Path, key: bytes) -> bytes:
    """Every page of the database file and its WAL, decrypted with the database key — live rows, free pages
    and old page images alike. What this holds is what someone with the database key could ever find."""
    data = database.read_bytes()
    wal = database.with_name(database.name + "-wal")
    raw = wal.read_bytes() if wal.exists() else b""
    step = FRAME_HEADER + PAGE
    frames = [(int.from_bytes(raw[offset:offset + 4], "big"), raw[offset + FRAME_HEADER:offset + step])
              for offset in range(WAL_HEADER, len(raw) - step + 1, step)]
    first = data[:PAGE] if len(data) >= PAGE else next(page for number, page in frames if number == 1)
    reserve = _reserve_of(first, key)
    pages = [_decrypt_page(data[i:i + PAGE], key, i == 0, reserve) for i in range(0, len(data) - PAGE + 1, PAGE)]
    pages += [_decrypt_page(page, key, number == 1, reserve) for number, page in frames]
    return b"".join(pages)


def settled_digest(found: Services) -> str:
    """A digest of everything the database holds (every row of every table, in order). Compared before and
    after a refused command: the same digest means nothing was changed. (The file's own bytes are no
    measure: SQLCipher re-encrypts a page with a fresh IV whenever SQLite rewrites it, content unchanged.)"""
    import hashlib

    from sqlalchemy import inspect, text

    digest = hashlib.sha256()
    with found.engine.connect() as connection:
        for name in sorted(inspect(connection).get_table_names()):
            digest.update(name.encode())
            for row in connection.execute(text(f'SELECT * FROM "{name}" ORDER BY 1')):  # noqa: S608
                digest.update(repr(tuple(row)).encode())
    found.engine.dispose()
    return digest.hexdigest()
