"""``[legal_hold]`` in organisation.toml: how far off a hold's review date may be set."""

from __future__ import annotations

import pytest

from casefeedback.policy import PolicyError
from casefeedback.policy.model import Duration
from casefeedback.policy.organisation_loader import load_organisation_file, parse_organisation
from tests.conftest import POLICIES


def test_the_default_is_six_months_and_the_shipped_file_says_so() -> None:
    assert parse_organisation(b"", "o").legal_hold.review_within == Duration(months=6, text="P6M")
    assert load_organisation_file(POLICIES / "organisation.toml").legal_hold == parse_organisation(b"", "o").legal_hold


def test_a_declared_value_is_read() -> None:
    rules = parse_organisation(b'[legal_hold]\nreview_within = "P3M"\n', "o").legal_hold
    assert rules.review_within.months == 3 and rules.review_within.text == "P3M"


@pytest.mark.parametrize(("text", "problem"), [
    (b'[legal_hold]\nreview_within = "P3Y"\n', 'legal_hold.review_within: "P3Y" must be from 1 day to 2 years'),
    (b'[legal_hold]\nreview_within = "PT1H"\n', 'legal_hold.review_within: "PT1H" must be from 1 day to 2 years'),
    (b'[legal_hold]\nreview_within = "soon"\n', "legal_hold.review_within"),
    (b'[legal_hold]\nreview_every = "P6M"\n', "legal_hold.review_every: unknown key; expected one of: review_within"),
    (b'[legal_holds]\nreview_within = "P6M"\n', "legal_holds: unknown key"),
])
def test_mistakes_are_refused_by_name(text: bytes, problem: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_organisation(text, "o")
    assert problem in str(raised.value)
