"""Ordered row ids: RFC 9562 version 7, growing with time, unique."""

from __future__ import annotations

import time
import uuid

from casefeedback.storage.ids import ordered_row_id


def test_an_ordered_row_id_is_a_version_7_uuid_carrying_the_time() -> None:
    before = time.time_ns() // 1_000_000
    parsed = uuid.UUID(ordered_row_id())
    after = time.time_ns() // 1_000_000
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert before <= parsed.int >> 80 <= after


def test_ordered_row_ids_sort_by_the_time_they_were_made() -> None:
    earlier = [ordered_row_id() for _ in range(50)]
    time.sleep(0.002)
    later = [ordered_row_id() for _ in range(50)]
    assert max(earlier) < min(later)  # the index page they share is the newest one


def test_ordered_row_ids_do_not_repeat() -> None:
    made = [ordered_row_id() for _ in range(20_000)]
    assert len(set(made)) == len(made)
    # 74 random bits per id: within one millisecond they still differ in their random part.
    assert len({uuid.UUID(i).int & ((1 << 62) - 1) for i in made}) == len(made)
