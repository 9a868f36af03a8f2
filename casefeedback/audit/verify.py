"""Verifying the audit log as a whole: every chain, its head, every signed checkpoint and the witness.

`casefeedback audit verify` uses this. It names the first place the log is
broken — the chain, the position there and the log's event number — and what
kind of break it is; a wrong chain key is told apart from tampering (by the key
check in the checkpoints, or — before the first checkpoint — because no event
at the start of any chain fits the key).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection

from casefeedback.audit.checkpoints import Checkpoint, instance_id, public_key_of, stored_checkpoints
from casefeedback.audit.log import key_check
from casefeedback.audit.parallel import PARALLEL_FROM, walk_in_parallel, workers
from casefeedback.audit.walk import (
    LEGACY_CHAIN,
    ProgressHook,
    VerifyReport,
    event_mac,
    genesis,
    heads_of,
    last_seq_of,
    walk_connection,
)
from casefeedback.audit.witness import Witness, WitnessError, compare
from casefeedback.storage import dialect

WRONG_KEY = ("the audit chain key does not fit this log: {why}. Nothing was verified. Check "
             "CASEFEEDBACK_AUDIT_CHAIN_KEY or instance/secrets/audit-chain.key")
_FIRST_TWO = ("SELECT chain, chain_seq, seq, at, actor_id, actor_role, action, object_type, object_id, field_class, "
              "purpose, outcome, detail, mac FROM audit_events WHERE chain = ? AND chain_seq <= 2 ORDER BY chain_seq")


def verify_log(connection: Connection, chain_key: bytes, signing_seed: bytes,
               external: Checkpoint | None = None, witness: Witness | None = None,
               database: tuple[Path, bytes] | None = None, progress: ProgressHook | None = None) -> VerifyReport:
    """The chains, their heads, the stored checkpoints, the witness and (optionally) a checkpoint held elsewhere.

    The witness comes first: a log cut together with its newest checkpoints, or
    an older copy of the database, is consistent with itself and would pass
    every check inside the database. ``progress``: told (events verified, events
    the chains' heads record) as the walk goes, a chunk or a job at a time.
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
    anchors: dict[int, dict[int, str]] = {}
    for checkpoint in every:
        for chain, (position, mac) in checkpoint.chain_heads().items():
            anchors.setdefault(chain, {})[position] = mac  # position 0: the chain existed, empty
    heads = heads_of(connection)
    processes = workers()
    if database is not None and last_seq_of(connection) >= PARALLEL_FROM and processes > 1:
        report = walk_in_parallel(database[0], database[1], chain_key, anchors, heads, processes, progress)
    else:
        report = walk_connection(connection, chain_key, heads, anchors, progress)
    if not report.ok and report.position == 1 and not every and _no_chain_start_fits(connection, chain_key):
        return VerifyReport(False, 0, None, WRONG_KEY.format(why="not one chain's first two events match it, "
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


def _no_chain_start_fits(connection: Connection, chain_key: bytes) -> bool:
    """True when at least two events were tried and not one matches the key: every chain's first two events
    are checked, each against its own predecessor (so one edited event does not look like a wrong key)."""
    tried = 0
    cursor = connection.connection.cursor()
    try:
        for chain in sorted(heads_of(connection)):
            previous = genesis(chain)
            cursor.execute(dialect.driver_sql(_FIRST_TWO, connection.dialect.paramstyle), (chain,))
            for row in cursor.fetchall():
                values = row[2:13] if chain == LEGACY_CHAIN else row[:13]
                tried += 1
                if isinstance(row[13], str) and hmac.compare_digest(
                        event_mac(chain_key, previous, values).encode(), row[13].encode("utf-8", "replace")):
                    return False
                previous = str(row[13])
    finally:
        cursor.close()
    return tried >= 2
