"""Every alert test gets a real SMTP server and a real webhook receiver on loopback, and an app using both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import update

from casefeedback.config import Config
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.tables import staff
from tests.alerts.support import Receiver, SMTPServer
from tests.casework.support import Person, new_case, person
from tests.conftest import make_config
from tests.stores import STORES, fresh_postgres_database


def alert_settings(smtp: SMTPServer, receiver: Receiver) -> dict[str, object]:
    """An instance's settings for sending alerts to the test's own SMTP server and webhook receiver."""
    return {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none", "smtp_timeout": 1.0,
            "alert_webhook_url": receiver.url, "public_url": "https://cf.example.org"}


# Urgent alerts must hold on both engines: every alert test runs on the SQLCipher file and on PostgreSQL.
@pytest.fixture(params=STORES)
def config(request: pytest.FixtureRequest, tmp_path: Path, smtp: SMTPServer, receiver: Receiver) -> Iterator[Config]:
    settings = alert_settings(smtp, receiver)
    if request.param == "sqlcipher":
        yield make_config(tmp_path / "instance", **settings)
        return
    with fresh_postgres_database(at_head=True) as url:
        yield make_config(tmp_path / "instance", database_url=url, **settings)


def email_of(someone: Person) -> str:
    return f"{someone.username}@example.org"


def give_email(found: Services, someone: Person) -> str:
    with write(found.engine) as connection:
        connection.execute(update(staff).where(staff.c.id == someone.id).values(email=email_of(someone)))
    return email_of(someone)


@dataclass
class Team:
    owner: Person
    deputy: Person
    supervisor: Person
    duty: Person
    case_id: str


@pytest.fixture
def team(app: Flask, found: Services) -> Team:
    """A case with an owner, a deputy, the team's supervisor and a duty manager, each with an email address."""
    owner, deputy = person(app), person(app)
    supervisor, duty = person(app, "supervisor"), person(app, "duty_manager", team=None)
    for someone in (owner, deputy, supervisor, duty):
        give_email(found, someone)
    case_id = new_case(found, owner)
    with write(found.engine) as connection:
        from casefeedback.storage.tables import cases

        connection.execute(update(cases).where(cases.c.id == case_id).values(deputy_id=deputy.id))
    return Team(owner, deputy, supervisor, duty, case_id)
