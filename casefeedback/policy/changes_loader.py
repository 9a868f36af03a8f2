"""The [changes] table of a service policy: who writes and publishes "You said, we did" for the service."""

from __future__ import annotations

from casefeedback.policy.model import ChangeRules
from casefeedback.policy.reader import Reader, Table, expected, quote
from casefeedback.policy.roles import CHANGE_ROLES

__all__ = ["read_changes"]

_CHANGES_KEYS = ("publish",)
_ALLOWED = tuple(sorted(CHANGE_ROLES))


def read_changes(r: Reader, tree: Table) -> ChangeRules:
    """``[changes] publish = ["analyst", "supervisor"]``; without the table nobody publishes for the service."""
    table = r.table(tree, "", "changes", required=False)
    if table is None:
        return ChangeRules()
    r.keys(table, "changes", _CHANGES_KEYS)
    # Separation of duties: administrators, auditors and caseworkers never speak for the service.
    roles = r.members(table, "changes", "publish", CHANGE_ROLES,
                      lambda role: f"{quote(role)} may not publish changes; {expected(_ALLOWED)}")
    return ChangeRules(publish=roles) if roles is not None else ChangeRules()
