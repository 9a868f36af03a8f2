"""organisation.toml's channels, [taking] roles, failure demand and staff voice: loaded, defaulted, and every
mistake reported by key (``casefeedback policy check``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from casefeedback.policy.assisted import DEFAULT_CHANNELS, may_record_staff_voice, may_take_feedback
from casefeedback.policy.organisation_loader import parse_organisation
from casefeedback.policy.problems import PolicyError

FILE = "organisation.toml"


def _problems(text: str) -> dict[str, str]:
    with pytest.raises(PolicyError) as raised:
        parse_organisation(text.encode(), FILE)
    return {p.key: p.message for p in raised.value.problems}


def test_without_declarations_the_defaults_apply() -> None:
    rules = parse_organisation(b"", FILE).assisted
    assert rules.channels == DEFAULT_CHANNELS and rules.take_roles == ("caseworker",)
    assert may_take_feedback(rules, "caseworker") and not may_take_feedback(rules, "supervisor")
    assert may_record_staff_voice(rules, "duty_manager") and not may_record_staff_voice(rules, "analyst")


def test_declared_channels_roles_and_categories_are_loaded() -> None:
    rules = parse_organisation(b'''
[[channels]]
id = "kiosk"
label.en = "Kiosk"
label.cy = "Ciosg"
assisted = false

[taking]
roles = ["caseworker", "supervisor"]

[[failure_demand]]
id = "chasing"
label = "Chasing"

[staff_voice]
[[staff_voice.categories]]
id = "systems"
label = "Systems"
hint = "A system got in the way."
''', FILE).assisted
    assert [(c.id, c.assisted) for c in rules.channels] == [("kiosk", False)]
    assert rules.assisted_channels == ()
    assert rules.take_roles == ("caseworker", "supervisor")
    assert [c.id for c in rules.failure_demand] == ["chasing"]
    assert rules.staff_voice_category("systems") is not None


@pytest.mark.parametrize(("text", "key"), [
    ('[[channels]]\nid = "web"\nlabel.en = "Web"\nlabel.cy = "Gwe"\n', "channels[0].id"),
    ('[[channels]]\nid = "phone"\nlabel.en = "Phone"\n', "channels[0].label.cy"),
    ('[[channels]]\nid = "Phone!"\nlabel.en = "P"\nlabel.cy = "P"\n', "channels[0].id"),
    ('[[channels]]\nid = "p"\nlabel.en = "P"\nlabel.cy = "P"\n[[channels]]\nid = "p"\nlabel.en = "Q"\nlabel.cy = "Q"\n',
     "channels[1].id"),
    ('[[channels]]\nid = "p"\nlabel.en = "P"\nlabel.cy = "P"\nassisted = "yes"\n', "channels[0].assisted"),
    ('[taking]\nroles = ["administrator"]\n', "taking.roles[0]"),
    ('[taking]\nroles = ["analyst"]\n', "taking.roles[0]"),
    ('[taking]\nwho = ["caseworker"]\n', "taking.who"),
    ('[[failure_demand]]\nlabel = "No id"\n', "failure_demand[0].id"),
    ('[[failure_demand]]\nid = "a"\nlabel = "A"\n[[failure_demand]]\nid = "a"\nlabel = "B"\n', "failure_demand[1].id"),
    ('[staff_voice]\ncategories = []\n', "staff_voice.categories"),
    ('[staff_voice]\nkinds = []\n', "staff_voice.kinds"),
])
def test_every_mistake_is_reported_by_its_key(text: str, key: str) -> None:
    assert key in _problems(text)


def test_the_shipped_organisation_file_declares_what_the_defaults_would() -> None:
    rules = parse_organisation((Path(__file__).resolve().parents[2] / "policies" / FILE).read_bytes(), FILE).assisted
    assert {c.id for c in rules.assisted_channels} == {c.id for c in DEFAULT_CHANNELS}
    assert rules.take_roles == ("caseworker",)
