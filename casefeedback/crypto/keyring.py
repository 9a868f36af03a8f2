"""Key-encryption keys (KEKs), each with an id; exactly one is active for wrapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from casefeedback.crypto.aead import IntegrityFailure, associated_data, decrypt, encrypt


class UnknownKeyError(IntegrityFailure):
    """A data key was wrapped by a key-encryption key this instance does not hold."""


@dataclass(frozen=True)
class Keyring:
    keks: Mapping[str, bytes] = field(repr=False)
    active_id: str

    def __post_init__(self) -> None:
        if self.active_id not in self.keks:
            raise ValueError(f"active key-encryption key {self.active_id!r} is not in the keyring")

    def __repr__(self) -> str:
        return f"Keyring(ids={sorted(self.keks)}, active={self.active_id!r})"

    def wrap(self, data_key: bytes, context: tuple[str, ...]) -> tuple[str, bytes]:
        """Wrap under the active KEK; the KEK id is bound into the associated data."""
        aad = associated_data("data_keys", *context, self.active_id)
        return self.active_id, encrypt(self.keks[self.active_id], data_key, aad)

    def unwrap(self, kek_id: str, wrapped: bytes, context: tuple[str, ...]) -> bytes:
        kek = self.keks.get(kek_id)
        if kek is None:
            raise UnknownKeyError(f"data key is wrapped by key-encryption key {kek_id!r}, which is not loaded")
        return decrypt(kek, wrapped, associated_data("data_keys", *context, kek_id))
