"""Who may write a reply to a piece of feedback, and who may publish "You said, we did": decided here only.

Reading a reply is the one access decision (``decisions.decide`` on the reply
class): its ``read`` relations for casework, the receipt holder for their own.
Writing is declared beside it, as ``[classes.reply] write``; publishing a
service's changes as ``[changes] publish``.
"""

from __future__ import annotations

from casefeedback.policy.model import REPLY_CLASS, ServicePolicy
from casefeedback.policy.relations import CaseShape, Person, relations


def replies_offered(policy: ServicePolicy) -> bool:
    """Whether the service declares a reply class at all (without it nobody can write one)."""
    return REPLY_CLASS in policy.classes


def may_write_reply(policy: ServicePolicy, person: Person, case: CaseShape | None) -> bool:
    """A relation to the case among ``[classes.reply] write``, held through normal work.

    Break-glass never counts: ``relations`` ignores it, as it is for reading. Feedback without a case has
    nobody to hold a case relation, so only a relation held without one (the duty manager), if the policy
    names it, could reply to it.
    """
    declared = policy.classes.get(REPLY_CLASS)
    if declared is None:
        return False
    return bool(relations(person, case) & set(declared.write))


def may_publish_changes(policy: ServicePolicy, role: str) -> bool:
    return role in policy.changes.publish
