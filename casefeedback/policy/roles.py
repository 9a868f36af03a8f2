"""Every staff role, and every set of roles a rule is built from: declared here and nowhere else.

Separation of duties is the point of most of these sets: the people who run the
system (administrators), check it (auditors) or count it (analysts) never stand
in a relation to a case, so no policy file can hand them a person's words.
A set written out twice is a rule that can drift; import it from here.
"""

from __future__ import annotations

from collections.abc import Mapping

# Staff roles, in the order screens list them, with the name a person reads.
ROLE_NAMES: Mapping[str, str] = {
    "caseworker": "Caseworker",
    "supervisor": "Supervisor",
    "duty_manager": "Duty manager",
    "auditor": "Auditor",
    "analyst": "Analyst",
    "administrator": "Administrator",
    "records_officer": "Records officer",
}
ROLES: tuple[str, ...] = tuple(ROLE_NAMES)
STAFF_ROLES = frozenset(ROLES)

# Only these roles can stand in a relation to a case, whatever a policy file says.
CONTENT_ROLES = frozenset({"caseworker", "supervisor", "duty_manager"})
# Who can hold cases, or be named a case's deputy.
CASE_HOLDER_ROLES: tuple[str, ...] = ("caseworker", "supervisor")
# Who may open a case outside their normal access — only with a reason, and audited.
BREAK_GLASS_ROLES = frozenset({"supervisor", "duty_manager"})
# Who may count (never read) classes a policy marks ``insight = "aggregate"``.
INSIGHT_ROLES = frozenset({"analyst", "supervisor", "duty_manager"})
# Who may take signed insight exports out of the system: the analyst, whose job
# it is, not the managers who see the same figures on screen.
INSIGHT_EXPORT_ROLES = frozenset({"analyst"})
# Who sets the duty rota and records absences: the people who answer for cover.
ROTA_ROLES = frozenset({"supervisor", "duty_manager"})
# Who answers for every overdue alert, on the rota or not: shown them at the top of
# every page and reminded of them until someone acknowledges (so are the people on
# duty now, for their services).
OVERDUE_WATCH_ROLES = frozenset({"duty_manager"})
# Who sees alerts that could not be delivered: the administrator fixes the
# channel, the duty manager makes sure a person was told some other way.
DEAD_LETTER_ROLES = frozenset({"administrator", "duty_manager"})
# Who a service's ``[changes] publish`` may name to write "You said, we did": the people who run services and
# read their figures. Never administrators, auditors or caseworkers: what a service says it changed is a
# manager's word to the public.
CHANGE_ROLES = frozenset({"analyst", "supervisor", "duty_manager"})
ADMIN_ROLES = frozenset({"administrator"})
AUDITOR_ROLES = frozenset({"auditor"})
# Who sets, reviews and releases legal holds: the records or legal officer who answers for them. They see
# case references and the holds, never a word of feedback (they hold no relation to any case).
RECORDS_ROLES = frozenset({"records_officer"})

# Not staff roles (the database admits only ``ROLES`` for staff): who else may appear as an actor.
RECEIPT_HOLDER_ROLE = "receipt_holder"  # the person who gave the feedback, proven by their receipt code
RETENTION_ROLE = "retention"  # the retention process itself, counting just before it erases
