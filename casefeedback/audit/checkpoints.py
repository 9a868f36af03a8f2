"""Signed checkpoints of the audit chain (Ed25519).

A checkpoint records (sequence number, MAC) of the newest event, the previous
checkpoint, and a key check of the chain key, signed with the instance's audit
signing key. Because each MAC chains every event before it, a checkpoint pins
the whole log up to that point. Copies exported and held elsewhere (by an
auditor, a regulator) prove later that the log was not rewritten or cut
short — even by someone who holds the chain key, since they would also need to
forge a signature that matches the copy already out of their reach.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Connection, RowMapping, insert, select

from casefeedback.audit.log import AuditLog
from casefeedback.storage.tables import audit_checkpoints, audit_head, instance_identity

FORMAT = "casefeedback-audit-checkpoint/1"
_SIGNED_FIELDS = ("instance_id", "seq", "mac", "at", "previous_seq", "previous_mac", "key_check", "public_key")


class CheckpointError(Exception):
    """A checkpoint cannot be written, read or trusted; the message says which and why."""


@dataclass(frozen=True)
class Checkpoint:
    instance_id: str
    seq: int
    mac: str
    at: str
    previous_seq: int | None
    previous_mac: str | None
    key_check: str
    public_key: str
    signature: str = ""

    def message(self) -> bytes:
        signed: dict[str, Any] = {name: getattr(self, name) for name in _SIGNED_FIELDS}
        signed["format"] = FORMAT
        return json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    def signature_ok(self) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.public_key)).verify(
                bytes.fromhex(self.signature), self.message())
        except (ValueError, InvalidSignature):
            return False
        return True

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **asdict(self)}, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str = "the checkpoint") -> Checkpoint:
        try:
            data = json.loads(text)
        except ValueError:
            raise CheckpointError(f"{where} is not a casefeedback audit checkpoint (not JSON; truncated?)") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CheckpointError(f"{where} is not a casefeedback audit checkpoint (format {FORMAT!r} expected)")
        try:
            return cls(instance_id=str(data["instance_id"]), seq=_int(data["seq"]), mac=str(data["mac"]),
                       at=str(data["at"]), previous_seq=_optional_int(data["previous_seq"]),
                       previous_mac=None if data["previous_mac"] is None else str(data["previous_mac"]),
                       key_check=str(data["key_check"]), public_key=str(data["public_key"]),
                       signature=str(data["signature"]))
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"{where} is incomplete or malformed ({error})") from None


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("a sequence number must be a whole number")
    return value


def _optional_int(value: object) -> int | None:
    return None if value is None else _int(value)


class Signer:
    """Holds the audit signing key (an Ed25519 seed from config.secrets.audit_signing)."""

    def __init__(self, seed: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(seed)

    def __repr__(self) -> str:
        return f"Signer(public_key={self.public_key[:16]}…)"

    @property
    def public_key(self) -> str:
        return self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def sign(self, checkpoint: Checkpoint) -> Checkpoint:
        unsigned = replace(checkpoint, public_key=self.public_key, signature="")
        return replace(unsigned, signature=self._key.sign(unsigned.message()).hex())

    def sign_bytes(self, message: bytes) -> str:
        return self._key.sign(message).hex()


def public_key_of(seed: bytes) -> str:
    return Signer(seed).public_key


def signature_valid(public_key: str, signature: str, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(bytes.fromhex(signature), message)
    except (ValueError, InvalidSignature):
        return False
    return True


def instance_id(connection: Connection) -> str:
    found = connection.execute(select(instance_identity.c.instance_id)).scalar()
    if found is None:
        raise CheckpointError("this database has no instance id: run `casefeedback migrate`")
    return str(found)


def _from_row(row: RowMapping, instance: str) -> Checkpoint:
    return Checkpoint(instance, row["seq"], row["mac"], row["at"], row["previous_seq"], row["previous_mac"],
                      row["key_check"], row["public_key"], row["signature"])


def stored_checkpoints(connection: Connection) -> list[Checkpoint]:
    instance = instance_id(connection)
    rows = connection.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq)).all()
    return [_from_row(r._mapping, instance) for r in rows]


def latest_checkpoint(connection: Connection) -> Checkpoint | None:
    row = connection.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq.desc()).limit(1)).first()
    return _from_row(row._mapping, instance_id(connection)) if row else None


def covering_checkpoint(connection: Connection, seq: int) -> Checkpoint | None:
    """The first checkpoint at or after ``seq``: it pins every event up to and including ``seq``."""
    row = connection.execute(select(audit_checkpoints).where(audit_checkpoints.c.seq >= seq)
                             .order_by(audit_checkpoints.c.seq).limit(1)).first()
    return _from_row(row._mapping, instance_id(connection)) if row else None


def write_checkpoint(connection: Connection, audit: AuditLog, signer: Signer) -> Checkpoint | None:
    """Sign the chain's current head, in the caller's write transaction; None if nothing is new since the last."""
    head = connection.execute(select(audit_head.c.seq, audit_head.c.mac)).first()
    previous = latest_checkpoint(connection)
    if head is None or (previous is not None and previous.seq >= head.seq):
        return previous if previous is not None and head is not None and previous.seq == head.seq else None
    if previous is not None and previous.key_check != audit.key_check():
        raise CheckpointError("the audit chain key is not the one the log was written with (its key check "
                              "differs from the last checkpoint's): no checkpoint was written. Check "
                              "CASEFEEDBACK_AUDIT_CHAIN_KEY or instance/secrets/audit-chain.key.")
    if previous is not None and previous.public_key != signer.public_key:
        raise CheckpointError("the audit signing key is not the one earlier checkpoints were signed with: "
                              "no checkpoint was written. Check instance/secrets/audit-signing.key.")
    at = audit.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    checkpoint = signer.sign(Checkpoint(
        instance_id(connection), head.seq, head.mac, at, previous.seq if previous else None,
        previous.mac if previous else None, audit.key_check(), signer.public_key))
    connection.execute(insert(audit_checkpoints).values(
        seq=checkpoint.seq, mac=checkpoint.mac, at=checkpoint.at, previous_seq=checkpoint.previous_seq,
        previous_mac=checkpoint.previous_mac, key_check=checkpoint.key_check,
        public_key=checkpoint.public_key, signature=checkpoint.signature))
    return checkpoint
