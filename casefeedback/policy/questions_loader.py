"""The [[questions]] of a service policy: what is asked, in which words, and what counts as an answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from casefeedback.policy.model import (
    PREFER_NOT_TO_SAY,
    QUESTION_KINDS,
    REPLY_CLASS,
    Option,
    Question,
    QuestionKind,
)
from casefeedback.policy.reader import Declared, Reader, Table, expected, is_empty_list, is_table_list, quote

__all__ = ["read_questions"]

_QUESTION_KEYS = (
    "id",
    "kind",
    "class",
    "section",
    "text",
    "hint",
    "options",
    "prefer_not_to_say",
    "scale",
    "max_length",
    "failure_demand",
)
_OPTION_KEYS = ("id", "text")
_SCALE_KEYS = ("min", "max")

_DEFAULT_MAX_LENGTH = 2000
_MAX_TEXT_LENGTH = 10000
_SCALE_LIMITS = (0, 10)


def read_questions(r: Reader, tree: Table, declared: Declared) -> tuple[Question, ...]:
    """Every question that loaded cleanly; ``declared`` learns every question id, for the alerts."""
    entries = r.tables(tree, "", "questions")
    if is_empty_list(tree.get("questions")):
        r.problem("questions", "must list at least one question")
    seen: dict[str, str] = {}
    for path, table in entries:
        question_id = table.get("id")
        if isinstance(question_id, str):
            if question_id in seen:
                r.problem(f"{path}.id", f"{quote(question_id)} is already used by {seen[question_id]}")
            seen.setdefault(question_id, path)
    declared.question_ids = tuple(seen)
    questions = [(path, _question(r, path, table, declared)) for path, table in entries]
    declared.questions = {q.id: q for _, q in questions if q is not None}
    _check_sections_together(r, questions)
    return tuple(q for _, q in questions if q is not None)


def _question(r: Reader, path: str, table: Table, declared: Declared) -> Question | None:
    """The question, or None if it has any problem (so alerts skip checks against it)."""
    before = len(r.problems)
    r.keys(table, path, _QUESTION_KEYS)
    question_id = r.identifier(table, path)
    kind = r.word(table, path, "kind", QUESTION_KINDS, "a question kind")
    field_class = r.string(table, path, "class")
    if field_class == REPLY_CLASS:
        r.problem(f"{path}.class", f"{quote(field_class)} holds staff replies to the person; an answer cannot use it")
    elif field_class is not None and field_class not in declared.classes:
        r.problem(f"{path}.class", f"{quote(field_class)} is not a class; {expected(declared.classes)}")
    section = r.string(table, path, "section", required=False)
    if section is not None and section not in declared.sections:
        r.problem(f"{path}.section", f"{quote(section)} is not a section; {expected(declared.sections)}")
    text = r.text(table, path, "text")
    hint = r.text(table, path, "hint", required=False)
    failure_demand = r.boolean(table, path, "failure_demand")
    options = _options(r, path, table, kind)
    prefer = _prefer_not_to_say(r, path, table, kind)
    scale = _scale(r, path, table, kind)
    max_length = _max_length(r, path, table, kind)
    if len(r.problems) > before:
        return None
    return Question(
        id=question_id or "",
        kind=cast(QuestionKind, kind),
        field_class=field_class or "",
        text=text or {},
        hint=hint or {},
        options=options,
        prefer_not_to_say=bool(prefer),
        max_length=max_length or _DEFAULT_MAX_LENGTH,
        section=section,
        scale_min=scale[0],
        scale_max=scale[1],
        failure_demand=bool(failure_demand),
    )


def _only_for(r: Reader, path: str, table: Table, name: str, kind: str | None, kinds: Sequence[str]) -> bool:
    """True if ``name`` is present and means something for this kind; reports it if it does not."""
    if name not in table:
        return False
    if kind is None or kind in kinds:
        return True  # with an unknown kind, still check the value's own shape
    allowed = " and ".join(", ".join(kinds).rsplit(", ", 1))
    r.problem(f"{path}.{name}", f"only {allowed} questions have {name}; this is a {kind} question")
    return False


def _options(r: Reader, path: str, table: Table, kind: str | None) -> tuple[Option, ...]:
    choosing = ("choice", "multi_choice")
    if kind in choosing and "options" not in table:
        r.problem(f"{path}.options", "is required for choice and multi_choice questions")
        return ()
    if not _only_for(r, path, table, "options", kind, choosing):
        return ()
    entries = r.tables(table, path, "options")
    if kind in choosing and len(entries) < 2 and is_table_list(table["options"]):
        r.problem(f"{path}.options", "must list at least 2 options")
    options: list[Option] = []
    seen: dict[str, str] = {}
    for option_path, option in entries:
        r.keys(option, option_path, _OPTION_KEYS)
        option_id = r.identifier(option, option_path)
        text = r.text(option, option_path, "text")
        if option_id == PREFER_NOT_TO_SAY:
            r.problem(
                f"{option_path}.id", f"{quote(option_id)} is reserved; set prefer_not_to_say = true instead"
            )
        elif option_id is not None and option_id in seen:
            r.problem(f"{option_path}.id", f"{quote(option_id)} is already used by {seen[option_id]}")
        elif option_id is not None:
            seen[option_id] = option_path
        options.append(Option(id=option_id or "", text=text or {}))
    return tuple(options)


def _prefer_not_to_say(r: Reader, path: str, table: Table, kind: str | None) -> bool | None:
    # A text question can simply be left blank; the option would mean nothing there.
    if not _only_for(r, path, table, "prefer_not_to_say", kind, ("choice", "multi_choice", "rating")):
        return False
    return r.boolean(table, path, "prefer_not_to_say")


def _scale(r: Reader, path: str, table: Table, kind: str | None) -> tuple[int, int]:
    default = (1, 5)
    if kind == "rating" and "scale" not in table:
        # Stated explicitly so that reports never guess what "3" meant.
        r.problem(f"{path}.scale", "is required for rating questions, e.g. scale = { min = 1, max = 5 }")
        return default
    if not _only_for(r, path, table, "scale", kind, ("rating",)):
        return default
    scale = r.table(table, path, "scale")
    if scale is None:
        return default
    key = f"{path}.scale"
    r.keys(scale, key, _SCALE_KEYS)
    low, high = _SCALE_LIMITS
    minimum = r.integer(scale, key, "min", minimum=low, maximum=high)
    maximum = r.integer(scale, key, "max", minimum=low, maximum=high)
    if minimum is None or maximum is None:
        return default
    if minimum >= maximum:
        r.problem(key, "min must be less than max")
    return (minimum, maximum)


def _max_length(r: Reader, path: str, table: Table, kind: str | None) -> int | None:
    if not _only_for(r, path, table, "max_length", kind, ("text",)):
        return _DEFAULT_MAX_LENGTH
    return r.integer(
        table, path, "max_length", default=_DEFAULT_MAX_LENGTH, minimum=1, maximum=_MAX_TEXT_LENGTH
    )


def _check_sections_together(r: Reader, questions: list[tuple[str, Question | None]]) -> None:
    """A section's questions must be adjacent, or its content warning would be shown twice."""
    closed: dict[str, str] = {}  # section -> the last question before it was left
    current: tuple[str, str] | None = None
    for path, question in questions:
        if question is None:
            continue
        section = question.section
        if current is not None and current[0] != section:
            closed[current[0]] = current[1]
        if section is not None and section in closed:
            ended = closed[section]
            r.problem(
                f"{path}.section",
                f"questions in section {quote(section)} must be next to each other (it ended at {ended})",
            )
        current = (section, path) if section is not None else None
