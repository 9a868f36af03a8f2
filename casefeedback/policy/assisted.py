"""Feedback taken on a person's behalf, failure demand and the voice of staff: the rules, and every decision on them.

Declared in ``organisation.toml`` (``[[channels]]``, ``[taking]``,
``[[failure_demand]]``, ``[staff_voice]``; policies/README.md), checked by
``casefeedback policy check`` (``assisted_loader``) and decided here, never in a view:

* which channels feedback may come through, and which of them are staff-assisted
  (phone, in person, a paper form): only those may be recorded by a member of staff;
* which roles may take feedback on someone's behalf (a caseworker by default;
  a contact-centre role if the organisation declares one);
* (``consent_text``) the exact consent text a member of staff reads out, in the language used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from casefeedback.policy.roles import CONTENT_ROLES

# A text in several languages, as in ``policy.model`` (which imports this module, so cannot be imported here).
Text = Mapping[str, str]

# The person's own web form: never declared, never recorded by staff.
WEB_CHANNEL = "web"

# How consent was given: ticked by the person on the web form ("online"), read out
# and answered aloud ("verbal"), signed on a paper form ("written"), or given on a
# kiosk, SMS or partner form whose own record of it the channel vouches for ("channel").
CONSENT_METHODS: tuple[str, ...] = ("online", "verbal", "written", "channel")
# The methods a member of staff may record: they heard or saw the person give it.
STAFF_CONSENT_METHODS: tuple[str, ...] = ("verbal", "written")


@dataclass(frozen=True)
class Channel:
    id: str
    label: Text  # {"en": ..., "cy": ...}: the person may be told which way their feedback came
    # Staff-assisted: a member of staff records it for the person (phone, in person, paper).
    assisted: bool = True


# Used when organisation.toml declares no [[channels]]: the four.
DEFAULT_CHANNELS: tuple[Channel, ...] = (
    Channel("phone", {"en": "Phone", "cy": "Ffôn"}),
    Channel("in_person", {"en": "In person", "cy": "Wyneb yn wyneb"}),
    Channel("paper", {"en": "Paper form", "cy": "Ffurflen bapur"}),
    Channel("other", {"en": "Other", "cy": "Arall"}),
)


@dataclass(frozen=True)
class Category:
    """A category staff choose from (failure demand, what got in the way). Staff pages are in English."""

    id: str
    label: str
    hint: str = ""


DEFAULT_FAILURE_DEMAND: tuple[Category, ...] = (
    Category("chasing_progress", "Chasing progress", "They contacted us to find out what was happening."),
    Category("repeat_telling", "Repeating something already told", "They had to tell us again."),
    Category("wrong_information", "Wrong information given", "Something we told them was wrong."),
    Category("not_called_back", "Not called back", "We said we would be in touch and were not."),
)
DEFAULT_STAFF_VOICE: tuple[Category, ...] = (
    Category("systems", "Systems or forms", "A system, form or tool got in the way."),
    Category("rules", "A rule or process", "A rule or process stopped me doing what was needed."),
    Category("handoffs", "Hand-offs between teams", "Waiting on, or passing between, teams or agencies."),
    Category("information", "Missing information", "I did not have what I needed to know."),
    Category("time", "Time and workload", "There was not enough time."),
)
# How much it got in the way: a fixed scale, so counts add up across services and years.
STAFF_VOICE_IMPACTS: tuple[Category, ...] = (
    Category("slowed", "It slowed me down"),
    Category("partly", "I could only partly help"),
    Category("blocked", "I could not help them"),
)


@dataclass(frozen=True)
class AssistedRules:
    channels: tuple[Channel, ...] = DEFAULT_CHANNELS
    # Roles that may take feedback on a person's behalf ([taking] roles).
    take_roles: tuple[str, ...] = ("caseworker",)
    failure_demand: tuple[Category, ...] = DEFAULT_FAILURE_DEMAND
    staff_voice: tuple[Category, ...] = DEFAULT_STAFF_VOICE
    impacts: tuple[Category, ...] = field(default=STAFF_VOICE_IMPACTS)

    def channel(self, channel_id: str) -> Channel | None:
        return next((c for c in self.channels if c.id == channel_id), None)

    @property
    def assisted_channels(self) -> tuple[Channel, ...]:
        return tuple(c for c in self.channels if c.assisted)

    def failure_demand_category(self, category_id: str) -> Category | None:
        return next((c for c in self.failure_demand if c.id == category_id), None)

    def staff_voice_category(self, category_id: str) -> Category | None:
        return next((c for c in self.staff_voice if c.id == category_id), None)

    def impact(self, impact_id: str) -> Category | None:
        return next((c for c in self.impacts if c.id == impact_id), None)


def may_take_feedback(rules: AssistedRules, role: str) -> bool:
    """Whether this role may take feedback on someone's behalf (the staff pages and ``take_whole`` ask)."""
    return role in rules.take_roles


def may_record_staff_voice(rules: AssistedRules, role: str) -> bool:
    """Failure demand and staff voice are for the people who serve the public: those who may take feedback,
    and every role that works cases. Administrators, auditors and analysts serve nobody directly."""
    return role in rules.take_roles or role in CONTENT_ROLES


def labels(channels: tuple[Channel, ...], language: str) -> Mapping[str, str]:
    return {c.id: c.label.get(language) or c.label["en"] for c in channels}
