"""organisation.toml [working_hours]: read exactly, defaults when absent, bad values named by key."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from casefeedback.policy import PolicyError, load_policies
from casefeedback.policy.loader import parse_organisation
from casefeedback.policy.model import WorkingHours
from tests.policy.test_organisation import SHIPPED

F = "policies/organisation.toml"


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as raised:
        parse_organisation(text.encode(), F)
    return [str(p) for p in raised.value.problems]


def test_the_shipped_file_states_the_defaults():
    hours = load_policies(SHIPPED).organisation.working_hours
    assert hours == WorkingHours()
    assert (hours.start, hours.end, hours.days, hours.time_zone) == (
        time(8, 0), time(18, 0), ("Mon", "Tue", "Wed", "Thu", "Fri"), "Europe/London")
    assert hours.describe() == "Monday to Friday, 08:00–18:00, Europe/London"


def test_every_key_is_read_exactly():
    hours = parse_organisation(b'[working_hours]\nstart = "07:00"\nend = "15:30"\n'
                               b'days = ["Fri", "Mon", "Wed"]\ntime_zone = "America/New_York"\n', F).working_hours
    assert hours == WorkingHours(time(7, 0), time(15, 30), ("Mon", "Wed", "Fri"), "America/New_York")
    assert hours.describe() == "Monday, Wednesday and Friday, 07:00–15:30, America/New_York"
    assert parse_organisation(b'[working_hours]\ndays = ["Sat", "Sun"]\n', F).working_hours.describe() == (
        "Saturday and Sunday, 08:00–18:00, Europe/London")


def test_hours_are_judged_in_the_declared_zone_with_summer_time():
    hours = WorkingHours()
    summer = datetime(2026, 7, 15, tzinfo=UTC)  # a Wednesday; London is on BST (UTC+1)
    assert not hours.includes(summer.replace(hour=6, minute=30))  # 07:30 in London
    assert hours.includes(summer.replace(hour=7, minute=30))  # 08:30 in London
    assert not hours.includes(summer.replace(hour=17))  # 18:00 in London: the end is outside
    assert not hours.includes(datetime(2026, 7, 18, 11, 0, tzinfo=UTC))  # a Saturday noon
    winter = datetime(2026, 1, 14, 7, 30, tzinfo=UTC)  # a Wednesday; London is on GMT
    assert not hours.includes(winter) and hours.includes(winter.replace(hour=8, minute=30))


@pytest.mark.parametrize(("text", "expected"), [
    ('[working_hours]\ntime_zone = "Europe/Lundon"\n',
     f'{F}: working_hours.time_zone: "Europe/Lundon" is not a time zone this machine knows'),
    ('[working_hours]\ntime_zone = "../etc/passwd"\n', f'{F}: working_hours.time_zone: "../etc/passwd" is not'),
    ('[working_hours]\nstart = "18:00"\nend = "08:00"\n',
     f"{F}: working_hours.end: 08:00 must be later than start (18:00)"),
    ('[working_hours]\nstart = "09:00"\nend = "09:00"\n', f"{F}: working_hours.end: 09:00 must be later than"),
    ('[working_hours]\nstart = "8am"\n', f'{F}: working_hours.start: "8am" is not a time of day'),
    ('[working_hours]\nend = "24:00"\n', f'{F}: working_hours.end: "24:00" is not a time of day'),
    ('[working_hours]\nstart = 8\n', f"{F}: working_hours.start: must be a string"),
    ('[working_hours]\ndays = ["Mon", "Funday"]\n',
     f'{F}: working_hours.days[1]: "Funday" is not a day; expected one of: Mon, Tue, Wed, Thu, Fri, Sat, Sun'),
    ('[working_hours]\ndays = ["Mon", "Mon"]\n', f'{F}: working_hours.days[1]: "Mon" is listed twice'),
    ('[working_hours]\ndays = []\n', f"{F}: working_hours.days: must list at least one day"),
    ('[working_hours]\ndays = "Mon"\n', f"{F}: working_hours.days: must be a list of strings"),
    ('[working_hours]\nzone = "UTC"\n',
     f"{F}: working_hours.zone: unknown key; expected one of: start, end, days, time_zone"),
])
def test_bad_values_are_named_by_key(text, expected):
    found = problems(text)
    assert any(p.startswith(expected) for p in found), found
