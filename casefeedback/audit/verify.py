"""Verifying the audit log as a whole: the chain, its head, and every signed checkpoint.

`casefeedback audit verify` uses this. It names the first place the log is
broken and what kind of break it is; a wrong chain key is told apart from
tampering (by the key check in the checkpoints, or — before the first
checkpoint — because no event at all fits the key).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection, func, select

from casefeedback.audit.checkpoints import Checkpoint, instance_id, public_key_of, stored_checkpoints
from casefeedback.audit.log import GENESIS_MAC, VerifyReport, event_mac, head_of, key_check, raw_rows, walk
from casefeedback.audit.parallel import PARALLEL_FROM, walk_in_parallel, workers
from casefeedback.audit.witness import Witness, WitnessError, compare
from casefeedback.storage.tables import audit_events

WRONG_KEY = ("the audit chain key does not fit this log: {why}. Nothing was verified. Check "
             "CASEFEEDBACK_AUDIT_CHAIN_KEY or instance/secrets/audit-chain.key")


def verify_log(connection: Connection, chain_key: bytes, signing_seed: bytes,
               external: Checkpoint | None = None, witness: Witness | None = None,
               database: tuple[Path, bytes] | None = None) -> VerifyReport:
    """The chain, its head, the stored checkpoints, the witness and (optionally) a checkpoint held elsewhere.

    The witness comes first: a log cut together with its newest checkpoints, or
    an older copy of the database, is consistent with itself and would pass
    every check inside the database.
    """
    if witness is not None:
        try:
            standing = compare(connection, witness, public_key_of(signing_seed))
        except WitnessError as error:
            return VerifyReport(False, 0, None, str(error), "witness")
        if not standing.ok:
            return VerifyReport(False, 0, standing.witnessed_seq, standing.problem, standing.kind)
    checkpoints = stored_checkpoints(connection)
    problem = _checkpoint_problem(checkpoints, external, instance_id(connection), public_key_of(signing_seed))
    if problem is not None:
        return VerifyReport(False, 0, problem[0], problem[1], "checkpoint")
    every = [*checkpoints, *([external] if external else [])]
    expected_check = key_check(chain_key)
    if any(not hmac.compare_digest(c.key_check, expected_check) for c in every):
        return VerifyReport(False, 0, None, WRONG_KEY.format(why="its key check differs from the one in the "
                                                              "signed checkpoints"), "wrong_key")
    anchors: dict[int, str] = {c.seq: c.mac for c in every}
    head = head_of(connection)
    last_seq = int(connection.execute(select(func.coalesce(func.max(audit_events.c.seq), 0))).scalar_one())
    processes = workers()
    if database is not None and last_seq >= PARALLEL_FROM and processes > 1:
        report = walk_in_parallel(database[0], database[1], chain_key, anchors, last_seq, head, processes)
    else:
        with raw_rows(connection) as rows:
            report = walk(chain_key, rows, anchors, head=head)
    if not report.ok and report.first_bad_seq == 1 and not every and _first_two_fail(connection, chain_key):
        return VerifyReport(False, 0, None, WRONG_KEY.format(why="not even the first two events match it, "
                                                              "each against its own predecessor"), "wrong_key")
    return report


def _checkpoint_problem(stored: Sequence[Checkpoint], external: Checkpoint | None, instance: str,
                        public_key: str) -> tuple[int | None, str] | None:
    previous: Checkpoint | None = None
    for checkpoint in stored:
        where = f"the stored checkpoint at event {checkpoint.seq}"
        if not checkpoint.signature_ok() or checkpoint.public_key != public_key:
            return checkpoint.seq, f"{where} is not signed by this instance's audit signing key: it was altered"
        if (checkpoint.previous_seq, checkpoint.previous_mac) != (
                (previous.seq, previous.mac) if previous else (None, None)):
            missing = checkpoint.previous_seq if checkpoint.previous_seq is not None else checkpoint.seq
            return missing, (f"{where} follows a checkpoint at event {checkpoint.previous_seq} that is missing "
                             "or different: checkpoints were deleted or rewritten")
        previous = checkpoint
    if external is not None:
        if external.instance_id != instance:
            return None, ("the checkpoint file comes from another casefeedback instance "
                          f"({external.instance_id}, this is {instance})")
        if not external.signature_ok():
            return external.seq, "the checkpoint file's signature does not match its contents: it was altered"
        if external.public_key != public_key:
            return external.seq, "the checkpoint file is not signed by this instance's audit signing key"
    return None


def _first_two_fail(connection: Connection, chain_key: bytes) -> bool:
    rows = connection.execute(select(audit_events).order_by(audit_events.c.seq).limit(2)).all()
    previous = GENESIS_MAC
    for row in rows:
        values = [row.seq, row.at, row.actor_id, row.actor_role, row.action, row.object_type, row.object_id,
                  row.field_class, row.purpose, row.outcome, row.detail]
        if isinstance(row.mac, str) and hmac.compare_digest(event_mac(chain_key, previous, values).encode(),
                                                            row.mac.encode("utf-8", "replace")):
            return False
        previous = str(row.mac)
    return len(rows) == 2

