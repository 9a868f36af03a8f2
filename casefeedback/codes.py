"""Bearer codes people hold: receipt codes, resume codes and invitation tokens.

Only keyed hashes of them are stored (HMAC under the instance's lookup key), so
a copy of the database alone cannot be used to find or replay a code. The codes
carry ≥100 bits of entropy, which is why a fast keyed hash is enough and no
password-style key stretching is needed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand
# cannot be mistaken (0/O, 1/I/L) and spells no common words.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_GROUPS, GROUP_LENGTH = 5, 4  # 20 symbols × 5 bits = 100 bits
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def _new_code() -> str:
    # 5 bits a symbol: each random byte's low 5 bits pick from exactly 32 symbols, so no bias.
    symbols = "".join(ALPHABET[byte & 31] for byte in secrets.token_bytes(RECEIPT_GROUPS * GROUP_LENGTH))
    return "-".join(symbols[i : i + GROUP_LENGTH] for i in range(0, len(symbols), GROUP_LENGTH))


def new_receipt_code() -> str:
    return _new_code()


def new_resume_code() -> str:
    """A code to come back to unfinished answers: the same shape as a receipt code (100 bits, read aloud
    easily). Hashed under its own purpose, so a receipt code can never open a draft, nor the reverse."""
    return _new_code()


def normalise_receipt_code(typed: str) -> str | None:
    """Accept what a person would type: any case, spaces or dashes, O for 0, I or L for 1."""
    symbols = "".join(ch for ch in typed.upper() if ch.isalnum()).translate(_CONFUSABLE)
    if len(symbols) != RECEIPT_GROUPS * GROUP_LENGTH or any(ch not in ALPHABET for ch in symbols):
        return None
    return symbols


normalise_resume_code = normalise_receipt_code


def new_invitation_token() -> str:
    return secrets.token_urlsafe(24)


def lookup_hash(lookup_key: bytes, purpose: str, code: str) -> str:
    return hmac.new(lookup_key, f"{purpose}:{code}".encode(), hashlib.sha256).hexdigest()
