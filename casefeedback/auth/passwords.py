"""Password hashing: argon2id via argon2-cffi, rehashed on sign-in when parameters move on."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults are RFC 9106's low-memory profile (argon2id, t=3, 64 MiB).
_hasher = PasswordHasher()
# Verified against when the account does not exist, so "no such user" takes as
# long as "wrong password" and usernames cannot be discovered by timing.
_DUMMY_HASH = _hasher.hash("casefeedback-timing-equaliser")

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, str | None]:
    """(matches, a new hash to store if the old one used outdated parameters)."""
    try:
        _hasher.verify(stored_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False, None
    if stored_hash is None:
        return False, None
    return True, (_hasher.hash(password) if _hasher.check_needs_rehash(stored_hash) else None)


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"A password must be at least {MIN_PASSWORD_LENGTH} characters long."
    return None
