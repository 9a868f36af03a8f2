"""Sending feedback through intake's own write path while a purge runs, and checking what a send left."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime

from sqlalchemy import func, select

from casefeedback.intake.submissions import ConsentGiven, Sent, record_submissions
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import answers, data_keys

SERVICE = "victim-support"
GIVEN = {"treated": "4", "listened": "yes", "safe_now": "yes", "safer": "a little", "anything_else": "thanks"}
GIVEN_KEYS = 4  # rating, experience, safety, narrative


def send(found: Services, at: datetime, *, share_insight: bool = False) -> str:
    """One submission stored exactly as intake stores it; returns its id once acknowledged (committed)."""
    policy = found.policies.service(SERVICE)
    assert policy is not None
    consent = ConsentGiven(policy.consent.version, "en", {"store": True, "share_insight": share_insight})
    sent = Sent(str(uuid.uuid4()), GIVEN, consent, consent_given_at=at, submitted_at=at, language="en")
    record_submissions(found, policy, [sent])
    return sent.id


def stored(found: Services, submission_ids: list[str]) -> dict[str, tuple[int, int, int]]:
    """{submission id: (data keys, answer rows, answers a reader can reach: joined to a live key)}."""
    found_rows: dict[str, tuple[int, int, int]] = {}
    with read(found.engine) as connection:
        for start in range(0, len(submission_ids), 500):
            ids = submission_ids[start:start + 500]
            keys = dict(connection.execute(select(data_keys.c.submission_id, func.count())
                                           .where(data_keys.c.submission_id.in_(ids))
                                           .group_by(data_keys.c.submission_id)).all())
            rows = dict(connection.execute(select(answers.c.submission_id, func.count())
                                           .where(answers.c.submission_id.in_(ids))
                                           .group_by(answers.c.submission_id)).all())
            readable = dict(connection.execute(select(answers.c.submission_id, func.count())
                                               .join(data_keys, data_keys.c.id == answers.c.data_key_id)
                                               .where(answers.c.submission_id.in_(ids))
                                               .group_by(answers.c.submission_id)).all())
            for sid in ids:
                found_rows[sid] = (int(keys.get(sid, 0)), int(rows.get(sid, 0)), int(readable.get(sid, 0)))
    return found_rows


class Sender(threading.Thread):
    """Sends back to back until stopped, noting each acknowledged send and when it was acknowledged."""

    def __init__(self, found: Services, at: datetime) -> None:
        super().__init__(daemon=True)
        self.found, self.at = found, at
        self.stop = threading.Event()
        self.acknowledged: list[tuple[str, float]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                submission_id = send(self.found, self.at)
                self.acknowledged.append((submission_id, time.monotonic()))
        except BaseException as error:  # reported by the test, which asserts there is none
            self.error = error
