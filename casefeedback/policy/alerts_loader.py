"""The [[alerts]] of a service policy: which answers must reach a person, how urgently, and whom."""

from __future__ import annotations

import re
from typing import cast

from casefeedback.policy.alert_access import default_act
from casefeedback.policy.model import SEVERITIES, AlertCondition, AlertRule, Question, Severity
from casefeedback.policy.reader import Declared, Reader, Table, expected, quote

__all__ = ["read_alerts"]

_ALERT_KEYS = ("id", "title", "guidance", "when", "severity", "acknowledge_within", "escalate", "message",
               "delivery_attempts", "act")
_WHEN_KEYS = ("question", "equals", "one_of", "matches", "score")
_MATCHERS = ("equals", "one_of", "matches", "score")
_SCORE_KEYS = ("questions", "at_least")

_MAX_PATTERN = 200
# A title is read at a glance in a list and in a notification's subject; guidance is
# read under pressure, so it must stay a few sentences, not a procedure manual.
_MAX_TITLE = 80
_MAX_GUIDANCE = 600


def read_alerts(r: Reader, tree: Table, declared: Declared) -> tuple[AlertRule, ...]:
    alerts: list[AlertRule] = []
    seen: dict[str, str] = {}
    for path, table in r.tables(tree, "", "alerts", required=False):
        alert_id = table.get("id")
        if isinstance(alert_id, str) and alert_id in seen:
            r.problem(f"{path}.id", f"{quote(alert_id)} is already used by {seen[alert_id]}")
        elif isinstance(alert_id, str):
            seen[alert_id] = path
        alert = _alert(r, path, table, declared)
        if alert is not None:
            alerts.append(alert)
    return tuple(alerts)


def _alert(r: Reader, path: str, table: Table, declared: Declared) -> AlertRule | None:
    r.keys(table, path, _ALERT_KEYS)
    alert_id = r.identifier(table, path)
    title = _staff_words(r, path, table, "title", _MAX_TITLE, "what the alert means, e.g. "
                         '"Says they are not safe now"')
    guidance = _staff_words(r, path, table, "guidance", _MAX_GUIDANCE, "what to do now, e.g. "
                            '"Call within 15 minutes."')
    when = _when(r, path, table, declared)
    severity = r.word(table, path, "severity", SEVERITIES, "a severity")
    acknowledge = r.duration(table, path, "acknowledge_within", positive=True)
    escalate = r.relations(table, path, "escalate")
    if escalate is not None and not escalate:
        # An alert nobody receives is exactly the silent loss invariant 5 forbids.
        r.problem(f"{path}.escalate", "must name at least one relation")
    message = r.text(table, path, "message", required=False)
    # How often each email or webhook is tried, with growing waits, before it is listed
    # as undeliverable and the alert goes on at once to the next person in escalate.
    attempts = r.integer(table, path, "delivery_attempts", default=8, minimum=1, maximum=50)
    # Who may open the alert and act on it: it reveals a case and a person in danger,
    # so sharing a team is not enough unless the policy says so.
    act = r.relations(table, path, "act") if "act" in table else ()
    if act is not None and "act" in table and not act:
        r.problem(f"{path}.act", "must name at least one relation")
        act = None
    if alert_id is None or when is None or severity is None or acknowledge is None or not escalate \
            or attempts is None or act is None or title is None or guidance is None:
        return None
    return AlertRule(
        id=alert_id,
        when=when,
        severity=cast(Severity, severity),
        acknowledge_within=acknowledge,
        escalate=escalate,
        message=message or {},
        delivery_attempts=attempts,
        act=act or default_act(escalate),
        title=title,
        guidance=guidance,
    )


def _staff_words(r: Reader, path: str, table: Table, name: str, longest: int, example: str) -> str | None:
    """A plain English string for staff (staff pages are not translated), required and kept short."""
    if name not in table:
        r.problem(f"{path}.{name}", f"is required: {example}")
        return None
    if isinstance(table[name], dict):
        r.problem(f"{path}.{name}", f'is read by staff, in English: write {name} = "...", not {name}.en')
        return None
    value = r.string(table, path, name)
    if value is None:
        return None
    words = " ".join(value.split())
    if len(words) > longest:
        r.problem(f"{path}.{name}", f"is {len(words)} characters long; keep it to {longest} or fewer")
        return None
    return words


def _when(r: Reader, path: str, parent: Table, declared: Declared) -> AlertCondition | None:
    when = r.table(parent, path, "when")
    if when is None:
        return None
    key = f"{path}.when"
    r.keys(when, key, _WHEN_KEYS)
    matchers = [name for name in _MATCHERS if name in when]
    if len(matchers) != 1:
        r.problem(key, f"must have exactly one of: {', '.join(_MATCHERS)}")
        if "question" in when:
            _alert_question(r, key, when, declared)
        return None
    if matchers[0] == "score":
        if "question" in when:
            r.problem(f"{key}.question", "is not used with score; list the questions in score.questions")
            return None
        return _score(r, key, when, declared)
    question = _alert_question(r, key, when, declared)
    if matchers[0] == "matches":
        patterns = _patterns(r, key, when, question)
        return None if patterns is None else AlertCondition(question=_question_id(when), matches=patterns)
    values = _answer_values(r, key, when, matchers[0], question)
    if values is None:
        return None
    if matchers[0] == "equals":
        return AlertCondition(question=_question_id(when), equals=values[0])
    return AlertCondition(question=_question_id(when), one_of=values)


def _question_id(when: Table) -> str:
    value = when.get("question")
    return value if isinstance(value, str) else ""


def _alert_question(r: Reader, key: str, when: Table, declared: Declared) -> Question | None:
    """The question a rule watches, if it loaded cleanly; problems reported once."""
    question_id = r.string(when, key, "question")
    if question_id is None:
        return None
    if question_id not in declared.question_ids:
        r.problem(
            f"{key}.question", f"{quote(question_id)} is not a question; {expected(declared.question_ids)}"
        )
        return None
    return declared.questions.get(question_id)


def _answer_values(
    r: Reader, key: str, when: Table, matcher: str, question: Question | None
) -> tuple[str, ...] | None:
    if matcher == "equals":
        single = r.string(when, key, "equals")
        values: list[str] | None = None if single is None else [single]
        addresses = [f"{key}.equals"]
    else:
        values = r.strings(when, key, "one_of")
        if values is not None and not values:
            r.problem(f"{key}.one_of", "must list at least one answer")
            values = None
        addresses = [f"{key}.one_of[{i}]" for i in range(len(values or []))]
    if values is None or question is None:
        return None
    if question.kind == "text":
        r.problem(
            f"{key}.{matcher}", "only for choice, multi_choice and rating questions; use matches for text"
        )
        return None
    allowed = question.option_ids()
    ok = True
    for address, value in zip(addresses, values, strict=True):
        if value not in allowed:
            r.problem(address, f"{quote(value)} is not an answer to {quote(question.id)}; {expected(allowed)}")
            ok = False
    return tuple(values) if ok else None


def _patterns(r: Reader, key: str, when: Table, question: Question | None) -> tuple[str, ...] | None:
    patterns = r.strings(when, key, "matches")
    if patterns is not None and not patterns:
        r.problem(f"{key}.matches", "must list at least one pattern")
        return None
    if patterns is None:
        return None
    ok = all([_check_pattern(r, f"{key}.matches[{i}]", pattern) for i, pattern in enumerate(patterns)])
    if question is not None and question.kind != "text":
        r.problem(
            f"{key}.matches", f"only for text questions; {quote(question.id)} is a {question.kind} question"
        )
        return None
    return tuple(patterns) if ok and question is not None else None


def _check_pattern(r: Reader, key: str, pattern: str) -> bool:
    # The length cap keeps patterns reviewable and bounds the cost of matching.
    if len(pattern) > _MAX_PATTERN:
        r.problem(key, f"pattern is longer than {_MAX_PATTERN} characters")
        return False
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        r.problem(key, f"{quote(pattern)} is not a valid regular expression: {error}")
        return False
    if compiled.search("") is not None:
        r.problem(key, f"{quote(pattern)} matches an empty answer, so it would match every answer")
        return False
    return True


def _score(r: Reader, key: str, when: Table, declared: Declared) -> AlertCondition | None:
    score = r.table(when, key, "score")
    if score is None:
        return None
    path = f"{key}.score"
    r.keys(score, path, _SCORE_KEYS)
    question_ids = r.strings(score, path, "questions")
    at_least = r.integer(score, path, "at_least", minimum=1)
    if question_ids is not None and not question_ids:
        r.problem(f"{path}.questions", "must list at least one rating question")
        return None
    if question_ids is None:
        return None
    most = 0
    ok = True
    for i, question_id in enumerate(question_ids):
        question = declared.questions.get(question_id)
        if question_id not in declared.question_ids:
            known = expected(declared.question_ids)
            r.problem(f"{path}.questions[{i}]", f"{quote(question_id)} is not a question; {known}")
            ok = False
        elif question_id in question_ids[:i]:
            r.problem(f"{path}.questions[{i}]", f"{quote(question_id)} is listed twice")
            ok = False
        elif question is None:
            ok = False  # already reported where the question is declared
        elif question.kind != "rating":
            r.problem(f"{path}.questions[{i}]", f"{quote(question_id)} is not a rating question")
            ok = False
        else:
            most += question.scale_max - question.scale_min
    if not ok or at_least is None:
        return None
    if at_least > most:
        r.problem(f"{path}.at_least", f"can never be reached; these questions score at most {most}")
        return None
    return AlertCondition(score_questions=tuple(question_ids), score_at_least=at_least)
