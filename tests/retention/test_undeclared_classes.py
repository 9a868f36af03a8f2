"""A class an earlier policy version declared and the loaded policy no longer does is never due: the purge
says so on the day, whether or not the feedback holding it is old enough for the purge to walk it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, update

from casefeedback.retention.planning import plan
from casefeedback.retention.purge import purge
from casefeedback.storage.engine import write
from casefeedback.storage.tables import data_keys, policy_versions
from tests.retention.conftest import seed_submission

ALL = {"treated": "2", "listened": "yes", "safe_now": "no", "anything_else": "words", "safer": "more words"}
EARLIER = """
[classes.retired_notes]
description = "Notes the service no longer asks for"
retention = { keep = "P1Y", after = "submitted" }
read = ["case_owner"]

[classes.never_used]
description = "Declared once, never stored"
retention = { keep = "P1Y", after = "submitted" }
read = ["case_owner"]
"""
WARNING = "victim-support/retired_notes: no longer declared by a loaded policy"


def _earlier_version_with_a_class_since_dropped(found, submission_id: str) -> None:
    with write(found.engine) as connection:
        connection.execute(insert(policy_versions).values(
            version="e" * 64, service_id="victim-support", source="victim-support.toml", document=EARLIER,
            first_loaded_at=found.clock() - timedelta(days=30)))
        # One of the submission's keys is of the class the earlier version declared.
        connection.execute(update(data_keys).where(data_keys.c.submission_id == submission_id,
                                                   data_keys.c.field_class == "safety")
                           .values(field_class="retired_notes"))


def test_the_purge_warns_of_a_dropped_class_on_feedback_too_recent_to_walk(found, clock) -> None:
    recent = seed_submission(found, ALL)  # sent today: nothing of it may be due, so the purge never reads it
    _earlier_version_with_a_class_since_dropped(found, recent)
    report = purge(found, clock.now)
    assert report.data_keys == 0
    assert [w for w in report.warnings if w.startswith(WARNING)]
    assert not [w for w in report.warnings if "never_used" in w]  # declared once, but no key of it is stored
    # The dry run says the same.
    assert [w for w in plan(found, clock.now).warnings if w.startswith(WARNING)]


def test_no_warning_while_every_stored_class_is_declared(found, clock) -> None:
    seed_submission(found, ALL, at=clock.now - timedelta(days=3 * 366))
    report = purge(found, clock.now)
    assert report.data_keys > 0
    assert not [w for w in report.warnings if "no longer declared" in w]
