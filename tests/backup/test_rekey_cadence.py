"""The optional ``[keys] rekey_database_every``: the worker's backup round re-keys the database online when
its key is as old as declared, once, and the instance keeps reading and writing on the new file."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select

from casefeedback.audit.actions import Action
from casefeedback.audit.verify import verify_log
from casefeedback.backup.schedule import keep_horizon
from casefeedback.services import Services
from casefeedback.storage.dialect import integrity_problems
from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events, submissions
from tests.conftest import canary
from tests.retention.conftest import seed_submission


def rekeying_every(found: Services, days: int | None) -> Services:
    organisation = found.policies.organisation
    keys = replace(organisation.keys, rekey_database_every=None if days is None else timedelta(days=days))
    return replace(found, policies=replace(found.policies, organisation=replace(organisation, keys=keys)))


def rekeys(found: Services) -> int:
    with read(found.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(audit_events).where(
            audit_events.c.action == Action.KEYS_REKEY_DB.value, audit_events.c.outcome == "success")).scalar_one())


def test_the_round_rekeys_the_database_when_its_key_is_as_old_as_declared(found, clock):
    seed_submission(found, {"anything_else": canary(), "treated": "2"})
    services = rekeying_every(found, 7)
    key_file = found.config.secrets.database.path
    assert key_file is not None
    before = key_file.read_bytes()

    first = keep_horizon(services)  # the log (and so the key) began today: not due
    assert not first.failed and rekeys(found) == 0 and key_file.read_bytes() == before

    clock.advance(days=8)
    lines: list[str] = []
    second = keep_horizon(services, progress=lines.append)
    assert not second.failed, second.failed
    assert any(line.startswith("database re-keyed:") and "writes paused" in line for line in second.done), second
    assert any("Re-encrypting the database under a new key" in line for line in lines)
    assert key_file.read_bytes() != before and rekeys(found) == 1

    # The running instance follows the swap: it reads what was there and writes more.
    seed_submission(found, {"anything_else": canary(), "treated": "4"})
    with read(found.engine) as connection:
        assert connection.execute(select(func.count()).select_from(submissions)).scalar_one() == 2
        assert integrity_problems(connection.connection.dbapi_connection) == []
        secrets = found.config.secrets
        assert verify_log(connection, secrets.audit_chain.value, secrets.audit_signing.value).ok

    clock.advance(days=1)
    third = keep_horizon(services)  # re-keyed a day ago: not due again for six more
    assert not third.failed and rekeys(found) == 1


def test_undeclared_the_round_never_rekeys(found, clock):
    clock.advance(days=400)
    done = keep_horizon(rekeying_every(found, None))
    assert not any("re-key" in line for line in done.done) and rekeys(found) == 0


def test_declared_on_postgresql_the_round_fails_clearly_and_changes_nothing(found, clock, monkeypatch):
    monkeypatch.setenv("CASEFEEDBACK_DATABASE_URL", "postgresql+psycopg://casefeedback@/casefeedback")
    key_file = found.config.secrets.database.path
    assert key_file is not None
    before = key_file.read_bytes()
    clock.advance(days=30)
    done = keep_horizon(rekeying_every(found, 7))
    [failed] = [f for f in done.failed if f.startswith("re-key:")]
    assert "encryption of the database at rest is the operator's" in failed
    assert key_file.read_bytes() == before and rekeys(found) == 0
