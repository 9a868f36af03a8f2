"""Policy terms in words: how long, after what, who, which option — whole sentences, never fragments.

Each sentence is one message in the catalog, so a translator can order the words
as their language needs (Welsh mutates a noun after a number; "after your case is
closed" cannot be glued onto "kept for 180 days" word by word).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import Flask

from casefeedback.language import _, ngettext, translate
from casefeedback.policy.model import PREFER_NOT_TO_SAY, AlertRule, Duration, FieldClass, Question

# Relations that exist only through a case. Anonymous feedback has no case, so
# nobody holds them: signposting must not promise that "your caseworker" is told.
from casefeedback.policy.relations import CASE_RELATIONS
from casefeedback.retention.schedule import effective_retention


def duration_text(duration: Duration) -> str:
    parts = [ngettext("%(num)d year", "%(num)d years", n) for n in [duration.years] if n]
    parts += [ngettext("%(num)d month", "%(num)d months", n) for n in [duration.months] if n]
    parts += [ngettext("%(num)d week", "%(num)d weeks", n) for n in [duration.weeks] if n]
    parts += [ngettext("%(num)d day", "%(num)d days", n) for n in [duration.days] if n]
    parts += [ngettext("%(num)d hour", "%(num)d hours", n) for n in [duration.hours] if n]
    parts += [ngettext("%(num)d minute", "%(num)d minutes", n) for n in [duration.minutes] if n]
    parts += [ngettext("%(num)d second", "%(num)d seconds", n) for n in [duration.seconds] if n]
    if not parts:
        return ""
    joined = parts[0]
    for part in parts[1:]:
        joined = _("%(first)s and %(second)s", first=joined, second=part)
    return joined


def retention_text(field_class: FieldClass, linked_to_case: bool) -> str:
    """How long this class of answer is kept, as the purge will really keep it (``effective_retention``).

    Without a case, "after your case is closed" cannot happen: the purge counts
    from sending instead, and so does this sentence.
    """
    effective = effective_retention(field_class.retention, linked_to_case)
    if effective.after is None:  # no event ever ends it: only withdrawing consent does
        return _("Kept until you take back your consent.")
    how_long = duration_text(effective.keep)
    if not how_long:
        return {
            "submitted": _("Deleted as soon as you send your answers."),
            "case_closed": _("Deleted as soon as your case is closed."),
            "consent_withdrawn": _("Deleted as soon as you take back your consent."),
        }[effective.after]
    return {
        "submitted": _("Kept for %(duration)s after you send your answers.", duration=how_long),
        "case_closed": _("Kept for %(duration)s after your case is closed.", duration=how_long),
        "consent_withdrawn": _("Kept for %(duration)s after you take back your consent.", duration=how_long),
    }[effective.after]


def possible_readers(field_class: FieldClass, linked_to_case: bool) -> list[str]:
    """The relations that can open this class for this person: without a case, only those that need none."""
    return [r for r in field_class.read if linked_to_case or r not in CASE_RELATIONS]


def relation_name(relation: str) -> str:
    names = {
        "case_owner": _("your caseworker"),
        "case_deputy": _("the caseworker who covers for them"),
        "team_member": _("their team"),
        "team_supervisor": _("their supervisor"),
        "duty_manager": _("the duty manager"),
    }
    return names.get(relation, relation)


def readers_text(field_class: FieldClass, linked_to_case: bool) -> str:
    """Who can read this class of answer for this person, and if nobody can, why not."""
    readers = possible_readers(field_class, linked_to_case)
    if readers:
        return _("Who can see them: %(people)s.", people=", ".join(relation_name(r) for r in readers))
    if field_class.read:
        # Every relation listed needs a case, and there is none: nobody can ever hold one.
        return _("Nobody at the service can read these: only staff working on a case could, and your feedback "
                 "is not linked to one.")
    return _("Nobody at the service can read these: the service's rules do not let any member of staff "
             "open them.")


def answer_text(question: Question, value: str | list[str] | None) -> str:
    """An answer as the person chose it, in their language (for "Check your answers")."""
    if value is None:
        return _("Skipped")
    if isinstance(value, list):
        return ", ".join(answer_text(question, item) for item in value)
    if value == PREFER_NOT_TO_SAY:
        return _("Prefer not to say")
    for option in question.options:
        if option.id == value:
            return translate(option.text)
    return value


@dataclass(frozen=True)
class AlertNotice:
    """What the person is told will happen because of an answer, before they send it."""

    message: str  # the policy's own words, if it gives any
    first: tuple[str, ...]  # told as soon as the answers are sent
    then: tuple[str, ...]  # told one after another if nobody responds in time
    within: str  # how long each has to respond
    anonymous: bool


def alert_notice(rule: AlertRule, *, linked_to_case: bool) -> AlertNotice:
    reachable = [r for r in rule.escalate if linked_to_case or r not in CASE_RELATIONS]
    names = [relation_name(r) for r in reachable]
    return AlertNotice(message=translate(rule.message) if rule.message else "", first=tuple(names[:1]),
                       then=tuple(names[1:]), within=duration_text(rule.acknowledge_within),
                       anonymous=not linked_to_case)


def alert_notices(rules: Iterable[AlertRule], *, linked_to_case: bool) -> list[AlertNotice]:
    seen: set[AlertNotice] = set()
    notices = []
    for rule in rules:
        notice = alert_notice(rule, linked_to_case=linked_to_case)
        if notice not in seen:  # two rules saying the same thing are said once
            seen.add(notice)
            notices.append(notice)
    return notices


def option_text(question: Question | None, value: str) -> str:
    """A stored answer as staff read it: the option's words, or the value itself if the policy has changed."""
    if question is None:
        return value
    return answer_text(question, value)


def install(app: Flask) -> None:
    """The wording helpers every template may use, public and staff pages alike."""
    for helper in (duration_text, retention_text, readers_text, option_text):
        app.add_template_global(helper)
    app.add_template_global(answer_text, "shown_answer")
