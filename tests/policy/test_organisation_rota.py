"""organisation.toml's [[rota]] and [alerts]: read exactly (local times to UTC), every mistake named kindly."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from casefeedback.policy import PolicyError, load_policies
from casefeedback.policy.loader import parse_organisation
from casefeedback.policy.model import AlertReminders, DeclaredShift

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "policies"
F = "policies/organisation.toml"


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as raised:
        parse_organisation(text.encode(), F)
    return [str(p) for p in raised.value.problems]


def test_the_shipped_file_declares_the_default_interval_and_no_rota():
    loaded = load_policies(SHIPPED).organisation
    assert loaded.alerts == AlertReminders() and loaded.alerts.remind_overdue_every == timedelta(minutes=15)
    assert loaded.rota == ()


def test_a_declared_rota_is_read_in_the_organisation_time_zone():
    loaded = parse_organisation(b'''
[working_hours]
time_zone = "Europe/London"

[alerts]
remind_overdue_every = "PT5M"

[[rota]]
service = "victim-support"
username = "dana"
from = "2026-07-01T08:00"
to = "2026-07-08T08:00"

[[rota]]
service = "victim-support"
username = "sam"
from = 2026-12-01T08:00:00
to = "2026-12-01T20:00Z"
''', F)
    assert loaded.alerts.remind_overdue_every == timedelta(minutes=5)
    assert loaded.rota == (
        # Summer time: 08:00 in London is 07:00 UTC.
        DeclaredShift("victim-support", "dana", datetime(2026, 7, 1, 7, tzinfo=UTC),
                      datetime(2026, 7, 8, 7, tzinfo=UTC)),
        # Winter: 08:00 is 08:00; an explicit offset is taken as written.
        DeclaredShift("victim-support", "sam", datetime(2026, 12, 1, 8, tzinfo=UTC),
                      datetime(2026, 12, 1, 20, tzinfo=UTC)),
    )


@pytest.mark.parametrize(("text", "expected"), [
    ('[[rota]]\nservice = "victim-support"\nusername = "dana"\nfrom = "2026-12-08T08:00"\nto = "2026-12-01T08:00"\n',
     f"{F}: rota[0].to: must be after from"),
    ('[[rota]]\nservice = "victim-support"\nusername = "dana"\nfrom = "1 December"\nto = "2026-12-01T08:00"\n',
     f'{F}: rota[0].from: "1 December" is not a date and time; write it like "2026-12-01T08:00"'),
    ('[[rota]]\nservice = "victim-support"\nusername = "dana"\nfrom = "2026-12-01"\nto = "2026-12-02T08:00"\n',
     f'{F}: rota[0].from: "2026-12-01" is not a date and time; write it like "2026-12-01T08:00"'),
    ('[[rota]]\nservice = "victim-support"\nusername = "dana"\nfrom = 2026-12-01\nto = "2026-12-02T08:00"\n',
     f'{F}: rota[0].from: must be a date and time, like "2026-12-01T08:00"'),
    ('[[rota]]\nservice = "victim-support"\nusername = "dana"\nfrom = "2026-12-01T08:00"\n',
     f"{F}: rota[0].to: is required"),
    ('[[rota]]\nservice = "victim-support"\nusername = "dana"\nfrom = "2026-12-01T08:00"\nto = "2028-12-01T08:00"\n',
     f"{F}: rota[0].to: must be within a year of from; check the year"),
    ('[[rota]]\nservice = "Victim Support"\nusername = "dana"\nfrom = "2026-12-01T08:00"\nto = "2026-12-02T08:00"\n',
     f'{F}: rota[0].service: "Victim Support" is not a valid id; use 1 to 63 lowercase letters, digits, "_" or "-", '
     "starting with a letter"),
    ('[[rota]]\nservice = "victim-support"\nusername = "dana smith"\nfrom = "2026-12-01T08:00"\n'
     'to = "2026-12-02T08:00"\n', f'{F}: rota[0].username: "dana smith" is not a username (up to 64 characters, '
     "no spaces)"),
    ('[[rota]]\nservice = "victim-support"\nuser = "dana"\nusername = "dana"\nfrom = "2026-12-01T08:00"\n'
     'to = "2026-12-02T08:00"\n', f"{F}: rota[0].user: unknown key; expected one of: service, username, from, to"),
    ('[alerts]\nremind_overdue_every = "PT30S"\n',
     f'{F}: alerts.remind_overdue_every: "PT30S" must be from 1 minute to 24 hours'),
    ('[alerts]\nremind_overdue_every = "P2D"\n',
     f'{F}: alerts.remind_overdue_every: "P2D" must be from 1 minute to 24 hours'),
    ('[alerts]\nremind_overdue_every = "15 minutes"\n',
     f'{F}: alerts.remind_overdue_every: "15 minutes" is not an ISO-8601 duration'),
    ('[alerts]\nremind_every = "PT15M"\n',
     f"{F}: alerts.remind_every: unknown key; expected one of: remind_overdue_every"),
])
def test_mistakes_are_named_exactly(text, expected):
    assert expected in problems(text)


def test_the_same_shift_twice_is_reported():
    entry = ('[[rota]]\nservice = "victim-support"\nusername = "dana"\nfrom = "2026-12-01T08:00"\n'
             'to = "2026-12-02T08:00"\n')
    assert problems(entry + entry) == [f'{F}: rota[1]: the same shift for "dana" is declared twice']


def test_a_shift_for_a_service_no_file_declares_is_refused(tmp_path):
    shutil.copy(SHIPPED / "victim-support.toml", tmp_path / "victim-support.toml")
    (tmp_path / "organisation.toml").write_text(
        '[[rota]]\nservice = "victim-suport"\nusername = "dana"\nfrom = "2026-12-01T08:00"\nto = "2026-12-02T08:00"\n',
        encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_policies(tmp_path)
    assert [str(p) for p in raised.value.problems] == [
        f'{tmp_path / "organisation.toml"}: rota[0].service: "victim-suport" is not a service; '
        "expected one of: victim-support"]
