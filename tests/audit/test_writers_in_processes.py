"""Several processes writing at once, and senders killed with SIGKILL at random moments: the file stays sound,
the audit log verifies (with its witness), and every send that was acknowledged is still there."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select, text

from casefeedback.audit.witness import Witness
from casefeedback.cli import main
from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events, submissions

ROOT = Path(__file__).resolve().parents[2]

# A sender in its own process: stores one submission at a time through intake's own service
# and prints each id only after its transaction committed (the acknowledgement).
SENDER = textwrap.dedent("""
    import sys, uuid
    from datetime import UTC, datetime
    from casefeedback.cli.common import open_services
    from casefeedback.intake.submissions import ConsentGiven, Sent, record_submissions

    found = open_services()
    policy = found.policies.service("victim-support")
    consent = ConsentGiven(policy.consent.version, "en", {"store": True, "share_insight": True})
    answers = {"treated": "4", "safe_now": "yes", "anything_else": "The caseworker listened."}
    for _ in range(int(sys.argv[1])):
        sent = Sent(str(uuid.uuid4()), answers, consent, consent_given_at=datetime.now(UTC),
                    submitted_at=datetime.now(UTC), language="en")
        record_submissions(found, policy, [sent])
        print(sent.id, flush=True)
""")


# An audit writer in its own process: appends events to its own chain (its writer id picks it) as fast as it
# can, one short write transaction each, and prints each event's number once committed.
WRITER = textwrap.dedent("""
    import sys
    from casefeedback.audit import AuditEvent, AuditLog
    from casefeedback.cli.common import open_services
    from casefeedback.storage.engine import write

    found = open_services()
    log = AuditLog(found.config.secrets.audit_chain.value, found.clock, writer=int(sys.argv[1]))
    for i in range(int(sys.argv[2])):
        with write(found.engine) as connection:
            (seq,) = log.append_many(connection, [AuditEvent(action="field.open", outcome="allowed",
                                                             actor_id=f"writer-{sys.argv[1]}", detail={"i": i})])
        print(seq, flush=True)
""")


def writers(instance: Path, policies: Path, ids: list[int], per: int) -> list[subprocess.Popen[str]]:
    env = {**os.environ, "CASEFEEDBACK_INSTANCE": str(instance), "CASEFEEDBACK_POLICIES": str(policies),
           "PYTHONPATH": str(ROOT)}
    return [subprocess.Popen([sys.executable, "-c", WRITER, str(writer), str(per)], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for writer in ids]


def senders(instance: Path, policies: Path, count: int, per: int) -> list[subprocess.Popen[str]]:
    env = {**os.environ, "CASEFEEDBACK_INSTANCE": str(instance), "CASEFEEDBACK_POLICIES": str(policies),
           "PYTHONPATH": str(ROOT)}
    return [subprocess.Popen([sys.executable, "-c", SENDER, str(per)], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(count)]


def acknowledged(process: subprocess.Popen[str]) -> list[str]:
    out, err = process.communicate(timeout=120)
    assert process.returncode in (0, -signal.SIGKILL), err[-2000:]
    return [line.strip() for line in out.splitlines() if line.strip()]


def sound(found, monkeypatch) -> None:
    if found.engine.dialect.name == "sqlite":  # PostgreSQL's crash safety is its own WAL: no file of ours to check
        with read(found.engine) as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    monkeypatch.setenv("CASEFEEDBACK_INSTANCE", str(found.config.instance_dir))
    monkeypatch.setenv("CASEFEEDBACK_POLICIES", str(found.config.policies_dir))
    runner = CliRunner()
    assert runner.invoke(main, ["audit", "checkpoint"]).exit_code == 0
    verified = runner.invoke(main, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output


def stored(found) -> set[str]:
    with read(found.engine) as connection:
        return set(connection.execute(select(submissions.c.id)).scalars())


def test_senders_in_three_processes_at_once_leave_one_sound_verified_log(found, monkeypatch):
    processes = senders(found.config.instance_dir, found.config.policies_dir, count=3, per=15)
    acks = [acknowledged(p) for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert sum(len(a) for a in acks) == 45
    assert {sid for a in acks for sid in a} <= stored(found)
    sound(found, monkeypatch)


def test_a_sender_killed_at_random_moments_never_loses_an_acknowledged_send(found, monkeypatch):
    chance = random.Random(int.from_bytes(os.urandom(4), "big"))
    every_ack: list[str] = []
    for _round in range(4):
        (process,) = senders(found.config.instance_dir, found.config.policies_dir, count=1, per=10_000)
        assert process.stdout is not None
        first = process.stdout.readline().strip()  # sending has begun (start-up varies with the machine's load)
        time.sleep(chance.uniform(0.0, 0.4))
        process.send_signal(signal.SIGKILL)
        every_ack += [first, *acknowledged(process)]
        assert process.returncode == -signal.SIGKILL
    assert all(every_ack), "a sender died before its first send: the test proved nothing"
    assert set(every_ack) <= stored(found)
    sound(found, monkeypatch)


def test_audit_writers_in_four_processes_each_keep_their_own_chain_and_every_chain_is_signed(found, monkeypatch):
    ids, per = [0, 1, 2, 3], 60
    processes = writers(found.config.instance_dir, found.config.policies_dir, ids, per)
    acks = [acknowledged(p) for p in processes]
    assert all(p.returncode == 0 for p in processes) and all(len(a) == per for a in acks)
    numbers = [int(n) for a in acks for n in a]
    assert len(numbers) == len(set(numbers))  # one number line for the whole log, never a number twice
    with read(found.engine) as connection:
        counts = dict(connection.execute(select(audit_events.c.chain, func.count()).where(
            audit_events.c.actor_id.like("writer-%")).group_by(audit_events.c.chain)).all())
        spread = dict(connection.execute(select(audit_events.c.chain, func.count(func.distinct(
            audit_events.c.actor_id))).where(audit_events.c.actor_id.like("writer-%"))
            .group_by(audit_events.c.chain)).all())
    assert counts == {writer + 1: per for writer in ids} and set(spread.values()) == {1}
    sound(found, monkeypatch)  # `audit checkpoint` then `audit verify`: every chain walked, every head signed
    newest = Witness(found.config.witness_path).newest()
    assert newest is not None
    heads = newest.chain_heads()
    assert set(heads) == set(range(1, 9)) and all(heads[writer + 1][0] >= per for writer in ids)
