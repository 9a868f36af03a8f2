"""Which of a policy's alert rules a set of answers meets. Pure: no storage, no request.

Used twice with the same answers and therefore the same result: by the intake
journey, to tell the person what will happen before they send (signposting),
and when the submission is recorded, to raise the alerts. The
semantics are those documented in policies/README.md under ``[[alerts]]``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

from casefeedback.policy.model import AlertCondition, AlertRule, ServicePolicy

Answer = str | list[str] | tuple[str, ...]
Answers = Mapping[str, Answer | None]  # question id -> answer; a skipped question is absent or None


def matching_rules(policy: ServicePolicy, answers: Answers) -> list[AlertRule]:
    """The rules these answers meet, in the policy's order. A skipped answer never meets a rule."""
    return [rule for rule in policy.alerts if meets(policy, rule.when, answers)]


def rules_about(policy: ServicePolicy, question_id: str) -> list[AlertRule]:
    """The rules whose condition looks at this question (for signposting right after it is answered)."""
    return [rule for rule in policy.alerts if question_id in questions_of(rule.when)]


def questions_of(condition: AlertCondition) -> tuple[str, ...]:
    return condition.score_questions if condition.question is None else (condition.question,)


def meets(policy: ServicePolicy, condition: AlertCondition, answers: Answers) -> bool:
    if condition.question is None:
        return _score(policy, condition, answers)
    answer = answers.get(condition.question)
    if answer is None:
        return False
    if condition.matches:
        return isinstance(answer, str) and _any_pattern(condition.matches, answer)
    wanted = {condition.equals} if condition.equals is not None else set(condition.one_of)
    return bool(wanted & _values(answer))


def _values(answer: Answer) -> set[str]:
    # multi_choice answers are lists: "equals" means "includes".
    return {answer} if isinstance(answer, str) else set(answer)


def _score(policy: ServicePolicy, condition: AlertCondition, answers: Answers) -> bool:
    if condition.score_at_least is None:
        return False
    total = 0
    for question_id in condition.score_questions:
        question, answer = policy.question(question_id), answers.get(question_id)
        if question is not None and isinstance(answer, str):
            total += question.shortfall(answer)  # skipped or "prefer not to say" adds nothing
    return total >= condition.score_at_least


def _any_pattern(patterns: Iterable[str], text: str) -> bool:
    # NFKC folds look-alike forms (full-width letters, ligatures, non-breaking
    # spaces) into the plain ones the patterns are written in: a person in
    # danger must not be missed because their keyboard typed "ｕｎｓａｆｅ".
    folded = unicodedata.normalize("NFKC", text)
    return any(_compiled(pattern).search(folded) for pattern in patterns)


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    # The loader has already compiled every pattern once, so this cannot fail.
    return re.compile(pattern, re.IGNORECASE)
