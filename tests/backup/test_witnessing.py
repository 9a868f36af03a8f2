"""Each erasure's key ids go beside the audit witness and on to the remote witness: ids only, each once."""

from __future__ import annotations

import json

import pytest

from casefeedback.policy import load_policies
from casefeedback.retention import ledger
from casefeedback.retention.erasure import erase
from casefeedback.services import build_services
from casefeedback.storage.engine import write
from casefeedback.worker.jobs import run_ledger_sync
from tests.conftest import canary, make_config
from tests.retention.conftest import seed_submission


@pytest.fixture
def witnessed(tmp_path, clock, receiver):
    config = make_config(tmp_path / "instance", audit_witness_url=receiver.url)
    services = build_services(config, load_policies(config.policies_dir), clock)
    yield services
    services.engine.dispose()


def test_erasures_reach_the_remote_witness_once_and_carry_no_content(witnessed, receiver):
    secret = canary()
    erased_id = seed_submission(witnessed, {"anything_else": secret, "treated": "2"})
    receiver.status = 503  # the remote witness is down
    with write(witnessed.engine) as connection:
        erase(connection, witnessed.audit, submission_id=erased_id, reason="consent_withdrawn")
    copy = ledger.witness_copy_path(witnessed.config.witness_path)
    assert len(ledger.read_file(copy)) == 2  # written beside the witness as the erasure committed
    assert "failed (http 503)" in run_ledger_sync(witnessed)
    receiver.status = 204
    assert "2 erasure(s) sent to the remote witness" in run_ledger_sync(witnessed)
    body = json.loads(receiver.received[-1].body)
    assert body["format"] == "casefeedback-erasures/1"
    assert {e["submission_id"] for e in body["entries"]} == {erased_id}
    assert secret.encode() not in b"".join(r.body for r in receiver.received)
    sent = len(receiver.received)
    run_ledger_sync(witnessed)
    assert len(receiver.received) == sent  # nothing sent twice


def test_a_lost_witness_copy_is_filled_again_from_the_table(witnessed):
    erased_id = seed_submission(witnessed, {"anything_else": canary()})
    with write(witnessed.engine) as connection:
        erase(connection, witnessed.audit, submission_id=erased_id, reason="retention")
    copy = ledger.witness_copy_path(witnessed.config.witness_path)
    copy.unlink()
    run_ledger_sync(witnessed)
    assert {e.submission_id for e in ledger.read_file(copy)} == {erased_id}
