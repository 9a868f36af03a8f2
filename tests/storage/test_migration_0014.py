"""Migration 0014 (per-writer audit chains) on a real encrypted file and on PostgreSQL: a log, a checkpoint and
a witness line written before it still verify after it without a byte of the log rewritten; new events go to the
writers' chains and verify too; down and up again keep the log, and going down is refused once chains hold events."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import MetaData, insert, select, text

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.checkpoints import Checkpoint, Signer, write_checkpoint
from casefeedback.audit.log import key_check
from casefeedback.audit.verify import verify_log
from casefeedback.audit.walk import GENESIS_MAC, event_mac
from casefeedback.audit.witness import Witness
from casefeedback.storage import migrate
from casefeedback.storage.engine import read, write

CHAIN_KEY = os.urandom(32)
SEED = os.urandom(32)
LEGACY = 25


def _tables(engine):
    reflected = MetaData()
    with engine.connect() as connection:
        reflected.reflect(connection)
    return reflected.tables


def write_legacy_log(engine, witness: Witness) -> list[tuple]:
    """What 0013's code wrote: one chain from zeros, MAC over (seq, at, fields, detail), one head row, and a
    format-1 checkpoint at event 20 in the database and its witness."""
    tables = _tables(engine)
    previous, rows = GENESIS_MAC, []
    for seq in range(1, LEGACY + 1):
        values = [seq, f"2026-01-02T03:04:{seq:02d}.000000Z", f"staff-{seq}", "caseworker", "field.open", "answer",
                  f"a{seq}", "rating", "casework", "allowed", f'{{"i":{seq}}}']
        previous = event_mac(CHAIN_KEY, previous, values)
        rows.append((*values, previous))
    names = ("seq", "at", "actor_id", "actor_role", "action", "object_type", "object_id", "field_class", "purpose",
             "outcome", "detail", "mac")
    signer = Signer(SEED)
    with write(engine) as connection:
        connection.execute(insert(tables["audit_events"]), [dict(zip(names, row, strict=True)) for row in rows])
        connection.execute(insert(tables["audit_head"]).values(id=1, seq=LEGACY, mac=previous))
        instance = connection.execute(select(tables["instance_identity"].c.instance_id)).scalar_one()
        checkpoint = signer.sign(Checkpoint(instance, 20, rows[19][-1], "2026-01-02T03:05:00.000000Z", None, None,
                                            key_check(CHAIN_KEY), signer.public_key))
        assert checkpoint.heads is None and checkpoint.format.endswith("/1")
        connection.execute(insert(tables["audit_checkpoints"]).values(
            seq=20, mac=checkpoint.mac, at=checkpoint.at, previous_seq=None, previous_mac=None,
            key_check=checkpoint.key_check, public_key=checkpoint.public_key, signature=checkpoint.signature))
    witness.record(checkpoint)
    assert '"heads"' not in witness.path.read_text()  # exactly the format-1 line
    return rows


def events(engine) -> list[tuple]:
    with read(engine) as connection:
        return [tuple(r) for r in connection.execute(text(
            "SELECT seq, at, actor_id, actor_role, action, object_type, object_id, field_class, purpose, outcome, "
            "detail, mac FROM audit_events WHERE seq <= :n ORDER BY seq"), {"n": LEGACY})]


def verified(engine, witness: Witness):
    with read(engine) as connection:
        return verify_log(connection, CHAIN_KEY, SEED, witness=witness)


@pytest.fixture
def legacy(tmp_path: Path, new_database):
    engine = new_database()
    migrate.upgrade(engine, "0013")
    witness = Witness(tmp_path / "witness" / "audit-witness.jsonl")
    rows = write_legacy_log(engine, witness)
    yield engine, witness, rows
    engine.dispose()


def test_a_log_from_before_0014_verifies_after_it_unchanged_and_new_events_join_their_own_chains(legacy):
    engine, witness, rows = legacy
    migrate.upgrade(engine, "0014")
    assert events(engine) == rows  # not a byte rewritten
    with read(engine) as connection:
        chains = connection.execute(text("SELECT chain, seq, mac FROM audit_chains ORDER BY chain")).all()
        placed = connection.execute(text("SELECT count(*) FROM audit_events WHERE chain = 0 AND chain_seq = seq")
                                    ).scalar_one()
    assert chains[0] == (0, LEGACY, rows[-1][-1]) and [c[0] for c in chains] == list(range(9))
    assert placed == LEGACY
    report = verified(engine, witness)  # against the format-1 checkpoint and witness line
    assert report.ok and report.checked == LEGACY, report.problem

    migrate.upgrade(engine)
    log = AuditLog(CHAIN_KEY, lambda: datetime(2026, 1, 3, tzinfo=UTC))
    for writer in (0, 1, 2):
        with write(engine) as connection:
            numbers = AuditLog(CHAIN_KEY, log.now, writer=writer).append_many(
                connection, [AuditEvent(action="field.open", outcome="allowed", detail={"w": writer})] * 3)
        assert numbers == list(range(LEGACY + 1 + 3 * writer, LEGACY + 4 + 3 * writer))
    with write(engine) as connection:
        checkpoint = write_checkpoint(connection, log, Signer(SEED))
    assert checkpoint is not None and checkpoint.heads is not None
    witness.record(checkpoint)
    heads = checkpoint.chain_heads()
    assert heads[0] == (LEGACY, rows[-1][-1]) and {c: heads[c][0] for c in (1, 2, 3)} == {1: 3, 2: 3, 3: 3}
    report = verified(engine, witness)
    assert report.ok and report.checked == LEGACY + 9, report.problem
    # A legacy event copied into a writer's chain does not fit there: its MAC binds no chain.
    with write(engine) as connection:
        connection.execute(text(
            "INSERT INTO audit_events SELECT 1000, at, actor_id, actor_role, action, object_type, object_id, "
            "field_class, purpose, outcome, detail, mac, 4, 1 FROM audit_events WHERE seq = 1"))
        connection.execute(text("UPDATE audit_chains SET seq = 1, mac = (SELECT mac FROM audit_events WHERE seq = 1) "
                                "WHERE chain = 4"))
    with read(engine) as connection:
        broken = verify_log(connection, CHAIN_KEY, SEED)
    assert not broken.ok and (broken.kind, broken.chain, broken.first_bad_seq) == ("edited", 4, 1000)


def test_0014_down_and_up_keeps_the_log_and_down_is_refused_once_chains_hold_events(legacy):
    engine, witness, rows = legacy
    migrate.upgrade(engine, "0014")
    migrate.downgrade(engine, "0013")
    assert events(engine) == rows
    assert {"audit_head"} <= set(_tables(engine)) and "audit_chains" not in _tables(engine)
    with read(engine) as connection:
        assert tuple(connection.execute(text("SELECT seq, mac FROM audit_head")).one()) == (LEGACY, rows[-1][-1])
    migrate.upgrade(engine)
    assert events(engine) == rows and verified(engine, witness).ok
    with write(engine) as connection:
        AuditLog(CHAIN_KEY, lambda: datetime(2026, 1, 3, tzinfo=UTC)).append(
            connection, AuditEvent(action="field.open", outcome="allowed"))
    with pytest.raises(RuntimeError, match="per-writer chains"):
        migrate.downgrade(engine, "0013")
    # On SQLite the later ones went down and 0014 refused, changing nothing; PostgreSQL's DDL is transactional,
    # so its refusal takes back the whole downgrade and the database stays at head.
    assert migrate.current_revision(engine) == ("0014" if engine.dialect.name == "sqlite"
                                                else migrate.head_revision())
    assert verified(engine, witness).ok
    migrate.upgrade(engine)
    assert verified(engine, witness).ok
