"""Envelope encryption of sensitive fields.

A fresh AES-256-GCM data key per (submission, field class), stored only wrapped
by a key-encryption key. Erasing a class of a submission is destroying its one
wrapped data key: every ciphertext under it becomes noise (crypto-shredding).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from casefeedback.crypto.aead import IntegrityFailure, associated_data, decrypt, encrypt
from casefeedback.crypto.keyring import Keyring
from casefeedback.policy.decisions import AccessGrant
from casefeedback.storage.ids import grouped_id

__all__ = ["IntegrityFailure", "SealedField", "SubmissionSealer", "WrappedDataKey", "open_field", "seal_under"]

DATA_KEY_BYTES = 32


@dataclass(frozen=True)
class WrappedDataKey:
    id: str
    submission_id: str
    field_class: str
    kek_id: str
    wrapped: bytes = field(repr=False)

    @property
    def context(self) -> tuple[str, ...]:
        return (self.id, self.submission_id, self.field_class)


@dataclass(frozen=True)
class SealedField:
    """Where a ciphertext lives is part of what it authenticates (the AAD)."""

    table: str
    row_id: str
    field_id: str
    field_class: str
    data_key_id: str
    ciphertext: bytes = field(repr=False)

    def aad(self) -> bytes:
        return associated_data(self.table, self.row_id, self.field_id, self.field_class, self.data_key_id)


class SubmissionSealer:
    """Seals the fields of one submission; data keys never leave this object unwrapped."""

    def __init__(self, keyring: Keyring, submission_id: str) -> None:
        self._keyring = keyring
        self._submission_id = submission_id
        self._keys: dict[str, tuple[str, bytes]] = {}  # class -> (data key id, data key)

    def seal(self, *, table: str, row_id: str, field_id: str, field_class: str, plaintext: str) -> SealedField:
        key_id, data_key = self._data_key(field_class)
        placed = SealedField(table, row_id, field_id, field_class, key_id, b"")
        ciphertext = encrypt(data_key, plaintext.encode("utf-8"), placed.aad())
        return SealedField(table, row_id, field_id, field_class, key_id, ciphertext)

    def wrapped_keys(self) -> list[WrappedDataKey]:
        wrapped = []
        for field_class, (key_id, data_key) in self._keys.items():
            context = (key_id, self._submission_id, field_class)
            kek_id, blob = self._keyring.wrap(data_key, context)
            wrapped.append(WrappedDataKey(key_id, self._submission_id, field_class, kek_id, blob))
        return wrapped

    def _data_key(self, field_class: str) -> tuple[str, bytes]:
        if field_class not in self._keys:
            # Beside the record's other keys in the indexes, not on a page of its own (storage/ids.py).
            self._keys[field_class] = (grouped_id(self._submission_id), os.urandom(DATA_KEY_BYTES))
        return self._keys[field_class]


def seal_under(keyring: Keyring, key: WrappedDataKey, *, table: str, row_id: str, field_id: str,
               plaintext: str) -> SealedField:
    """Seal one more field under a data key its record already has (a second reply under the reply class's key).

    One key per (record, class) is what lets erasure destroy a whole class at once; the key is unwrapped here
    only to encrypt, and nothing is opened, so no access decision is needed.
    """
    data_key = keyring.unwrap(key.kek_id, key.wrapped, key.context)
    placed = SealedField(table, row_id, field_id, key.field_class, key.id, b"")
    return SealedField(table, row_id, field_id, key.field_class, key.id,
                       encrypt(data_key, plaintext.encode("utf-8"), placed.aad()))


def open_field(grant: AccessGrant, keyring: Keyring, key: WrappedDataKey, sealed: SealedField) -> str:
    """The one way to turn ciphertext back into text: only with a grant for exactly this field."""
    if not isinstance(grant, AccessGrant):
        raise TypeError("open_field needs an AccessGrant from the access decision")
    if (grant.submission_id, grant.field_class) != (key.submission_id, key.field_class):
        raise PermissionError("the grant is for a different submission or field class")
    if sealed.field_class != key.field_class or sealed.data_key_id != key.id:
        raise IntegrityFailure("ciphertext does not belong to this data key")
    data_key = keyring.unwrap(key.kek_id, key.wrapped, key.context)
    return decrypt(data_key, sealed.ciphertext, sealed.aad()).decode("utf-8")
