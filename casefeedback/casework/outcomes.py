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

from casefeedback.audit.actions import Action
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import case_event, case_to_change
from casefeedback.crypto.envelope import SubmissionSealer
from casefeedback.crypto.keyring import Keyring
from casefeedback.policy.model import OUTCOME_CLASS
from casefeedback.policy.relations import may_record_outcome
from casefeedback.services import Services
from casefeedback.storage.engine import write
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


def record(found: Services, member: StaffMember, case_id: str, *, text: str, nonce: str) -> bool:
    """Record an outcome on a case the member may record on (CaseNotFound or NotAllowed otherwise).

    False if this very form was sent before: the outcome is kept once.
    """
    with write(found.engine) as connection:
        case_to_change(connection, member, case_id, may_record_outcome)
        if already_recorded(connection, nonce):
            return False
        outcome_id = record_outcome(connection, found.keyring, case_id=case_id, recorded_by=member.id, text=text,
                                    nonce=nonce, now=found.clock())
        # The event's ``outcome`` field names the recorded outcome by its id (no content, ever).
        found.audit.append(connection, case_event(member, Action.CASE_OUTCOME, case_id, outcome_id=outcome_id))
    return True
