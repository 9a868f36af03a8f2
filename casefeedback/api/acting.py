"""The named staff member a client acts for: found by username, enabled, with the role they hold today.

Acting on someone's behalf gives the client exactly that person's powers, no
more: the services decide as they would for that person on a screen.
"""

from __future__ import annotations

from sqlalchemy import select

from casefeedback.auth.sessions import StaffMember
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import staff


def staff_member(found: Services, username: str) -> StaffMember | None:
    """The enabled staff member with this username, or None (no such person, or disabled: the same answer)."""
    with read(found.engine) as connection:
        row = connection.execute(select(staff.c.id, staff.c.username, staff.c.display_name, staff.c.role,
                                        staff.c.team_id, staff.c.enabled).where(staff.c.username == username)).first()
    if row is None or not row.enabled:
        return None
    return StaffMember(row.id, row.username, row.display_name, row.role, row.team_id)
