"""organisation.toml's ``[[channels]]``, ``[taking]``, ``[[failure_demand]]`` and ``[staff_voice]``.

Every key is optional: without them the defaults in ``policy.assisted`` apply
(phone, in person, paper form and other; caseworkers take feedback; the issue's
failure-demand categories). Who may take feedback is chosen among the roles
that serve the public (``CONTENT_ROLES``): no policy can let an administrator,
auditor or analyst record a person's words.
"""

from __future__ import annotations

from casefeedback.policy.assisted import AssistedRules, Category, Channel
from casefeedback.policy.reader import Reader, Table, expected, quote
from casefeedback.policy.roles import CONTENT_ROLES

__all__ = ["ASSISTED_KEYS", "read_assisted"]

ASSISTED_KEYS = ("channels", "taking", "failure_demand", "staff_voice")
_CHANNEL_KEYS = ("id", "label", "assisted")
_CATEGORY_KEYS = ("id", "label", "hint")
_LANGUAGES = ("en", "cy")
# Reserved: the person's own web form is a channel nobody declares or records for them.
_RESERVED_CHANNELS = ("web",)


def read_assisted(r: Reader, tree: Table) -> AssistedRules:
    defaults = AssistedRules()
    channels = _channels(r, tree) if "channels" in tree else defaults.channels
    roles = _take_roles(r, tree) if "taking" in tree else defaults.take_roles
    failure = _categories(r, tree, "", "failure_demand") if "failure_demand" in tree else defaults.failure_demand
    voice = defaults.staff_voice
    voice_table = r.table(tree, "", "staff_voice", required=False)
    if voice_table is not None:
        r.keys(voice_table, "staff_voice", ("categories",))
        voice = _categories(r, voice_table, "staff_voice", "categories")
    return AssistedRules(channels=channels or defaults.channels, take_roles=roles,
                         failure_demand=failure or defaults.failure_demand, staff_voice=voice or defaults.staff_voice)


def _channels(r: Reader, tree: Table) -> tuple[Channel, ...]:
    channels: list[Channel] = []
    for path, table in r.tables(tree, "", "channels"):
        r.keys(table, path, _CHANNEL_KEYS)
        channel_id = r.identifier(table, path)
        label = r.text(table, path, "label")
        assisted = r.boolean(table, path, "assisted", default=True)
        if label is not None:
            for language in _LANGUAGES:
                if language not in label:
                    r.problem(f"{path}.label.{language}", "is required (staff choose it; a person may hear it)")
        if channel_id in _RESERVED_CHANNELS:
            r.problem(f"{path}.id", f"{quote(channel_id)} is the person's own web form and cannot be declared")
        elif channel_id is not None and any(c.id == channel_id for c in channels):
            r.problem(f"{path}.id", f"{quote(channel_id)} is declared twice")
        elif channel_id is not None and label and assisted is not None:
            channels.append(Channel(channel_id, label, assisted))
    if "channels" in tree and not channels and not r.problems:
        r.problem("channels", "must declare at least one channel")
    return tuple(channels)


def _take_roles(r: Reader, tree: Table) -> tuple[str, ...]:
    table = r.table(tree, "", "taking", required=False)
    if table is None:
        return AssistedRules().take_roles
    r.keys(table, "taking", ("roles",))
    allowed = sorted(CONTENT_ROLES)
    roles = r.members(table, "taking", "roles", CONTENT_ROLES,
                      lambda role: f"{quote(role)} cannot take feedback for a person; {expected(allowed)}")
    # A wrong list is a problem that stops the policy loading; until then, the default (the safest).
    return roles if roles is not None else AssistedRules().take_roles


def _categories(r: Reader, parent: Table, path: str, name: str) -> tuple[Category, ...]:
    categories: list[Category] = []
    key = f"{path}.{name}" if path else name
    for entry_path, table in r.tables(parent, path, name):
        r.keys(table, entry_path, _CATEGORY_KEYS)
        category_id = r.identifier(table, entry_path)
        label = r.string(table, entry_path, "label")
        hint = r.string(table, entry_path, "hint", required=False) or ""
        if category_id is not None and any(c.id == category_id for c in categories):
            r.problem(f"{entry_path}.id", f"{quote(category_id)} is declared twice")
        elif category_id is not None and label is not None:
            categories.append(Category(category_id, label, hint))
    if name in parent and not categories and not any(p.key.startswith(key) for p in r.problems):
        r.problem(key, "must declare at least one category")
    return tuple(categories)
