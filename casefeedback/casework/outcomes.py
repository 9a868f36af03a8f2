"""Outcomes: what a caseworker records as the result of a case, sealed like any answer.

The text is sealed at once (``crypto.envelope``) under a data key of its own,
wrapped and kept in the same row; it is opened only by the reading service,
after the access decision (``[outcomes]`` in ``policies/organisation.toml``).
Erasing an outcome is deleting its row: the only copy of its key goes with it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, insert, select

from casefeedback.crypto.envelope import SubmissionSealer
from casefeedback.crypto.keyring import Keyring
from casefeedback.policy.model import OUTCOME_CLASS
from casefeedback.storage.tables import case_outcomes

MAX_LENGTH = 4000
TABLE = "case_outcomes"
FIELD = "outcome"


def already_recorded(connection: Connection, nonce: str) -> bool:
    return connection.execute(select(case_outcomes.c.id).where(case_outcomes.c.form_nonce == nonce)).first() is not None


def record_outcome(connection: Connection, keyring: Keyring, *, case_id: str, recorded_by: str, text: str,
                   nonce: str, now: datetime) -> str:
    """Seal and store one outcome in the caller's transaction; return its id."""
    outcome_id = str(uuid.uuid4())
    # The sealer names its record a "submission"; here the record is the outcome itself.
    sealer = SubmissionSealer(keyring, outcome_id)
    sealed = sealer.seal(table=TABLE, row_id=outcome_id, field_id=FIELD, field_class=OUTCOME_CLASS, plaintext=text)
    (key,) = sealer.wrapped_keys()
    connection.execute(insert(case_outcomes).values(
        id=outcome_id, case_id=case_id, recorded_by=recorded_by, recorded_at=now, form_nonce=nonce,
        data_key_id=key.id, kek_id=key.kek_id, wrapped_key=key.wrapped, ciphertext=sealed.ciphertext))
    return outcome_id
