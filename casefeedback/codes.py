"""Bearer codes people hold: receipt codes, resume codes, invitation tokens and invitations' short codes.

Only keyed hashes of them are stored (HMAC under the instance's lookup key), so
a copy of the database alone cannot be used to find or replay a code. Receipt
and resume codes and invitation tokens carry ≥100 bits of entropy, which is why
a fast keyed hash is enough and no password-style key stretching is needed.

An invitation's short code is the exception: 10 symbols from 30 (49 bits),
short enough to type from a printed handout. It is safe only because it is
typed into one form that is rate limited per address, and works only while its
invitation does (the arithmetic is beside that limit, in ``intake/code_entry.py``);
the keyed hash still means a stolen database alone cannot be searched for it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand
# cannot be mistaken (0/O, 1/I/L) and spells no common words.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_GROUPS, GROUP_LENGTH = 5, 4  # 20 symbols × 5 bits = 100 bits
# Short codes are copied from paper by someone who may be upset or reading on a
# small screen: their alphabet leaves out 0 and 1 as well, so no symbol on the
# handout can be confused with another (0/O, 1/I/L) and nothing has to be mapped.
SHORT_CODE_ALPHABET = ALPHABET[2:]  # 30 symbols: 2-9 and the letters
SHORT_CODE_LENGTH = 10  # 30^10 ≈ 5.9 × 10^14 codes, shown as XXXX-XXXX-XX (12 characters)
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def _new_code() -> str:
    return _grouped(_symbols(RECEIPT_GROUPS * GROUP_LENGTH))


def _grouped(symbols: str) -> str:
    return "-".join(symbols[i : i + GROUP_LENGTH] for i in range(0, len(symbols), GROUP_LENGTH))


def _symbols(count: int) -> str:
    # 5 bits a symbol: each random byte's low 5 bits pick from exactly 32 symbols, so no bias.
    return "".join(ALPHABET[byte & 31] for byte in secrets.token_bytes(count))


def _typed_symbols(typed: str, count: int, alphabet: str = ALPHABET) -> str | None:
    """What a person typed, as the code's symbols: any case, spaces or dashes, O for 0, I or L for 1."""
    symbols = "".join(ch for ch in typed.upper() if ch.isalnum()).translate(_CONFUSABLE)
    if len(symbols) != count or any(ch not in alphabet for ch in symbols):
        return None
    return symbols


def new_receipt_code() -> str:
    return _new_code()


def new_resume_code() -> str:
    """A code to come back to unfinished answers: the same shape as a receipt code (100 bits, read aloud
    easily). Hashed under its own purpose, so a receipt code can never open a draft, nor the reverse."""
    return _new_code()


def normalise_receipt_code(typed: str) -> str | None:
    """Accept what a person would type: any case, spaces or dashes, O for 0, I or L for 1."""
    return _typed_symbols(typed, RECEIPT_GROUPS * GROUP_LENGTH)


normalise_resume_code = normalise_receipt_code


def new_invitation_token() -> str:
    return secrets.token_urlsafe(24)


def new_invitation_short_code() -> str:
    """An invitation's short code for paper, like ``K7QM-4TXR-9P``: 10 symbols, 12 characters with dashes."""
    # secrets.choice draws without bias from any alphabet size (30 is no power of 2).
    return grouped_short_code("".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(SHORT_CODE_LENGTH)))


def normalise_invitation_short_code(typed: str) -> str | None:
    """The short code's 10 symbols from what a person typed (any case, spaces or dashes); None if it cannot be one."""
    return _typed_symbols(typed, SHORT_CODE_LENGTH, SHORT_CODE_ALPHABET)


def grouped_short_code(symbols: str) -> str:
    """A short code's symbols as printed and read aloud: ``K7QM-4TXR-9P``."""
    return _grouped(symbols)


def lookup_hash(lookup_key: bytes, purpose: str, code: str) -> str:
    return hmac.new(lookup_key, f"{purpose}:{code}".encode(), hashlib.sha256).hexdigest()
