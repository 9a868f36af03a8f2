"""Row ids that put rows written together on the same index pages, and what each reveals."""

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
    whose time is recorded beside them anyway (answers, consent receipts;
    see SECURITY.md) — never for ids shown to people or written outside the
    database without that time, such as data key ids (the erasure ledger) or
    submission ids.
    """
    millis = time.time_ns() // 1_000_000
    rand = secrets.randbits(_RANDOM_BITS)
    value = ((millis & ((1 << 48) - 1)) << 80) | (0x7 << 76) | ((rand >> _LOW_BITS) << 64) \
        | (0b10 << 62) | (rand & ((1 << _LOW_BITS) - 1))
    return str(uuid.UUID(int=value))


_GROUP_BITS = 64


def grouped_id(group: str) -> str:
    """A random id that sorts beside every other id made for the same ``group`` (a UUID: a submission's id).

    A UUID whose first 64 bits are the group's own (its version nibble
    included: version 4 for a random group) and whose last 64 are the variant
    and 62 fresh random bits. A submission's data keys — one per field class — then sit together in
    the data key index and in the answers' index of their keys: one page for
    each at a send, and one for each when retention destroys them, instead of a
    random page per key (every page a write transaction touches is encrypted and
    written at commit, and on SQLCipher read and decrypted again after another
    writer's commit). Unlike a time-ordered id, it tells nothing that is not
    beside it: which submission the key belongs to, which its row and every
    erasure ledger line name anyway. A draft's saved values get ids grouped by
    their draft's id the same way (their table is stored in id order). A group
    that is not a UUID gets a plain random (version 4) id.
    """
    try:
        prefix = uuid.UUID(group).int >> _GROUP_BITS
    except ValueError:
        return str(uuid.uuid4())
    value = (prefix << _GROUP_BITS) | (0b10 << _LOW_BITS) | secrets.randbits(_LOW_BITS)
    return str(uuid.UUID(int=value))
