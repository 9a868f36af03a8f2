"""Ordered row ids: RFC 9562 version 7, growing with time, unique."""

from __future__ import annotations

import time
import uuid

from casefeedback.storage.ids import grouped_id, ordered_row_id


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


def test_a_send_gives_time_ordered_ids_only_to_rows_whose_time_is_beside_them(found) -> None:
    """Answers and the consent receipt share the newest index pages; the submission and its data keys, whose
    ids leave the database (receipts, the erasure ledger), stay random (SECURITY.md, "Row ids that carry a
    time")."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from casefeedback.intake.submissions import ConsentGiven, Sent, record_submissions
    from casefeedback.storage.engine import read
    from casefeedback.storage.tables import answers, consent_receipts, data_keys, submissions

    policy = found.policies.service("victim-support")
    now = datetime.now(UTC)
    sent = Sent(str(uuid.uuid4()), {"treated": "4", "anything_else": "fine"},
                ConsentGiven(policy.consent.version, "en", {"store": True}), consent_given_at=now, submitted_at=now,
                language="en")
    record_submissions(found, policy, [sent])
    with read(found.engine) as connection:
        versions = {name: {uuid.UUID(i).version for i in connection.execute(select(table.c.id)).scalars()}
                    for name, table in (("answers", answers), ("consent", consent_receipts),
                                        ("submissions", submissions), ("data_keys", data_keys))}
    assert versions == {"answers": {7}, "consent": {7}, "submissions": {4}, "data_keys": {4}}
    with read(found.engine) as connection:
        keys = connection.execute(select(data_keys.c.id, data_keys.c.submission_id)).all()
    assert len(keys) == 2 and all(key[:19] == submission[:19] for key, submission in keys)  # side by side


def test_a_grouped_id_shares_its_groups_first_half_and_nothing_else() -> None:
    group = str(uuid.uuid4())
    made = [grouped_id(group) for _ in range(5000)]
    assert len(set(made)) == len(made)
    for each in made:
        parsed = uuid.UUID(each)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert parsed.int >> 64 == uuid.UUID(group).int >> 64  # sorts beside the group's other ids
    assert len({uuid.UUID(i).int & ((1 << 62) - 1) for i in made}) == len(made)  # 62 fresh random bits each
    other = grouped_id(str(uuid.uuid4()))
    assert uuid.UUID(other).int >> 64 != uuid.UUID(group).int >> 64
    plain = uuid.UUID(grouped_id("hold-1"))  # not a UUID: a plain random id
    assert plain.version == 4
