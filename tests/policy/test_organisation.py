"""organisation.toml: staff sessions, break-glass and outcomes, with defaults and precise errors."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from casefeedback.policy import PolicyError, load_policies
from casefeedback.policy.loader import parse_organisation
from casefeedback.policy.model import OrganisationPolicy, StaffSessionRules

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "policies"
F = "policies/organisation.toml"


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as raised:
        parse_organisation(text.encode(), F)
    return [str(p) for p in raised.value.problems]


def test_the_shipped_file_states_the_defaults():
    loaded = load_policies(SHIPPED)
    assert loaded.organisation.source.endswith("organisation.toml")
    defaults = OrganisationPolicy()
    assert loaded.organisation.staff_sessions == defaults.staff_sessions
    assert loaded.organisation.break_glass == defaults.break_glass
    assert loaded.organisation.outcomes == defaults.outcomes
    assert set(loaded.services) == {"victim-support"}  # not mistaken for a service


def test_without_the_file_the_defaults_apply(tmp_path):
    shutil.copy(SHIPPED / "victim-support.toml", tmp_path / "victim-support.toml")
    loaded = load_policies(tmp_path)
    assert loaded.organisation == OrganisationPolicy()
    assert loaded.organisation.staff_sessions.idle_timeout == timedelta(minutes=15)
    assert loaded.organisation.staff_sessions.absolute_timeout == timedelta(hours=8)


def test_every_key_is_optional_and_read_exactly():
    loaded = parse_organisation(b"""
[staff_sessions]
idle_timeout = "PT10M"
idle_warning = "PT1M"
absolute_timeout = "PT6H"
reauthenticate_within = "PT2M"

[break_glass]
lasts = "PT20M"
read_as = ["case_owner", "team_supervisor"]

[outcomes]
read = ["case_owner"]
keep = "P1Y"
""", F)
    assert loaded.staff_sessions == StaffSessionRules(timedelta(minutes=10), timedelta(minutes=1),
                                                      timedelta(hours=6), timedelta(minutes=2))
    assert loaded.break_glass.lasts == timedelta(minutes=20)
    assert loaded.break_glass.read_as == ("case_owner", "team_supervisor")
    assert loaded.outcomes.read == ("case_owner",) and loaded.outcomes.keep.text == "P1Y"
    assert parse_organisation(b"", F) == OrganisationPolicy(source=F)


@pytest.mark.parametrize(("text", "expected"), [
    ('[staff_sessions]\nidle_timeout = "PT3H"\n',
     f'{F}: staff_sessions.idle_timeout: "PT3H" must be from 1 minute to 2 hours'),
    ('[staff_sessions]\nabsolute_timeout = "P1D"\n',
     f'{F}: staff_sessions.absolute_timeout: "P1D" must be from 5 minutes to 12 hours'),
    ('[staff_sessions]\nidle_timeout = "PT2M"\nidle_warning = "PT2M"\n',
     f"{F}: staff_sessions.idle_warning: must be shorter than idle_timeout"),
    ('[staff_sessions]\nidle_timeout = "PT1H"\nabsolute_timeout = "PT30M"\n',
     f"{F}: staff_sessions.idle_timeout: must not be longer than absolute_timeout"),
    ('[staff_sessions]\nidle_timeout = "15 minutes"\n',
     f'{F}: staff_sessions.idle_timeout: "15 minutes" is not an ISO-8601 duration'),
    ('[staff_sessions]\nidle_timout = "PT15M"\n',
     f"{F}: staff_sessions.idle_timout: unknown key; expected one of: idle_timeout, idle_warning, "
     "absolute_timeout, reauthenticate_within"),
    ('[break_glass]\nlasts = "PT8H"\n', f'{F}: break_glass.lasts: "PT8H" must be from 1 minute to 4 hours'),
    ('[break_glass]\nread_as = ["case_ower"]\n',
     f'{F}: break_glass.read_as[0]: "case_ower" is not a relation; expected one of: case_owner, case_deputy, '
     "team_member, team_supervisor, duty_manager"),
    ('[outcomes]\nkeep = "P18OD"\n', f'{F}: outcomes.keep: "P18OD" is not an ISO-8601 duration'),
    ('[service]\nid = "x"\n', f"{F}: service: unknown key; expected one of: staff_sessions, break_glass, outcomes"),
    ("[staff_sessions\n", f"{F}: (syntax): "),
])
def test_mistakes_are_named_precisely(text, expected):
    found = problems(text)
    assert any(p.startswith(expected) for p in found), found


def test_a_bad_organisation_file_stops_the_whole_load(tmp_path):
    shutil.copy(SHIPPED / "victim-support.toml", tmp_path / "victim-support.toml")
    (tmp_path / "organisation.toml").write_text('[break_glass]\nlasts = "PT0M"\n', encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_policies(tmp_path)
    assert [p.key for p in raised.value.problems] == ["break_glass.lasts"]


def test_an_organisation_file_alone_is_not_enough(tmp_path):
    shutil.copy(SHIPPED / "organisation.toml", tmp_path / "organisation.toml")
    with pytest.raises(PolicyError) as raised:
        load_policies(tmp_path)
    assert "contains no service policy files" in str(raised.value)
