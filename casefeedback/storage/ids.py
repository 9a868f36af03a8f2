"""Row ids for rows that are written many at a time and never leave the store."""

from __future__ import annotations

import secrets
import time
import uuid

_RANDOM_BITS = 74
_LOW_BITS = 62


def ordered_row_id() -> str:
    """A UUID version 7 (RFC 9562): the time in milliseconds, then 74 random bits.

    Random (version 4) ids land on a different page of the primary-key index
    for every row, and every page a transaction touches is encrypted and
    written again at commit: the eight answers of one submission touched eight
    index pages. Ids that grow with time share the newest page. The price is
    that the id tells when the row was made, so these ids are only for rows
    whose time is recorded beside them anyway (answers, saved draft values,
    consent receipts; see SECURITY.md) — never for ids shown to people or written outside the
    database without that time, such as data key ids (the erasure ledger) or
    submission ids.
    """
    millis = time.time_ns() // 1_000_000
    rand = secrets.randbits(_RANDOM_BITS)
    value = ((millis & ((1 << 48) - 1)) << 80) | (0x7 << 76) | ((rand >> _LOW_BITS) << 64) \
        | (0b10 << 62) | (rand & ((1 << _LOW_BITS) - 1))
    return str(uuid.UUID(int=value))
