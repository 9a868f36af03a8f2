"""The witness: a log cut with its newest checkpoints, or an older copy of the database put back, is found —
by `audit verify`, by the worker's minute, and no checkpoint is ever signed over the cut."""

from __future__ import annotations

import json
import shutil
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.audit.checkpoints import Signer
from casefeedback.audit.verify import verify_log
from casefeedback.audit.walk import genesis
from casefeedback.audit.watch import WitnessRefused, keep_watch, sign_and_witness
from casefeedback.audit.witness import Witness, WitnessError
from casefeedback.cli import main
from casefeedback.config import Config, ConfigError
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_chains, audit_checkpoints, audit_events, staff
from tests.alerts.support import Receiver, SMTPServer, signed_by
from tests.conftest import StaffFactory, make_config

EVERY = timedelta(minutes=1)


@pytest.fixture
def config(tmp_path: Path, smtp: SMTPServer, receiver: Receiver) -> Config:
    return make_config(tmp_path / "instance", smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
                       smtp_timeout=2.0, alert_webhook_url=receiver.url, audit_witness_url=receiver.url)


def add_events(found: Services, n: int) -> int:
    with write(found.engine) as connection:
        for i in range(n):
            seq = found.audit.append(connection, AuditEvent(action=Action.FIELD_OPEN, outcome="allowed",
                                                            actor_id=f"s{i}", detail={"i": i}))
    return seq


def sign(found: Services) -> int:
    signed = sign_and_witness(found.engine, found.audit, Signer(found.config.secrets.audit_signing.value),
                              Witness(found.config.witness_path))
    assert signed.checkpoint is not None
    return signed.checkpoint.seq


def check(found: Services, connection):
    secrets = found.config.secrets
    return verify_log(connection, secrets.audit_chain.value, secrets.audit_signing.value,
                      witness=Witness(found.config.witness_path))


def cut_back_to(found: Services, keep: int) -> None:
    """The attack: delete the newest events and every checkpoint beyond them, and move the head back."""
    with write(found.engine) as connection:
        kept = connection.execute(select(audit_events.c.chain, audit_events.c.chain_seq, audit_events.c.mac)
                                  .where(audit_events.c.seq == keep)).one()
        connection.execute(delete(audit_events).where(audit_events.c.seq > keep))
        connection.execute(delete(audit_checkpoints).where(audit_checkpoints.c.seq > keep))
        connection.execute(update(audit_chains).where(audit_chains.c.chain == kept.chain).values(
            seq=kept.chain_seq, mac=kept.mac))


def test_the_witness_lives_outside_the_database_directory_mode_0600(found):
    add_events(found, 3)
    sign(found)
    path = found.config.witness_path
    assert not path.resolve().is_relative_to(found.config.database_path.parent.resolve())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    line = json.loads(path.read_text().splitlines()[-1])
    assert line["format"] == "casefeedback-audit-checkpoint/2" and line["signature"]
    assert [head[0] for head in line["heads"]] == list(range(1, 9))  # every chain's head, the empty ones too


def test_a_witness_inside_the_database_directory_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="outside the database's directory"):
        make_config(tmp_path / "instance", audit_witness=tmp_path / "instance" / "witness.jsonl").check()


def test_cutting_the_newest_events_with_their_checkpoints_and_moving_the_head_is_caught(found):
    """The attack from the issue: before the witness, `audit verify` said "intact: 10 events verified"."""
    add_events(found, 30)
    sign(found)
    cut_back_to(found, 10)
    with read(found.engine) as connection:
        report = check(found, connection)
    assert not report.ok and report.kind == "rollback"
    assert "ends at its event 10 but the witness saw its event" in str(report.problem)
    assert "rollback" in str(report.problem)
    # ...and the next checkpoint refuses to sign the cut log, which would launder it.
    with pytest.raises(WitnessRefused, match="ends at its event 10"):
        sign(found)
    with read(found.engine) as connection:
        assert connection.execute(select(func.max(audit_checkpoints.c.seq))).scalar() is None


def test_replacing_the_database_with_an_older_copy_is_caught(found, tmp_path):
    add_events(found, 5)
    sign(found)
    found.engine.dispose()
    older = tmp_path / "older.db"
    shutil.copyfile(found.config.database_path, older)
    add_events(found, 5)
    sign(found)
    found.engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(str(found.config.database_path) + suffix).unlink(missing_ok=True)
    shutil.copyfile(older, found.config.database_path)
    with read(found.engine) as connection:
        report = check(found, connection)
    assert not report.ok and report.kind == "rollback" and "older copy" in str(report.problem)


def test_a_rewritten_event_at_the_witnessed_point_is_named(found):
    seq = add_events(found, 8)
    sign(found)
    with write(found.engine) as connection:
        connection.execute(update(audit_events).where(audit_events.c.seq == seq).values(mac="0" * 64))
    with read(found.engine) as connection:
        report = check(found, connection)
    assert not report.ok and report.kind == "rewritten" and f"event {seq} is not the event the witness" in str(
        report.problem)


def test_the_cli_names_the_cut_and_exits_1(found, monkeypatch):
    monkeypatch.setenv("CASEFEEDBACK_INSTANCE", str(found.config.instance_dir))
    monkeypatch.setenv("CASEFEEDBACK_POLICIES", str(found.config.policies_dir))
    runner = CliRunner()
    add_events(found, 20)
    made = runner.invoke(main, ["audit", "checkpoint"])
    assert made.exit_code == 0 and "witnessed in" in made.output
    assert runner.invoke(main, ["audit", "verify"]).exit_code == 0
    cut_back_to(found, 10)
    cut = runner.invoke(main, ["audit", "verify"])
    assert cut.exit_code == 1 and "its events 11–" in cut.output and "rollback" in cut.output
    refused = runner.invoke(main, ["audit", "checkpoint"])
    assert refused.exit_code == 1 and "no checkpoint was signed" in refused.output
    alone = runner.invoke(main, ["audit", "verify", "--no-witness"])
    assert alone.exit_code == 0 and "NOT compared with the witness" in alone.output


def test_a_lost_witness_is_not_silently_replaced(found, monkeypatch):
    add_events(found, 4)
    sign(found)
    found.config.witness_path.unlink()
    with read(found.engine) as connection:
        report = check(found, connection)
    assert not report.ok and report.kind == "witness_missing"
    with pytest.raises(WitnessRefused, match="missing or empty"):
        sign(found)
    monkeypatch.setenv("CASEFEEDBACK_INSTANCE", str(found.config.instance_dir))
    monkeypatch.setenv("CASEFEEDBACK_POLICIES", str(found.config.policies_dir))
    started = CliRunner().invoke(main, ["audit", "witness", "start"])
    assert started.exit_code == 0 and "Witness started" in started.output
    with read(found.engine) as connection:
        assert check(found, connection).ok


def test_an_altered_or_forged_witness_line_is_an_error_but_a_torn_last_line_is_not(found):
    add_events(found, 4)
    sign(found)
    path = found.config.witness_path
    good = path.read_bytes()
    with path.open("ab") as handle:
        handle.write(b'{"format":"casefeedback-audit-checkpoint/1","seq":9')  # a crash mid-append: no newline
    with read(found.engine) as connection:
        assert check(found, connection).ok
    line = json.loads(good.splitlines()[-1])
    line["seq"] = 2
    path.write_bytes(good + json.dumps(line).encode() + b"\n")
    with read(found.engine) as connection:
        report = check(found, connection)
    assert not report.ok and report.kind == "forged"
    path.write_bytes(good + b"not json\n")
    with pytest.raises(WitnessError, match="altered"):
        Witness(path).newest()


def test_the_worker_signs_each_interval_and_sends_the_remote_witness_a_signed_copy(found, clock, receiver):
    add_events(found, 3)
    policy_every = found.policies.organisation.audit.checkpoint_every
    assert policy_every == EVERY
    first = keep_watch(found.config, found.engine, found.audit, EVERY, clock())
    assert first.startswith("checkpoint at event") and "sent to the remote witness" in first
    add_events(found, 2)
    assert keep_watch(found.config, found.engine, found.audit, EVERY, clock()) == ""  # not due yet
    clock.advance(seconds=61)
    assert keep_watch(found.config, found.engine, found.audit, EVERY, clock()).startswith("checkpoint")
    assert len(receiver.received) == 2
    sent = receiver.received[-1]
    # Signed like the alert webhooks (Standard Webhooks), at the worker's time.
    assert signed_by(found.config.secrets.webhook.value, sent)
    assert sent.header("webhook-timestamp") == str(int(clock().timestamp()))
    remote = json.loads(sent.body)
    assert remote["seq"] == Witness(found.config.witness_path).newest_checkpoint_seq()


def test_the_worker_raises_the_alarm_to_auditors_once_an_hour_until_it_is_mended(found, clock, smtp, receiver):
    auditor_id, _u, _p = StaffFactory(found)("auditor", team=None)
    with write(found.engine) as connection:
        connection.execute(update(staff).where(staff.c.id == auditor_id).values(email="auditor@example.org"))
    add_events(found, 20)
    keep_watch(found.config, found.engine, found.audit, EVERY, clock())
    cut_back_to(found, 10)
    clock.advance(seconds=61)
    raised = keep_watch(found.config, found.engine, found.audit, EVERY, clock())
    assert raised.startswith("ALARM") and "1 auditor(s) emailed" in raised
    mail = smtp.mailbox.to("auditor@example.org")
    assert len(mail) == 1 and "URGENT" in mail[0]["Subject"]
    assert "ends at its event 10" in mail[0].get_payload(decode=True).decode()
    assert any(json.loads(r.body).get("event") == "audit.integrity" for r in receiver.received)
    clock.advance(minutes=10)
    assert "already told" in keep_watch(found.config, found.engine, found.audit, EVERY, clock())
    clock.advance(minutes=51)
    keep_watch(found.config, found.engine, found.audit, EVERY, clock())
    assert len(smtp.mailbox.to("auditor@example.org")) == 2


def test_the_minute_walk_finds_an_edit_in_what_is_new(found, clock):
    add_events(found, 5)
    keep_watch(found.config, found.engine, found.audit, EVERY, clock())
    seq = add_events(found, 5)
    with write(found.engine) as connection:
        connection.execute(update(audit_events).where(audit_events.c.seq == seq - 1).values(outcome="denied"))
    assert keep_watch(found.config, found.engine, found.audit, EVERY, clock()).startswith("ALARM")


CUT = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@CUT
@given(keep=st.integers(min_value=0, max_value=39), drop_checkpoints=st.booleans(), move_head=st.booleans())
def test_any_cut_behind_the_witness_is_found(witnessed_log, keep, drop_checkpoints, move_head):
    found, _last = witnessed_log
    with found.engine.connect() as connection:
        transaction = connection.begin()
        try:
            (chain,) = connection.execute(select(audit_events.c.chain).distinct()).scalars().all()
            connection.execute(delete(audit_events).where(audit_events.c.seq > keep))
            if drop_checkpoints:
                connection.execute(delete(audit_checkpoints).where(audit_checkpoints.c.seq > keep))
            if move_head:
                mac = connection.execute(select(audit_events.c.mac).where(audit_events.c.seq == keep)).scalar()
                connection.execute(update(audit_chains).where(audit_chains.c.seq > 0).values(
                    seq=keep, mac=mac or genesis(chain)))
            report = check(found, connection)
        finally:
            transaction.rollback()
    assert not report.ok and report.kind in ("rollback", "truncated", "checkpoint")


@pytest.fixture
def witnessed_log(found) -> tuple[Services, int]:
    add_events(found, 40)
    return found, sign(found)


def test_restoring_a_backup_is_a_signed_note_in_the_witness_not_an_attack(found, tmp_path, monkeypatch):
    monkeypatch.setenv("CASEFEEDBACK_INSTANCE", str(found.config.instance_dir))
    monkeypatch.setenv("CASEFEEDBACK_POLICIES", str(found.config.policies_dir))
    runner = CliRunner()
    add_events(found, 5)
    backup_dir = tmp_path / "backups"
    made = runner.invoke(main, ["backup", "--to", str(backup_dir)])
    assert made.exit_code == 0, made.output
    add_events(found, 5)
    sign(found)
    found.engine.dispose()
    (backup,) = [p for p in backup_dir.iterdir() if p.is_dir()]
    restored = runner.invoke(main, ["restore", str(backup), "--yes"])
    assert restored.exit_code == 0, restored.output
    lines = [json.loads(line) for line in found.config.witness_path.read_text().splitlines()]
    assert lines[-2]["format"] == "casefeedback-audit-restore/1" and lines[-1]["format"].endswith("checkpoint/2")
    assert runner.invoke(main, ["audit", "verify"]).exit_code == 0


def test_every_auditor_page_says_so_while_the_alarm_stands(app, found, clock, client, staff_factory, auth):
    _, name, password = staff_factory("auditor")
    assert auth.sign_in(name, password).status_code == 302
    add_events(found, 20)
    keep_watch(found.config, found.engine, found.audit, EVERY, clock())
    assert b"data-integrity-alarm" not in client.get("/audit/").data
    cut_back_to(found, 10)
    clock.advance(seconds=61)
    assert keep_watch(found.config, found.engine, found.audit, EVERY, clock()).startswith("ALARM")
    page = client.get("/audit/").data.decode()
    assert "data-integrity-alarm" in page and "The audit log needs you now" in page and "ends at its event 10" in page
