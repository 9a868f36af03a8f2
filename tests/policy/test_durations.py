from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casefeedback.policy import Duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P2Y", Duration(years=2, text="P2Y")),
        ("P180D", Duration(days=180, text="P180D")),
        ("PT15M", Duration(minutes=15, text="PT15M")),
        ("P14D", Duration(days=14, text="P14D")),
        ("P2W", Duration(weeks=2, text="P2W")),
        ("P1M", Duration(months=1, text="P1M")),
        ("PT1H", Duration(hours=1, text="PT1H")),
        ("PT30S", Duration(seconds=30, text="PT30S")),
        ("P0D", Duration(text="P0D")),
        ("P018D", Duration(days=18, text="P018D")),
        ("P1DT12H", Duration(days=1, hours=12, text="P1DT12H")),
        (
            "P1Y2M3W4DT5H6M7S",
            Duration(
                years=1, months=2, weeks=3, days=4, hours=5, minutes=6, seconds=7, text="P1Y2M3W4DT5H6M7S"
            ),
        ),
    ],
)
def test_valid_durations(text: str, expected: Duration) -> None:
    duration = parse_duration(text)
    assert duration == expected
    assert str(duration) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "P",
        "PT",
        "P18OD",  # letter O, not zero
        "-P1D",
        "P-1D",
        "P1.5D",
        "P1,5D",
        "PT0.5S",
        "p1d",
        "P1d",
        "pt15m",
        "P1DT",
        "1D",
        "D",
        " P1D",
        "P1D ",
        "P1D\n",
        "PT1D",
        "P1H",  # hours need the T
        "P15M ",
        "P1M1Y",  # out of order
        "PT1M1H",
        "P1Y1Y",
        "P\u0661D",  # an Arabic-Indic digit one
        "P+1D",
        "P1 D",
        "P" + "9" * 60 + "D",
        "R1/P1D",
    ],
)
def test_invalid_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not an ISO-8601 duration") as caught:
        parse_duration(text)
    assert str(caught.value).endswith(" is not an ISO-8601 duration")


def test_error_message_quotes_the_text() -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration("P18OD")
    assert str(caught.value) == '"P18OD" is not an ISO-8601 duration'


@pytest.mark.parametrize(
    ("start", "text", "expected"),
    [
        # A month after 31 January is the end of February, never early March.
        (datetime(2024, 1, 31), "P1M", datetime(2024, 2, 29)),
        (datetime(2023, 1, 31), "P1M", datetime(2023, 2, 28)),
        (datetime(2024, 3, 31), "P1M", datetime(2024, 4, 30)),
        # Calendar months first, then days.
        (datetime(2024, 1, 31), "P1M1D", datetime(2024, 3, 1)),
        # A year after a leap day is 28 February; four years is a leap day again.
        (datetime(2024, 2, 29), "P1Y", datetime(2025, 2, 28)),
        (datetime(2024, 2, 29), "P4Y", datetime(2028, 2, 29)),
        (datetime(2024, 12, 15), "P1M", datetime(2025, 1, 15)),
        (datetime(2024, 8, 31), "P18M", datetime(2026, 2, 28)),
        (datetime(2024, 1, 1), "P180D", datetime(2024, 6, 29)),
        (datetime(2024, 1, 1), "P2W", datetime(2024, 1, 15)),
        (datetime(2024, 1, 1, 23, 50), "PT15M", datetime(2024, 1, 2, 0, 5)),
        (datetime(2024, 1, 1), "P1DT12H", datetime(2024, 1, 2, 12)),
    ],
)
def test_after_uses_calendar_rules(start: datetime, text: str, expected: datetime) -> None:
    assert parse_duration(text).after(start) == expected


def test_after_keeps_the_time_zone() -> None:
    start = datetime(2024, 1, 31, 9, 30, tzinfo=UTC)
    assert parse_duration("P1M").after(start) == datetime(2024, 2, 29, 9, 30, tzinfo=UTC)


@settings(max_examples=600, deadline=None)
@given(years=st.integers(0, 10), months=st.integers(0, 30), weeks=st.integers(0, 10), days=st.integers(0, 400),
       hours=st.integers(0, 48), moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)))
def test_the_least_a_duration_can_be_is_never_more_than_it_is(years, months, weeks, days, hours, moment) -> None:
    """What lets the purge pass over recent feedback unread, and decide old feedback without calendar
    arithmetic: for any start, ``after`` is at least ``least`` and at most ``most``."""
    duration = Duration(years=years, months=months, weeks=weeks, days=days, hours=hours)
    assert duration.least() <= duration.after(moment) - moment <= duration.most()


def test_the_least_is_tight_where_the_end_of_month_rule_bites() -> None:
    assert Duration(months=1).after(datetime(2026, 1, 31)) - datetime(2026, 1, 31) == timedelta(days=28)
    assert Duration(months=1).least() == timedelta(days=25)
    assert Duration(years=2).least() == timedelta(days=727) and Duration(days=180).least() == timedelta(days=180)
    assert Duration().least() == timedelta(0)


def test_the_least_holds_from_every_day_of_a_leap_cycle() -> None:
    start = datetime(2023, 1, 1)
    for offset in range(0, 4 * 366, 1):
        moment = start + timedelta(days=offset)
        for years in range(4):
            for months in range(25):
                duration = Duration(years=years, months=months)
                assert duration.least() <= duration.after(moment) - moment <= duration.most(), (moment, years, months)


def test_the_most_is_tight_where_months_are_long() -> None:
    assert Duration(months=1).after(datetime(2026, 1, 1)) - datetime(2026, 1, 1) == Duration(months=1).most()
    assert Duration(years=1).after(datetime(2024, 1, 1)) - datetime(2024, 1, 1) == Duration(years=1).most()
    assert Duration().most() == timedelta(0)
