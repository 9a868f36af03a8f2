"""Plain-English renderings of policy terms for templates."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask

from casefeedback.policy.model import PREFER_NOT_TO_SAY, Duration, Question

EVENTS = {
    "submitted": "you send it",
    "case_closed": "your case is closed",
    "consent_withdrawn": "you take back your consent",
    "draft_abandoned": "you stop filling it in",
}
RELATIONS = {
    "case_owner": "your caseworker",
    "case_deputy": "the caseworker who covers for them",
    "team_member": "their team",
    "team_supervisor": "their supervisor",
    "duty_manager": "the duty manager",
}


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def human_duration(duration: Duration) -> str:
    parts = [(duration.years, "year"), (duration.months, "month"), (duration.weeks, "week"),
             (duration.days, "day"), (duration.hours, "hour"), (duration.minutes, "minute")]
    words = [_plural(n, unit) for n, unit in parts if n]
    return " and ".join(words) if words else "a short time"


def human_relations(relations: Iterable[str]) -> str:
    names = [RELATIONS.get(r, r) for r in relations]
    if not names:
        return "nobody at the service"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def option_text(question: Question | None, value: str) -> str:
    if question is None:
        return value
    if value == PREFER_NOT_TO_SAY:
        return "Prefer not to say"
    for option in question.options:
        if option.id == value:
            return option.text.get("en", value)
    return value


def install(app: Flask) -> None:
    app.add_template_filter(human_duration)
    app.add_template_filter(lambda event: EVENTS.get(event, event), "human_event")
    app.add_template_filter(human_relations)
    app.add_template_global(option_text)
