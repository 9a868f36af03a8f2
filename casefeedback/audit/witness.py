"""The audit log's witness: an append-only file of signed checkpoints kept outside the database.

The threat: someone who holds the database key and the database file — an
insider on the host, a stolen backup put back — but not the audit keys. They
cannot forge an event (the chain key) nor a checkpoint (the signing key), but
they can cut the newest events together with the newest checkpoints and move
the head back, or put an older copy of the whole database in place. What is
left is consistent with itself, so nothing inside the database can tell. The
witness remembers how far the log had got: each signed checkpoint is appended
to a file in another directory (``Config.witness_path``, mode 0600), and
optionally POSTed to a remote witness (``remote.py``). ``audit verify`` and the
worker compare the database with the newest line, and no checkpoint is signed
for a log that no longer contains what the witness recorded — the next
checkpoint can never launder a cut.

What stays unprotected (SECURITY.md): the events since the last checkpoint (a
minute by default), and an attacker who also rewrites every witness.

A legitimate rollback — restoring a backup — is written to the witness as a
signed restore note, so it is told apart from an attack.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from casefeedback.audit.actions import Action
from casefeedback.audit.checkpoints import (
    Checkpoint,
    CheckpointError,
    Signer,
    instance_id,
    latest_checkpoint,
    signature_valid,
    stored_checkpoints,
)
from casefeedback.storage.tables import audit_chains, audit_events

RESTORE_FORMAT = "casefeedback-audit-restore/1"
# Enough of the file's end to hold its newest lines; a line is well under 1 KB.
_TAIL_BYTES = 64 * 1024


class WitnessError(Exception):
    """The witness cannot be read or written; the message says which file and why."""


@dataclass(frozen=True)
class RestoreNote:
    """A signed note that the log was put back to an older state on purpose (``casefeedback restore``)."""

    instance_id: str
    at: str
    backup_seq: int
    archived_events: int
    public_key: str
    signature: str = ""

    def message(self) -> bytes:
        signed = {k: v for k, v in asdict(self).items() if k != "signature"}
        signed["format"] = RESTORE_FORMAT
        return json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    def signed_by(self, signer: Signer) -> RestoreNote:
        unsigned = replace(self, public_key=signer.public_key, signature="")
        return replace(unsigned, signature=signer.sign_bytes(unsigned.message()))

    def signature_ok(self) -> bool:
        return signature_valid(self.public_key, self.signature, self.message())


Entry = Checkpoint | RestoreNote


@dataclass(frozen=True)
class Standing:
    """How the database stands against its witness. ``kind`` names the problem for alarms and tests."""

    ok: bool
    kind: str | None = None  # rollback, rewritten, witness_behind, witness_missing, forged, restored, empty
    problem: str | None = None
    witnessed_seq: int | None = None


class Witness:
    """The witness file at ``path``: appended to, never rewritten."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"Witness({str(self.path)!r})"

    def exists(self) -> bool:
        return self.path.exists()

    def record(self, entry: Entry) -> None:
        """Append one signed entry and make it durable before returning."""
        if isinstance(entry, Checkpoint):
            line = entry.to_line()
        else:
            line = json.dumps({"format": RESTORE_FORMAT, **asdict(entry)}, sort_keys=True, separators=(",", ":"))
        created = not self.path.exists()
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                directory = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)
        except OSError as error:
            raise WitnessError(f"cannot write the audit witness {self.path}: {error.strerror}") from None

    def newest(self) -> Entry | None:
        """The newest complete entry, or None for no file or an empty one.

        A last line without its newline is a write cut short by a crash: it was
        never acknowledged, so it is passed over. Any other unreadable line means
        the file was altered, which is an error, never silently skipped.
        """
        try:
            with self.path.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(0, size - _TAIL_BYTES))
                tail = handle.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise WitnessError(f"cannot read the audit witness {self.path}: {error.strerror}") from None
        lines = tail.split(b"\n")
        complete = lines[:-1] if size <= _TAIL_BYTES else lines[1:-1]  # the first may be cut by the seek
        for raw in reversed(complete):
            if raw.strip():
                return _parse(raw, self.path)
        return None

    def newest_checkpoint_seq(self) -> int | None:
        entry = self.newest()
        return entry.seq if isinstance(entry, Checkpoint) else None


def _parse(raw: bytes, path: Path) -> Entry:
    where = f"the newest line of the audit witness {path}"
    try:
        data: Any = json.loads(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise WitnessError(f"{where} is not a signed checkpoint: the witness was altered") from None
    if isinstance(data, dict) and data.get("format") == RESTORE_FORMAT:
        try:
            return RestoreNote(str(data["instance_id"]), str(data["at"]), int(data["backup_seq"]),
                               int(data["archived_events"]), str(data["public_key"]), str(data["signature"]))
        except (KeyError, TypeError, ValueError):
            raise WitnessError(f"{where} is a malformed restore note: the witness was altered") from None
    try:
        return Checkpoint.from_json(raw.decode("ascii"), where)
    except CheckpointError as error:
        raise WitnessError(f"{error}: the witness was altered") from None


def compare(connection: Connection, witness: Witness, public_key: str) -> Standing:
    """Does the database still hold everything its witness recorded, in every chain?"""
    entry = witness.newest()
    stored = latest_checkpoint(connection)
    if entry is None:
        if stored is not None and _witness_started(connection):
            return Standing(False, "witness_missing", (
                f"the witness {witness.path} is missing or empty, but this log has been witnessed (signed "
                f"checkpoints up to event {stored.seq}): it was removed or replaced, or CASEFEEDBACK_AUDIT_WITNESS "
                "points to the wrong place. Find it before anything else; `casefeedback audit witness start` "
                "begins a new one only after you have"))
        return Standing(True, "empty")
    instance = instance_id(connection)
    if entry.instance_id != instance:
        return Standing(False, "forged", f"the witness {witness.path} belongs to another instance "
                        f"({entry.instance_id}, this is {instance})")
    if not entry.signature_ok() or entry.public_key != public_key:
        return Standing(False, "forged", f"the newest line of the witness {witness.path} is not signed by this "
                        "instance's audit signing key: the witness was altered")
    if isinstance(entry, RestoreNote):
        # Restored on purpose, and no checkpoint since: the log starts again from the backup.
        return Standing(True, "restored", witnessed_seq=entry.backup_seq)
    for chain, (position, mac) in sorted(entry.chain_heads().items()):
        problem = _chain_problem(connection, chain, position, mac, entry.at)
        if problem is not None:
            return Standing(False, problem[0], problem[1], entry.seq)
    if stored is not None and stored.seq > entry.seq:
        return Standing(False, "witness_behind", (
            f"the log has a signed checkpoint at event {stored.seq} that the witness {witness.path} lacks (its "
            f"newest is event {entry.seq}): writing to the witness failed, or it was replaced by an older copy"),
            entry.seq)
    return Standing(True, witnessed_seq=entry.seq)


def _chain_problem(connection: Connection, chain: int, position: int, mac: str, at: str) -> tuple[str, str] | None:
    """(kind, problem) if the database no longer holds chain ``chain`` up to the witnessed ``position``."""
    if position == 0:
        held = connection.execute(select(audit_chains.c.chain).where(audit_chains.c.chain == chain)).first()
        if held is None:
            return "rollback", (f"chain {chain} is gone, but the witness saw it at {at}: a whole writer chain was "
                                "deleted, or the database was replaced by another copy")
        return None
    found = connection.execute(select(audit_events.c.mac).where(
        audit_events.c.chain == chain, audit_events.c.chain_seq == position)).first()
    if found is None:
        last = int(connection.execute(select(func.coalesce(func.max(audit_events.c.chain_seq), 0)).where(
            audit_events.c.chain == chain)).scalar_one())
        gone = "is gone" if last == 0 else f"ends at its event {last}"
        return "rollback", (
            f"chain {chain} {gone} but the witness saw its event {position} at {at}: its events "
            f"{last + 1}–{position} were removed (a whole writer chain, if none is left), or the database was "
            "replaced by an older copy (a rollback)")
    if not isinstance(found.mac, str) or found.mac != mac:
        return "rewritten", (
            f"chain {chain}: its event {position} is not the event the witness recorded at {at}: the log was "
            "rewritten from there, or the database was replaced by another copy")
    return None


def _witness_started(connection: Connection) -> bool:
    return connection.execute(select(audit_events.c.seq).where(
        audit_events.c.action == Action.AUDIT_WITNESS_START.value).limit(1)).first() is not None


def catch_up(connection: Connection, witness: Witness) -> list[Checkpoint]:
    """The stored checkpoints the witness lacks, oldest first (call ``compare`` first: never after a cut)."""
    newest = witness.newest_checkpoint_seq()
    return [c for c in stored_checkpoints(connection) if newest is None or c.seq > newest]
