"""AES-256-GCM with a versioned wire format: version byte ‖ 96-bit nonce ‖ ciphertext+tag."""

from __future__ import annotations

import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
NONCE_BYTES = 12


class IntegrityFailure(Exception):
    """Ciphertext did not authenticate: altered, truncated, moved, or under another key.

    Carries no plaintext and no key material: it may be logged and shown.
    """


def associated_data(*parts: str) -> bytes:
    # JSON of a list is unambiguous (no separator can be smuggled inside a part),
    # so ("a|b", "c") and ("a", "b|c") never bind to the same bytes.
    return json.dumps(["casefeedback", FORMAT_VERSION, *parts], separators=(",", ":")).encode()


def encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return bytes([FORMAT_VERSION]) + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[0] != FORMAT_VERSION:
        raise IntegrityFailure("ciphertext is malformed or of an unknown format version")
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag:
        raise IntegrityFailure("ciphertext failed its integrity check") from None
