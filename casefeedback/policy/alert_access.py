"""Who may see and act on an alert: declared with the rule (``act``), decided here, nowhere else.

An alert names a case and says something urgent about a person; opening it is
knowing the case exists. So it is for the people the rule declares (by
relation to the case) and for whoever was actually told of it — the rota
person for anonymous feedback holds no relation at all, yet must act. Sharing
a team is not enough unless the policy says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from casefeedback.policy.model import OUTCOME_CLASS, FieldClass, OutcomeRules
from casefeedback.policy.relations import CaseShape, Person, holds_any

# The duty manager answers for every alert out of hours, whatever its chain.
ALWAYS_ACT: tuple[str, ...] = ("duty_manager",)


def default_act(escalate: Sequence[str]) -> tuple[str, ...]:
    """``act`` when a rule does not declare it: its escalation chain, then the duty manager."""
    return (*escalate, *(name for name in ALWAYS_ACT if name not in escalate))


def may_act_on_alert(person: Person, case: CaseShape | None, act: Sequence[str], *, told: bool) -> bool:
    """Open, acknowledge or resolve the alert: told of it, or holding one of the rule's ``act`` relations."""
    return told or holds_any(person, case, act)


@dataclass(frozen=True)
class AlertNotes:
    """What a decision needs to open the note of what was done about an alert."""

    id: str
    classes: Mapping[str, FieldClass]


def alert_note_rules(outcomes: OutcomeRules, act: Sequence[str]) -> AlertNotes:
    """The note is read by whoever reads a case's outcomes (``[outcomes] read``) and by those who may act on
    the alert (its rule's ``act``). Without ``act`` the note on an anonymous alert — resolved by the duty
    manager, with no case to hold a relation to — could be read by nobody, not even its writer."""
    declared = outcomes.as_field_class()
    return AlertNotes("organisation", {OUTCOME_CLASS: replace(declared, read=tuple(dict.fromkeys(
        (*declared.read, *act))))})
