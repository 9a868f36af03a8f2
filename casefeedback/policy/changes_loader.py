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
    roles = r.strings(table, "changes", "publish")
    if roles is None:
        return ChangeRules()
    ok = True
    for i, role in enumerate(roles):
        if role not in CHANGE_ROLES:
            # Separation of duties: administrators, auditors and caseworkers never speak for the service.
            r.problem(f"changes.publish[{i}]", f"{quote(role)} may not publish changes; {expected(_ALLOWED)}")
            ok = False
        elif role in roles[:i]:
            r.problem(f"changes.publish[{i}]", f"{quote(role)} is listed twice")
            ok = False
    return ChangeRules(publish=tuple(roles)) if ok else ChangeRules()
