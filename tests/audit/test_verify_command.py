"""`casefeedback audit verify [--from-checkpoint FILE]` and `audit checkpoint --export`: clear refusals."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, update

from casefeedback.audit import AuditEvent
from casefeedback.cli import main
from casefeedback.storage.engine import write
from casefeedback.storage.tables import audit_checkpoints, audit_events
from tests.retention.conftest import settled_digest


@pytest.fixture
def cli(found, monkeypatch):
    monkeypatch.setenv("CASEFEEDBACK_INSTANCE", str(found.config.instance_dir))
    monkeypatch.setenv("CASEFEEDBACK_POLICIES", str(found.config.policies_dir))
    with write(found.engine) as connection:
        for i in range(10):
            found.audit.append(connection, AuditEvent(action="test.event", outcome="ok", detail={"i": i}))
    return CliRunner()


def digest(found) -> str:
    return settled_digest(found)


def test_checkpoint_export_then_verify_from_it(found, cli, tmp_path):
    exported = tmp_path / "kept-elsewhere.json"
    made = cli.invoke(main, ["audit", "checkpoint", "--export", str(exported)])
    assert made.exit_code == 0, made.output
    checkpoint = json.loads(exported.read_text())
    assert checkpoint["format"] == "casefeedback-audit-checkpoint/2" and checkpoint["signature"]
    ok = cli.invoke(main, ["audit", "verify", "--from-checkpoint", str(exported)])
    assert ok.exit_code == 0 and f"consistent with the checkpoint at event {checkpoint['seq']}" in ok.output
    again = cli.invoke(main, ["audit", "checkpoint", "--export", str(exported)])
    assert again.exit_code == 1 and "never overwritten" in again.output
    # Someone cuts the log and removes the stored checkpoints: the exported copy still tells.
    with write(found.engine) as connection:
        connection.execute(delete(audit_events).where(audit_events.c.seq > 3))
        connection.execute(delete(audit_checkpoints))
    cut = cli.invoke(main, ["audit", "verify", "--from-checkpoint", str(exported)])
    assert cut.exit_code == 1 and "events 4–" in cut.output and "were removed" in cut.output
    # Even without the witness (a copy looked at elsewhere), the exported checkpoint tells.
    alone = cli.invoke(main, ["audit", "verify", "--no-witness", "--from-checkpoint", str(exported)])
    assert alone.exit_code == 1 and "removed from the end" in alone.output


def test_a_wrong_audit_key_is_refused_clearly_and_changes_nothing(found, cli, tmp_path, monkeypatch):
    cli.invoke(main, ["audit", "checkpoint"])
    before = digest(found)
    monkeypatch.setenv("CASEFEEDBACK_AUDIT_CHAIN_KEY", os.urandom(32).hex())
    result = cli.invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert "the audit chain key does not fit this log" in result.output and "Nothing was verified" in result.output
    assert digest(found) == before


def test_bad_checkpoint_files_are_refused(found, cli, tmp_path):
    exported = tmp_path / "cp.json"
    cli.invoke(main, ["audit", "checkpoint", "--export", str(exported)])
    data = json.loads(exported.read_text())
    cases = {
        "truncated": exported.read_text()[:40],
        "altered": json.dumps({**data, "seq": data["seq"] - 1}),
        "other-instance": json.dumps({**data, "instance_id": "another-instance"}),
    }
    expected = {"truncated": "not JSON; truncated?", "altered": "signature does not match",
                "other-instance": "comes from another casefeedback instance"}
    for name, text in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(text)
        result = cli.invoke(main, ["audit", "verify", "--from-checkpoint", str(path)])
        assert result.exit_code == 1 and expected[name] in result.output, (name, result.output)
    missing = cli.invoke(main, ["audit", "verify", "--from-checkpoint", str(tmp_path / "nope.json")])
    assert missing.exit_code == 1 and "cannot read" in missing.output


def test_an_edit_is_named(found, cli):
    with write(found.engine) as connection:
        connection.execute(update(audit_events).where(audit_events.c.seq == 6).values(outcome="edited"))
    result = cli.invoke(main, ["audit", "verify"])
    assert result.exit_code == 1 and "event 6 does not match its MAC" in result.output
