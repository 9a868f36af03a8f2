"""Signing checkpoints into the witness, watching the log against it, and raising the alarm.

The worker runs ``keep_watch`` every minute: it signs a checkpoint when the
organisation policy's ``[audit] checkpoint_every`` has passed, appends it to the
witness file (and POSTs it to the remote witness), checks that the database
still holds what the witness recorded, and walks the events added since its
last walk. When the log shrinks, breaks or falls behind its witness, the
auditors are told at once by email and the alert webhook — and again every
hour while it lasts — because a cut log is evidence being destroyed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, select

from casefeedback.audit.actions import Action
from casefeedback.audit.checkpoints import Checkpoint, Signer, latest_checkpoint, write_checkpoint
from casefeedback.audit.log import AuditEvent, AuditLog
from casefeedback.audit.walk import KeyedMac, Link, finish, heads_of, last_seq_of, walk_chain_after
from casefeedback.audit.witness import Standing, Witness, catch_up, compare
from casefeedback.config import Config
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events
from casefeedback.worker import alarms

log = logging.getLogger(__name__)
ALARM_FILE = "audit-alarm.json"


class WitnessRefused(Exception):
    """No checkpoint was signed: the log no longer holds what its witness recorded (the message says what)."""


@dataclass(frozen=True)
class Signed:
    checkpoint: Checkpoint | None
    witnessed: int  # checkpoints appended to the witness file now
    started: bool  # this run began the witness


def sign_and_witness(engine: Engine, audit: AuditLog, signer: Signer, witness: Witness, *,
                     start: bool = False) -> Signed:
    """Sign the log's head (if anything is new) and append every checkpoint the witness lacks.

    Refused when the database no longer holds the witness's newest checkpoint:
    signing the cut log would launder the cut. ``start`` begins a new witness
    for a log that had one (after the old one was lost, and looked into).
    """
    with write(engine) as connection:
        standing = compare(connection, witness, signer.public_key)
        if not standing.ok and standing.kind != "witness_behind" and not (
                start and standing.kind == "witness_missing"):
            raise WitnessRefused(str(standing.problem))
        checkpoint = write_checkpoint(connection, audit, signer)
        if checkpoint is None:
            return Signed(None, 0, False)
        fresh = standing.kind in ("empty", "restored", "witness_missing")
        pending = [checkpoint] if fresh else catch_up(connection, witness)
        if fresh and standing.kind != "restored":
            audit.append(connection, AuditEvent(
                action=Action.AUDIT_WITNESS_START, outcome="started", actor_role="system",
                object_type="checkpoint", object_id=str(checkpoint.seq),
                detail={"restarted": standing.kind == "witness_missing"}))
    # After the commit: a witness line for a checkpoint the database then lost
    # would read as a rollback. A crash here leaves the witness behind, and the
    # next run catches it up.
    for entry in pending:
        witness.record(entry)
    return Signed(checkpoint, len(pending), fresh and standing.kind != "restored")


def checkpoint_due(engine: Engine, every: timedelta, now: datetime) -> bool:
    with read(engine) as connection:
        newest = latest_checkpoint(connection)
        last = last_seq_of(connection)
    if newest is None:
        return last > 0
    if newest.seq >= last:
        return False
    at = datetime.strptime(newest.at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return now - at >= every - timedelta(seconds=1)  # the job's own tick may land a hair early


# Where each database's chains were last walked to, per process: the watch walks only what is new.
_walked: dict[str, dict[int, Link]] = {}


def check_now(engine: Engine, chain_key: bytes, public_key: str, witness: Witness, key: str) -> Standing:
    """The witness comparison, then a walk of the events added to each chain since the last walk."""
    with read(engine) as connection:
        standing = compare(connection, witness, public_key)
        if not standing.ok:
            return standing
        walked = _walked.get(key, {})
        for chain, link in walked.items():
            held = connection.execute(select(audit_events.c.mac).where(
                audit_events.c.chain == chain, audit_events.c.chain_seq == link.position)).first()
            if link.position and (held is None or held.mac != link.mac):
                _walked.pop(key, None)
                return Standing(False, "rewritten", f"chain {chain}: its event {link.position}, verified a minute "
                                "ago, is gone or changed: the log was cut or rewritten since")
        ends, problem = _walk_new(connection, KeyedMac(chain_key), walked)
        if problem is None:
            report = finish(ends, heads_of(connection), {}, 0)
            problem = None if report.ok else (report.kind or "broken", str(report.problem))
    if problem is not None:
        return Standing(False, problem[0], problem[1])
    _walked[key] = ends
    return standing


def _walk_new(connection: Connection, keyed: KeyedMac, walked: dict[int, Link]
              ) -> tuple[dict[int, Link], tuple[str, str] | None]:
    ends: dict[int, Link] = {}
    chains = set(heads_of(connection)) | set(walked) | set(connection.execute(
        select(audit_events.c.chain).distinct()).scalars())
    for chain in sorted(chains, key=repr):
        broken, end, _done = walk_chain_after(connection, keyed, chain, walked.get(chain))
        if broken is not None:
            return ends, (broken.kind or "broken", str(broken.problem))
        ends[chain] = end
    return ends, None


def keep_watch(config: Config, engine: Engine, audit: AuditLog, every: timedelta, now: datetime,
               send: Callable[[Config, str, str, str], None] | None = None) -> str:
    """The worker's minute: sign if due, witness, check, and raise the alarm on a problem."""
    signer = Signer(config.secrets.audit_signing.value)
    witness = Witness(config.witness_path)
    done = []
    key = str(config.database_path)
    try:
        if checkpoint_due(engine, every, now) or not witness.exists():
            signed = sign_and_witness(engine, audit, signer, witness)
            if signed.checkpoint is not None:
                done.append(f"checkpoint at event {signed.checkpoint.seq}")
                done.append(_post_remote(config, signed.checkpoint, now))
        standing = check_now(engine, config.secrets.audit_chain.value, signer.public_key, witness, key)
        if standing.kind == "witness_behind":
            # A checkpoint the witness lacks (a crash between a commit and the witness line): catch it up.
            sign_and_witness(engine, audit, signer, witness)
            standing = check_now(engine, config.secrets.audit_chain.value, signer.public_key, witness, key)
    except WitnessRefused as refused:
        return alarm(config, engine, str(refused), now, send)
    if not standing.ok:
        return alarm(config, engine, str(standing.problem), now, send)
    _clear_alarm(config)
    return "; ".join(d for d in done if d) or ""


def _post_remote(config: Config, checkpoint: Checkpoint, now: datetime) -> str:
    if not config.audit_witness_url:
        return ""
    from casefeedback.audit.remote import RemoteWitnessFailed, send_checkpoint

    try:
        send_checkpoint(config, checkpoint, int(now.timestamp()))
    except RemoteWitnessFailed as failed:
        log.warning("remote audit witness not reached: %s", failed.kind)
        return f"remote witness not reached ({failed.kind}); the next checkpoint is sent again"
    return "sent to the remote witness"


def _alarm(config: Config) -> alarms.Alarm:
    # Its state beside the witness, not in the database: the alarm must outlive a rollback of the database.
    return alarms.Alarm(role="auditor", state=config.witness_path.parent / ALARM_FILE, event="audit.integrity",
                        subject="URGENT: casefeedback audit log needs an auditor now",
                        action="an auditor must run `casefeedback audit verify` now")


def alarm(config: Config, engine: Engine, problem: str, now: datetime,
          send: Callable[[Config, str, str, str], None] | None = None) -> str:
    """Tell the auditors now (email, and the alert webhook), and again every hour while it lasts."""
    return alarms.raise_alarm(config, engine, _alarm(config), problem, _body(problem, now), now, send)


def _body(problem: str, now: datetime) -> str:
    return (f"casefeedback found a problem with its audit log at {now:%H:%M UTC on %d %B %Y}:\n\n{problem}\n\n"
            "What to do now:\n"
            "1. Do not restore, migrate or change the instance until you have looked.\n"
            "2. Run `casefeedback audit verify` on the server: it names the first event affected.\n"
            "3. Keep a copy of the witness file and any exported checkpoints: they are the evidence.\n"
            "You will be told again every hour while the problem lasts.\n")


def raised_alarm(config: Config) -> alarms.Raised | None:
    """The alarm the worker raised and has not seen mended, for the auditors' pages (None: all is well)."""
    return alarms.raised(_alarm(config))


def _clear_alarm(config: Config) -> None:
    alarms.clear(_alarm(config))
