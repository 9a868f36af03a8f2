"""The order of the journey, from the policy alone: one thing per page.

consent → (a content warning before each sensitive section) → each question →
check your answers → sent. Pure functions of the policy and of which questions
have been reached, so Back, Continue, skipping a section and resuming all agree.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from casefeedback.policy.model import Question, ServicePolicy


@dataclass(frozen=True)
class Step:
    kind: Literal["warning", "question"]
    id: str  # a section id for a warning, a question id for a question


def steps(policy: ServicePolicy) -> tuple[Step, ...]:
    found: list[Step] = []
    opened: set[str] = set()
    for question in policy.questions:
        section = question.section
        if section is not None and section not in opened:
            opened.add(section)
            if policy.sections[section].sensitive:
                found.append(Step("warning", section))
        found.append(Step("question", question.id))
    return tuple(found)


def next_step(policy: ServicePolicy, step: Step) -> Step | None:
    """The step after this one; None means "Check your answers"."""
    order = steps(policy)
    index = order.index(step)
    return order[index + 1] if index + 1 < len(order) else None


def previous_step(policy: ServicePolicy, step: Step) -> Step | None:
    """The step before this one; None means the consent page."""
    order = steps(policy)
    index = order.index(step)
    return order[index - 1] if index > 0 else None


def section_questions(policy: ServicePolicy, section_id: str) -> list[Question]:
    return [q for q in policy.questions if q.section == section_id]


def after_section(policy: ServicePolicy, section_id: str) -> Step | None:
    """Where "Skip this section" leads: the step after the section's last question."""
    last = section_questions(policy, section_id)[-1]
    return next_step(policy, Step("question", last.id))


def question_number(policy: ServicePolicy, question_id: str) -> int:
    return next(i for i, q in enumerate(policy.questions, start=1) if q.id == question_id)


def first_unreached(policy: ServicePolicy, reached: Collection[str]) -> Question | None:
    """Where someone coming back carries on: the first question neither answered nor skipped.

    (The view approaches a question in a sensitive section through the
    section's warning again: days may have passed since they last read it.)
    """
    return next((q for q in policy.questions if q.id not in reached), None)


def sensitive_section(policy: ServicePolicy, question: Question) -> str | None:
    section = policy.sections.get(question.section) if question.section else None
    return section.id if section is not None and section.sensitive else None
