"""Fixtures: every test app gets a fresh instance with fresh random keys in a temp dir."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, select

from casefeedback import create_app
from casefeedback.auth import accounts
from casefeedback.auth import mfa as mfa_service
from casefeedback.bootstrap import create_or_upgrade_database, create_secrets
from casefeedback.config import Config
from casefeedback.instance import load_secrets
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.tables import staff, staff_mfa
from tests import notify as notify_stub
from tests.alerts.support import Receiver, SMTPServer
from tests.notify import NotifyStandIn

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


class Clock:
    """A controllable clock: tests move time instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_config(instance: Path, **overrides: object) -> Config:
    create_secrets(instance, "development")
    config = Config(env="testing", instance_dir=instance, policies_dir=POLICIES,
                    secrets=load_secrets(instance, {}), secure_cookies=False,
                    log_path=instance / "logs" / "casefeedback.log")
    config = replace(config, **overrides)  # type: ignore[arg-type]
    if not config.store.is_postgres and not config.database_path.exists():
        _copy_sqlcipher_template(config)
    create_or_upgrade_database(config)
    return config


# One SQLCipher file per test process already migrated to head, copied and re-keyed for every new test instance:
# re-encrypting a hundred pages under the instance's own fresh key takes a fraction of running every migration
# again. The copy is what `casefeedback init` makes (the same migrations, the same file settings), under the
# instance's key, with an identity of its own.
_sqlcipher_template: list[tuple[Path, bytes]] = []


def _copy_sqlcipher_template(config: Config) -> None:
    import os
    import shutil
    import tempfile

    from casefeedback.storage.dialect import rekey_file, truncate_wal
    from casefeedback.storage.engine import open_engine, open_store

    if not _sqlcipher_template:
        path, key = Path(tempfile.mkdtemp(prefix="casefeedback-template-")) / "template.db", os.urandom(32)
        engine = open_engine(path, key, create=True)
        try:
            from casefeedback.storage import migrate

            migrate.upgrade(engine)
            assert truncate_wal(engine)  # everything in the one file, which is all that is copied
        finally:
            engine.dispose()
        _sqlcipher_template.append((path, key))
    path, key = _sqlcipher_template[0]
    config.database_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(path, config.database_path)
    config.database_path.chmod(0o600)
    rekey_file(config.database_path, key, config.store.key)
    engine = open_store(config.store)
    try:
        with write(engine) as connection:
            give_new_identity(connection)
    finally:
        engine.dispose()


def give_new_identity(connection: Connection) -> None:
    """A copied database is another instance: its own random id, as the migration that made the row gives one."""
    import uuid

    from casefeedback.storage.tables import instance_identity

    connection.execute(instance_identity.update().values(instance_id=str(uuid.uuid4())))


# Argon2id at its production cost (64 MiB, three passes) takes about 0.4 s a hash on this machine, and
# thousands of tests make staff and sign them in: in this process they hash with the same algorithm at the
# lowest cost instead, as Django's own test settings do. Everything about hashing but its cost is unchanged,
# and a test marked ``production_password_hashing`` (the one checking the parameters) keeps the real ones.
# Processes the tests start (gunicorn, the worker) always hash at the production cost.
# (A MonkeyPatch of its own, not the ``monkeypatch`` fixture: an autouse fixture asking for that one would set
# it up before every other fixture, and so undo a test's own patches only after the app fixture's teardown.)
@pytest.fixture(autouse=True)
def _cheap_password_hashing(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("production_password_hashing"):
        yield
        return
    from casefeedback.auth import passwords

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", _CHEAP_HASHER)
        patch.setattr(passwords, "_DUMMY_HASH", _CHEAP_DUMMY)
        yield


def _cheap_hasher() -> tuple[Any, str]:
    from argon2 import PasswordHasher

    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return hasher, hasher.hash("casefeedback-timing-equaliser")


_CHEAP_HASHER, _CHEAP_DUMMY = _cheap_hasher()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "instance")


@pytest.fixture
def app(config: Config, clock: Clock) -> Iterator[Flask]:
    application = create_app(config, clock=clock)
    yield application
    application.extensions["casefeedback"].engine.dispose()


@pytest.fixture
def found(app: Flask) -> Services:
    services: Services = app.extensions["casefeedback"]
    return services


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


class StaffFactory:
    def __init__(self, found: Services) -> None:
        self.found = found

    def __call__(self, role: str = "caseworker", team: str | None = "North", username: str | None = None,
                 enabled: bool = True, mfa: bool = True) -> tuple[str, str, str]:
        """Return (staff id, username, password). ``mfa``: already enrolled in TOTP (see ``totp_secret``)."""
        username = username or f"{role}-{secrets.token_hex(3)}"
        password = secrets.token_urlsafe(16)
        with write(self.found.engine) as connection:
            team_id = accounts.ensure_team(connection, team) if team else None
            staff_id = accounts.add_staff(connection, username=username, display_name=username.title(),
                                          role=role, password=password, now=self.found.clock(), team_id=team_id)
            if mfa:  # enrolled without using up a code, as if they had scanned the QR code earlier
                mfa_service.enrol_without_code(connection, staff_id, self.found.clock())
            if not enabled:
                accounts.disable(connection, staff_id)
        return staff_id, username, password


def totp_secret(found: Services, username: str) -> str:
    with write(found.engine) as connection:
        return str(connection.execute(select(staff_mfa.c.totp_secret).join(staff, staff.c.id == staff_mfa.c.staff_id)
                                      .where(staff.c.username == username)).scalar_one())


def next_code(found: Services, username: str) -> str:
    """A TOTP code the app will accept now: codes are good once, and the test clock may stand still,
    so take the next unused step within the allowed drift, moving the clock on 30 s if none is left."""
    with write(found.engine) as connection:
        row = connection.execute(select(staff_mfa.c.totp_secret, staff_mfa.c.last_used_step)
                                 .join(staff, staff.c.id == staff_mfa.c.staff_id)
                                 .where(staff.c.username == username)).one()
    totp = pyotp.TOTP(row.totp_secret)
    current = totp.timecode(found.clock())
    for step in (current, current + 1):
        if step > row.last_used_step:
            return str(totp.generate_otp(step))
    clock = found.clock
    if isinstance(clock, Clock):
        clock.advance(seconds=30)
        return next_code(found, username)
    raise AssertionError("no unused TOTP step left at this time")


@pytest.fixture
def staff_factory(found: Services) -> StaffFactory:
    return StaffFactory(found)


class AuthActions:
    """Signs in as a person would: password, then the code their authenticator app shows."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    @property
    def found(self) -> Services:
        found: Services = self.client.application.extensions["casefeedback"]
        return found

    def sign_in(self, username: str, password: str, code: str | None = None) -> Any:
        page = self.client.get("/staff/sign-in").get_data(as_text=True)
        response = self.client.post("/staff/sign-in", data={"username": username, "password": password,
                                                             "csrf_token": csrf_token(page)})
        if response.status_code != 303 or not response.headers["Location"].endswith("/staff/sign-in/code"):
            return response
        return self.enter_code(code or next_code(self.found, username))

    def enter_code(self, code: str) -> Any:
        page = self.client.get("/staff/sign-in/code").get_data(as_text=True)
        return self.client.post("/staff/sign-in/code", data={"code": code, "csrf_token": csrf_token(page)})

    def confirm(self, username: str, password: str) -> Any:
        """Re-authenticate (password and a fresh code) before a key operation."""
        page = self.client.get("/staff/confirm").get_data(as_text=True)
        return self.client.post("/staff/confirm", data={"password": password, "code": next_code(self.found, username),
                                                        "csrf_token": csrf_token(page)})

    def sign_out(self) -> Any:
        page = self.client.get("/staff/account").get_data(as_text=True)
        return self.client.post("/staff/sign-out", data={"csrf_token": csrf_token(page)})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


def canary() -> str:
    """A string that must never be found where plaintext must not go."""
    return f"CANARY{secrets.token_hex(8).upper()}"


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    """A real SMTP server (aiosmtpd) on loopback, recording what it accepts."""
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def notify() -> Iterator[NotifyStandIn]:
    """A stand-in for GOV.UK Notify on loopback (tests/notify.py): checks the client's token, records texts."""
    stand_in = NotifyStandIn()
    yield stand_in
    stand_in.stop()


def notify_settings(instance: Path, stand_in: NotifyStandIn) -> dict[str, object]:
    """Config overrides that send texts to the stand-in, with its API key as the instance's secret."""
    secrets_dir = instance / "secrets"
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    (secrets_dir / "notify-api.key").write_text(f"# GOV.UK Notify test key\n{notify_stub.API_KEY}\n")
    return {"notify_base_url": stand_in.url, "notify_alert_template": notify_stub.ALERT_TEMPLATE,
            "notify_invitation_template": notify_stub.INVITATION_TEMPLATE, "notify_timeout": 2.0}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP endpoint on loopback recording every POST: a duty system's webhook, a remote witness."""
    endpoint = Receiver()
    yield endpoint
    endpoint.stop()
