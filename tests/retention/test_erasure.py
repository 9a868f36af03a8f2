"""Erasure destroys keys and ciphertext, leaves no canary in the file, and audits counts only."""

from __future__ import annotations

from sqlalchemy import func, select

from casefeedback.retention.erasure import erase
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import answers, audit_events, data_keys, submissions
from tests.conftest import canary
from tests.helpers import ServiceUser
from tests.stores import checkpoint, store_files


def test_erasing_one_class_keeps_the_others(client, found):
    ServiceUser(client).give_feedback({"treated": "2", "anything_else": canary(), "safe_now": "yes"})
    with write(found.engine) as connection:
        submission_id = connection.execute(select(submissions.c.id)).scalar_one()
        erased = erase(connection, found.audit, submission_id=submission_id, reason="retention",
                       field_classes=["narrative"])
    assert (erased.data_keys, erased.fields) == (1, 1)
    with read(found.engine) as connection:
        assert set(connection.execute(select(data_keys.c.field_class)).scalars()) == {"rating", "safety"}
        assert connection.execute(select(func.count()).select_from(answers)).scalar_one() == 2


def test_erasing_everything_leaves_no_canary_in_the_file(client, found, config):
    secret = canary()
    ServiceUser(client).give_feedback({"anything_else": secret, "safer": secret})
    with write(found.engine) as connection:
        submission_id = connection.execute(select(submissions.c.id)).scalar_one()
        erase(connection, found.audit, submission_id=submission_id, reason="withdrawn")
    checkpoint(found.engine)
    with read(found.engine) as connection:
        assert connection.execute(select(func.count()).select_from(data_keys)).scalar_one() == 0
        event = connection.execute(select(audit_events).where(audit_events.c.action == "erasure")).one()
    assert secret not in event.detail and '"fields":2' in event.detail
    for path in [*config.instance_dir.rglob("*"), *store_files(config)]:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
