"""Signed checkpoints of the audit chains (Ed25519).

A checkpoint records every chain's head (its newest position and MAC), the
newest event number, the previous checkpoint, and a key check of the chain key,
signed with the instance's audit signing key. Because each MAC chains every
event before it in its chain, a checkpoint pins the whole log up to that point.
A checkpoint from before chains (format 1) records one head: chain 0's. Copies exported and held elsewhere (by an
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
from casefeedback.audit.walk import LEGACY_CHAIN, Heads, heads_digest, heads_of, last_seq_of
from casefeedback.storage.tables import audit_checkpoints, instance_identity

FORMAT = "casefeedback-audit-checkpoint/1"  # one chain (before migration 0014): still read and checked
FORMAT_CHAINS = "casefeedback-audit-checkpoint/2"  # every chain's head
FORMATS = (FORMAT, FORMAT_CHAINS)
_SIGNED_FIELDS = ("instance_id", "seq", "mac", "at", "previous_seq", "previous_mac", "key_check", "public_key")
ChainHead = tuple[int, int, str]  # (chain, position of its newest event, that event's MAC)


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
    # Every chain's head; None for a format-1 checkpoint (then seq/mac are chain 0's head).
    heads: tuple[ChainHead, ...] | None = None

    @property
    def format(self) -> str:
        return FORMAT if self.heads is None else FORMAT_CHAINS

    def chain_heads(self) -> Heads:
        """chain → (position, MAC) this checkpoint recorded."""
        if self.heads is None:
            return {LEGACY_CHAIN: (self.seq, self.mac)}
        return {chain: (position, mac) for chain, position, mac in self.heads}

    def message(self) -> bytes:
        signed: dict[str, Any] = {name: getattr(self, name) for name in _SIGNED_FIELDS}
        signed["format"] = self.format
        if self.heads is not None:
            signed["heads"] = [list(head) for head in self.heads]
        return json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    def signature_ok(self) -> bool:
        # A format-2 checkpoint's mac is the digest of its heads: both are signed, so they can only
        # disagree if the signer did, but a reader should not have to trust that.
        if self.heads is not None and self.mac != heads_digest(self.chain_heads()):
            return False
        return signature_valid(self.public_key, self.signature, self.message())

    def as_dict(self) -> dict[str, Any]:
        found = {"format": self.format, **asdict(self)}
        if self.heads is None:
            del found["heads"]  # exactly the format-1 shape
        return found

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True) + "\n"

    def to_line(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, where: str = "the checkpoint") -> Checkpoint:
        try:
            data = json.loads(text)
        except ValueError:
            raise CheckpointError(f"{where} is not a casefeedback audit checkpoint (not JSON; truncated?)") from None
        if not isinstance(data, dict) or data.get("format") not in FORMATS:
            raise CheckpointError(f"{where} is not a casefeedback audit checkpoint (format {FORMAT_CHAINS!r} "
                                  "expected)")
        try:
            return cls(instance_id=str(data["instance_id"]), seq=_int(data["seq"]), mac=str(data["mac"]),
                       at=str(data["at"]), previous_seq=_optional_int(data["previous_seq"]),
                       previous_mac=None if data["previous_mac"] is None else str(data["previous_mac"]),
                       key_check=str(data["key_check"]), public_key=str(data["public_key"]),
                       signature=str(data["signature"]),
                       heads=parse_heads(data["heads"]) if data["format"] == FORMAT_CHAINS else None)
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"{where} is incomplete or malformed ({error})") from None


def parse_heads(value: object) -> tuple[ChainHead, ...]:
    """Heads as signed: [[chain, position, mac], …] in chain order; anything else is malformed."""
    if not isinstance(value, list):
        raise ValueError("heads must be a list")
    heads = []
    for item in value:
        if not isinstance(item, list) or len(item) != 3 or not isinstance(item[2], str):
            raise ValueError("each head must be [chain, position, mac]")
        heads.append((_int(item[0]), _int(item[1]), item[2]))
    if [h[0] for h in heads] != sorted({h[0] for h in heads}):
        raise ValueError("heads must name each chain once, in order")
    return tuple(heads)


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
    heads = None
    if row["heads"] is not None:
        try:
            heads = parse_heads(json.loads(row["heads"]))
        except (TypeError, ValueError):
            heads = ()  # altered: its signature cannot match, and verify says so
    return Checkpoint(instance, row["seq"], row["mac"], row["at"], row["previous_seq"], row["previous_mac"],
                      row["key_check"], row["public_key"], row["signature"], heads)


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
    """Sign every chain's current head, in the caller's write transaction; None if the log is empty.

    Nothing new since the last checkpoint (no event numbered past it) returns that one.
    """
    heads = heads_of(connection)
    last = last_seq_of(connection)
    previous = latest_checkpoint(connection)
    if last == 0:
        return None
    if previous is not None and previous.seq >= last:
        # On PostgreSQL an event numbered below the newest can commit after it; it is signed with the next.
        return previous if previous.seq == last else None
    if previous is not None and previous.key_check != audit.key_check():
        raise CheckpointError("the audit chain key is not the one the log was written with (its key check "
                              "differs from the last checkpoint's): no checkpoint was written. Check "
                              "CASEFEEDBACK_AUDIT_CHAIN_KEY or instance/secrets/audit-chain.key.")
    if previous is not None and previous.public_key != signer.public_key:
        raise CheckpointError("the audit signing key is not the one earlier checkpoints were signed with: "
                              "no checkpoint was written. Check instance/secrets/audit-signing.key.")
    at = audit.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    signed_heads = tuple((chain, position, mac) for chain, (position, mac) in sorted(heads.items()))
    checkpoint = signer.sign(Checkpoint(
        instance_id(connection), last, heads_digest(heads), at, previous.seq if previous else None,
        previous.mac if previous else None, audit.key_check(), signer.public_key, heads=signed_heads))
    connection.execute(insert(audit_checkpoints).values(
        seq=checkpoint.seq, mac=checkpoint.mac, at=checkpoint.at, previous_seq=checkpoint.previous_seq,
        previous_mac=checkpoint.previous_mac, key_check=checkpoint.key_check,
        public_key=checkpoint.public_key, signature=checkpoint.signature,
        heads=json.dumps([list(h) for h in signed_heads], separators=(",", ":"))))
    return checkpoint
