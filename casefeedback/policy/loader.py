"""Load policy files (TOML) into the frozen model, refusing anything doubtful.

A policy decides who may read a victim's words and when they are erased, so a
typo must never be guessed at or silently ignored. Every problem in a file is
collected (not just the first), each naming the file and the exact key, so the
person editing the policy can fix them all in one pass. The language itself is
documented in ``policies/README.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple, cast
from urllib.parse import urlsplit

from casefeedback.policy.durations import parse_duration
from casefeedback.policy.model import (
    CONSENT_CHOICES,
    INSIGHT_USES,
    ORGANISATION_FILE,
    PREFER_NOT_TO_SAY,
    QUESTION_KINDS,
    RELATIONS,
    RETENTION_EVENTS,
    SEVERITIES,
    AlertCondition,
    AlertRule,
    BreakGlassRules,
    Consent,
    ConsentChoice,
    Duration,
    FieldClass,
    Helpline,
    InsightUse,
    Option,
    OrganisationPolicy,
    OutcomeRules,
    PolicySet,
    Question,
    QuestionKind,
    Retention,
    RetentionEvent,
    Section,
    ServicePolicy,
    Severity,
    StaffSessionRules,
)

__all__ = [
    "PolicyError",
    "PolicyProblem",
    "load_organisation_file",
    "load_policies",
    "load_policy_file",
    "parse_organisation",
    "parse_policy",
]


@dataclass(frozen=True)
class PolicyProblem:
    file: str  # the path as given to the loader
    key: str  # dotted key, e.g. "questions[2].kind"; "(syntax)" for TOML errors
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}"


class PolicyError(Exception):
    """One or more policy files are unusable; ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[PolicyProblem]) -> None:
        self.problems: list[PolicyProblem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type[PolicyError], tuple[list[PolicyProblem]]]:
        # The default would call PolicyError(message); keep the structured problems.
        return (PolicyError, (self.problems,))


Table = dict[str, object]

_ID = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_PHONE = re.compile(r"\+?[0-9](?:[0-9 ]*[0-9])?")
_MISSING = object()

_TOP_KEYS = ("service", "consent", "classes", "sections", "questions", "alerts")
_SERVICE_KEYS = ("id", "name", "languages", "exit_url", "draft_keep", "suppress_below", "helplines")
_HELPLINE_KEYS = ("name", "phone", "hours")
_CONSENT_KEYS = ("version", "intro", "choices")
_CHOICE_KEYS = ("id", "required", "label")
_CLASS_KEYS = ("description", "retention", "read", "insight")
_RETENTION_KEYS = ("keep", "after")
_SECTION_KEYS = ("title", "sensitive", "warning")
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
_ALERT_KEYS = ("id", "when", "severity", "acknowledge_within", "escalate", "message",
               "delivery_attempts")  # issue 5
_WHEN_KEYS = ("question", "equals", "one_of", "matches", "score")
_MATCHERS = ("equals", "one_of", "matches", "score")
_SCORE_KEYS = ("questions", "at_least")

_DEFAULT_DRAFT_KEEP = "P14D"
_DEFAULT_SUPPRESS_BELOW = 10
_DEFAULT_MAX_LENGTH = 2000
_MAX_TEXT_LENGTH = 10000
_SCALE_LIMITS = (0, 10)
_MAX_PATTERN = 200
# No real retention period is longer; anything more is a typo (P200Y for P2Y).
_LONGEST = timedelta(days=366 * 100)
_EPOCH = datetime(2000, 1, 1)  # only measures a duration's length


def _is_table_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _is_empty_list(value: object) -> bool:
    return isinstance(value, list) and not value


def _q(value: object) -> str:
    """Quote a value in messages the way TOML writes it."""
    return json.dumps(value, ensure_ascii=False)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _expected(values: Iterable[str]) -> str:
    listed = ", ".join(values)
    return f"expected one of: {listed}" if listed else "none are declared"


class _Reader:
    """Reads one file's TOML tree, recording a problem instead of raising.

    Each accessor returns None when the value is missing-and-required or wrong,
    so callers can skip checks that would only repeat the same mistake.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[PolicyProblem] = []
        # None until service.languages has been read correctly; text checks
        # for completeness are skipped rather than reported against a bad list.
        self.languages: tuple[str, ...] | None = None

    def problem(self, key: str, message: str) -> None:
        self.problems.append(PolicyProblem(self.file, key, message))

    def keys(self, table: Table, path: str, allowed: Sequence[str]) -> None:
        for name in table:
            if name not in allowed:
                self.problem(_join(path, name), f"unknown key; expected one of: {', '.join(allowed)}")

    def value(self, parent: Table, path: str, name: str, *, required: bool) -> object:
        if name in parent:
            return parent[name]
        if required:
            self.problem(_join(path, name), "is required")
        return _MISSING

    def table(self, parent: Table, path: str, name: str, *, required: bool = True) -> Table | None:
        value = self.value(parent, path, name, required=required)
        if value is _MISSING:
            return None
        if not isinstance(value, dict):
            self.problem(_join(path, name), "must be a table")
            return None
        return cast(Table, value)

    def tables(
        self, parent: Table, path: str, name: str, *, required: bool = True
    ) -> list[tuple[str, Table]]:
        """An array of tables, each with its own address: ``questions[2]``."""
        value = self.value(parent, path, name, required=required)
        if value is _MISSING:
            return []
        key = _join(path, name)
        if not _is_table_list(value):
            self.problem(key, "must be a list of tables")
            return []
        return [(f"{key}[{i}]", cast(Table, item)) for i, item in enumerate(cast(list[object], value))]

    def string(self, parent: Table, path: str, name: str, *, required: bool = True) -> str | None:
        value = self.value(parent, path, name, required=required)
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            self.problem(_join(path, name), "must be a string")
            return None
        if not value.strip():
            self.problem(_join(path, name), "must not be empty")
            return None
        return value

    def strings(self, parent: Table, path: str, name: str, *, required: bool = True) -> list[str] | None:
        value = self.value(parent, path, name, required=required)
        if value is _MISSING:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.problem(_join(path, name), "must be a list of strings")
            return None
        return cast(list[str], value)

    def integer(
        self,
        parent: Table,
        path: str,
        name: str,
        *,
        default: int | None = None,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = self.value(parent, path, name, required=default is None)
        if value is _MISSING:
            return default
        # bool is an int in Python, but "true" is never a sensible number.
        if not isinstance(value, int) or isinstance(value, bool):
            self.problem(_join(path, name), "must be an integer")
            return None
        too_low = minimum is not None and value < minimum
        too_high = maximum is not None and value > maximum
        if too_low or too_high:
            if maximum is None:
                self.problem(_join(path, name), f"must be at least {minimum}")
            else:
                self.problem(_join(path, name), f"must be between {minimum} and {maximum}")
            return None
        return value

    def boolean(self, parent: Table, path: str, name: str, *, default: bool = False) -> bool | None:
        value = self.value(parent, path, name, required=False)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.problem(_join(path, name), "must be true or false")
            return None
        return value

    def word(
        self,
        parent: Table,
        path: str,
        name: str,
        vocabulary: Sequence[str],
        noun: str,
        default: str | None = None,
    ) -> str | None:
        """A string from a fixed vocabulary, e.g. a severity or a retention event."""
        value = self.string(parent, path, name, required=default is None)
        if value is None:
            return default if name not in parent else None
        if value not in vocabulary:
            self.problem(_join(path, name), f"{_q(value)} is not {noun}; {_expected(vocabulary)}")
            return None
        return value

    def identifier(self, parent: Table, path: str, name: str = "id") -> str | None:
        value = self.string(parent, path, name)
        if value is not None and not self.check_id(value, _join(path, name)):
            return None
        return value

    def check_id(self, value: str, key: str) -> bool:
        if _ID.fullmatch(value):
            return True
        self.problem(
            key,
            f"{_q(value)} is not a valid id; use 1 to 63 lowercase letters, digits, "
            '"_" or "-", starting with a letter',
        )
        return False

    def relations(self, parent: Table, path: str, name: str) -> tuple[str, ...] | None:
        values = self.strings(parent, path, name)
        if values is None:
            return None
        key = _join(path, name)
        ok = True
        for i, relation in enumerate(values):
            if relation not in RELATIONS:
                self.problem(f"{key}[{i}]", f"{_q(relation)} is not a relation; {_expected(RELATIONS)}")
                ok = False
            elif relation in values[:i]:
                self.problem(f"{key}[{i}]", f"{_q(relation)} is listed twice")
                ok = False
        return tuple(values) if ok else None

    def duration(
        self, parent: Table, path: str, name: str, *, default: str | None = None, positive: bool = False
    ) -> Duration | None:
        text = self.string(parent, path, name, required=default is None)
        if text is None:
            return parse_duration(default) if default is not None and name not in parent else None
        key = _join(path, name)
        try:
            duration = parse_duration(text)
        except ValueError as error:
            self.problem(key, str(error))
            return None
        try:
            length = duration.after(_EPOCH) - _EPOCH
        except (OverflowError, ValueError):
            length = _LONGEST + _LONGEST
        if length > _LONGEST:
            self.problem(key, f"{_q(text)} is longer than 100 years")
            return None
        if positive and length <= timedelta(0):
            self.problem(key, f"{_q(text)} must be longer than zero")
            return None
        return duration

    def text(self, parent: Table, path: str, name: str, *, required: bool = True) -> dict[str, str] | None:
        """A text in every service language: ``text.en = "..."``, ``text.cy = "..."``.

        A text that is present must be complete even when the key is optional:
        a hint shown in English on a Welsh page is a broken promise.
        """
        value = self.value(parent, path, name, required=required)
        if value is _MISSING:
            return {}
        key = _join(path, name)
        if not isinstance(value, dict):
            self.problem(key, f'must be a table of texts by language, e.g. {name}.en = "..."')
            return None
        texts = cast(Table, value)
        ok = True
        for language, text in texts.items():
            if self.languages is not None and language not in self.languages:
                self.problem(
                    f"{key}.{language}",
                    f"{_q(language)} is not in service.languages ({', '.join(self.languages)})",
                )
                ok = False
            elif not isinstance(text, str) or not text.strip():
                self.problem(f"{key}.{language}", "must be a non-empty string")
                ok = False
        for language in self.languages or ():
            if language not in texts:
                self.problem(f"{key}.{language}", f"missing text for language {_q(language)}")
                ok = False
        return cast(dict[str, str], texts) if ok else None


@dataclass
class _Declared:
    """Ids declared in the file, valid or not, so one mistake is reported once."""

    classes: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    question_ids: tuple[str, ...] = ()
    questions: dict[str, Question] = field(default_factory=dict)  # only those that loaded cleanly


def load_policies(directory: Path) -> PolicySet:
    """Load every ``*.toml`` in ``directory`` (sorted by name), or raise PolicyError with every problem."""
    files = _policy_files(directory)
    problems: list[PolicyProblem] = []
    services: dict[str, ServicePolicy] = {}
    # organisation.toml is not a service: it holds organisation-wide rules (staff sessions, break-glass).
    organisation = OrganisationPolicy()
    if any(path.name == ORGANISATION_FILE for path in files):
        try:
            organisation = load_organisation_file(directory / ORGANISATION_FILE)
        except PolicyError as error:
            problems.extend(error.problems)
        files = [path for path in files if path.name != ORGANISATION_FILE]
        if not files:
            problems.append(PolicyProblem(str(directory), "(directory)",
                                          f"contains no service policy files (*.toml besides {ORGANISATION_FILE})"))
    for path in files:
        try:
            policy = load_policy_file(path)
        except PolicyError as error:
            problems.extend(error.problems)
            continue
        if policy.id in services:
            problems.append(
                PolicyProblem(
                    str(path),
                    "service.id",
                    f"{_q(policy.id)} is already declared in {services[policy.id].source}",
                )
            )
            continue
        services[policy.id] = policy
    if problems:
        raise PolicyError(problems)
    return PolicySet(services=services, organisation=organisation)


def _policy_files(directory: Path) -> list[Path]:
    def fail(message: str) -> PolicyError:
        return PolicyError([PolicyProblem(str(directory), "(directory)", message)])

    if not directory.exists():
        raise fail("no such directory")
    if not directory.is_dir():
        raise fail("is not a directory")
    # Hidden files are editor locks or macOS "._name.toml" droppings, never policies.
    files = sorted(p for p in directory.glob("*.toml") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise fail("contains no policy files (*.toml)")
    return files


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise PolicyError([PolicyProblem(str(path), "(file)", f"cannot read: {error.strerror}")]) from None


def _parse_toml(data: bytes, source: str) -> Table:
    """The TOML tree, or a PolicyError naming the file and the syntax problem."""
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise PolicyError([PolicyProblem(source, "(syntax)", f"not UTF-8 text ({error.reason})")]) from None
    except tomllib.TOMLDecodeError as error:
        raise PolicyError([PolicyProblem(source, "(syntax)", str(error))]) from None


def load_policy_file(path: Path) -> ServicePolicy:
    """Load one policy file, or raise PolicyError listing every problem in it."""
    data = _read_bytes(path)
    return parse_policy(data, str(path))


def parse_policy(data: bytes, source: str) -> ServicePolicy:
    """Check a policy file's bytes; ``source`` names it in problems and in ``ServicePolicy.source``."""
    reader = _Reader(source)
    tree = _parse_toml(data, source)
    policy = _policy(reader, tree, hashlib.sha256(data).hexdigest())
    if reader.problems or policy is None:
        raise PolicyError(reader.problems)
    return policy


def _policy(r: _Reader, tree: Table, version: str) -> ServicePolicy | None:
    r.keys(tree, "", _TOP_KEYS)
    service = _service(r, tree)
    consent = _consent(r, tree)
    declared = _Declared()
    classes = _classes(r, tree, declared)
    sections = _sections(r, tree, declared)
    questions = _questions(r, tree, declared)
    alerts = _alerts(r, tree, declared)
    if r.problems or service is None or consent is None:
        return None
    return ServicePolicy(
        id=service.id,
        name=service.name,
        languages=service.languages,
        exit_url=service.exit_url,
        draft_keep=service.draft_keep,
        helplines=service.helplines,
        consent=consent,
        classes=classes,
        sections=sections,
        questions=questions,
        alerts=alerts,
        suppress_below=service.suppress_below,
        version=version,
        source=r.file,
    )


# --- [service] ---------------------------------------------------------------------------------


class _Service(NamedTuple):
    id: str
    name: dict[str, str]
    languages: tuple[str, ...]
    exit_url: str
    draft_keep: Duration
    suppress_below: int
    helplines: tuple[Helpline, ...]


def _service(r: _Reader, tree: Table) -> _Service | None:
    service = r.table(tree, "", "service")
    if service is None:
        return None
    r.keys(service, "service", _SERVICE_KEYS)
    # Languages first: every text in the file is checked against them.
    r.languages = _languages(r, service)
    service_id = r.identifier(service, "service")
    name = r.text(service, "service", "name")
    exit_url = _exit_url(r, service)
    draft_keep = r.duration(service, "service", "draft_keep", default=_DEFAULT_DRAFT_KEEP, positive=True)
    suppress_below = r.integer(
        service, "service", "suppress_below", default=_DEFAULT_SUPPRESS_BELOW, minimum=2
    )
    helplines = _helplines(r, service)
    if (
        service_id is None
        or name is None
        or r.languages is None
        or exit_url is None
        or draft_keep is None
        or suppress_below is None
    ):
        return None
    return _Service(service_id, name, r.languages, exit_url, draft_keep, suppress_below, helplines)


def _languages(r: _Reader, service: Table) -> tuple[str, ...] | None:
    languages = r.strings(service, "service", "languages")
    if languages is None:
        return None
    ok = True
    for i, language in enumerate(languages):
        if not _LANGUAGE.fullmatch(language):
            r.problem(f"service.languages[{i}]", f'{_q(language)} is not a language code like "en" or "cy"')
            ok = False
        elif language in languages[:i]:
            r.problem(f"service.languages[{i}]", f"{_q(language)} is listed twice")
            ok = False
    if "en" not in languages:
        # English is the fallback every page can count on.
        r.problem("service.languages", 'must include "en"')
        ok = False
    return tuple(languages) if ok else None


def _exit_url(r: _Reader, service: Table) -> str | None:
    url = r.string(service, "service", "exit_url")
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        host = None
    # The quick-exit button must leave for a real, innocuous, secure site.
    printable = url.isprintable() and not any(c.isspace() for c in url)
    if host is None or parts.scheme != "https" or parts.username is not None or not printable:
        r.problem("service.exit_url", f"{_q(url)} must be an https:// URL")
        return None
    return url


def _helplines(r: _Reader, service: Table) -> tuple[Helpline, ...]:
    entries = r.tables(service, "service", "helplines")
    if _is_empty_list(service.get("helplines")):
        r.problem("service.helplines", "must list at least one helpline")
    helplines: list[Helpline] = []
    for path, table in entries:
        r.keys(table, path, _HELPLINE_KEYS)
        name = r.text(table, path, "name")
        phone = r.string(table, path, "phone")
        hours = r.text(table, path, "hours", required=False)
        if phone is not None and not (_PHONE.fullmatch(phone) and 3 <= sum(c.isdigit() for c in phone) <= 15):
            r.problem(
                f"{path}.phone", f'{_q(phone)} is not a phone number; use digits and spaces, e.g. "116 123"'
            )
        helplines.append(Helpline(name=name or {}, phone=phone or "", hours=hours or {}))
    return tuple(helplines)


# --- [consent] ---------------------------------------------------------------------------------


def _consent(r: _Reader, tree: Table) -> Consent | None:
    consent = r.table(tree, "", "consent")
    if consent is None:
        return None
    r.keys(consent, "consent", _CONSENT_KEYS)
    version = r.integer(consent, "consent", "version", minimum=1)
    intro = r.text(consent, "consent", "intro")
    entries = r.tables(consent, "consent", "choices")
    choices: list[ConsentChoice] = []
    seen: dict[str, str] = {}
    for path, table in entries:
        choice = _consent_choice(r, path, table)
        if choice.id in seen:
            r.problem(f"{path}.id", f"{_q(choice.id)} is already used by {seen[choice.id]}")
        seen.setdefault(choice.id, path)
        choices.append(choice)
    if isinstance(consent.get("choices"), list) and "store" not in seen:
        # Invariant 4: nothing is stored before consent, so the gate must exist.
        r.problem("consent.choices", 'must include a choice with id "store"')
    if version is None or intro is None:
        return None
    return Consent(version=version, intro=intro, choices=tuple(choices))


def _consent_choice(r: _Reader, path: str, table: Table) -> ConsentChoice:
    r.keys(table, path, _CHOICE_KEYS)
    choice_id = r.word(table, path, "id", CONSENT_CHOICES, "a consent choice")
    required = r.boolean(table, path, "required")
    label = r.text(table, path, "label")
    if choice_id == "store" and required is False:
        r.problem(f"{path}.required", '"store" must be required = true (nothing is stored without it)')
    elif choice_id is not None and choice_id != "store" and required:
        # Consent to anything beyond storing must be freely given, never a condition.
        r.problem(f"{path}.required", f'only "store" may be required; {_q(choice_id)} must stay optional')
    return ConsentChoice(id=choice_id or "", label=label or {}, required=bool(required))


# --- [classes] and [sections] ------------------------------------------------------------------


def _classes(r: _Reader, tree: Table, declared: _Declared) -> dict[str, FieldClass]:
    table = r.table(tree, "", "classes")
    if table is None:
        return {}
    if not table:
        r.problem("classes", "must declare at least one class")
    declared.classes = tuple(table)
    classes: dict[str, FieldClass] = {}
    for class_id, raw in table.items():
        path = f"classes.{class_id}"
        r.check_id(class_id, path)
        if not isinstance(raw, dict):
            r.problem(path, "must be a table")
            continue
        classes[class_id] = _field_class(r, path, class_id, cast(Table, raw))
    return classes


def _field_class(r: _Reader, path: str, class_id: str, table: Table) -> FieldClass:
    r.keys(table, path, _CLASS_KEYS)
    description = r.text(table, path, "description")
    retention = _retention(r, table, path)
    read = r.relations(table, path, "read")
    insight = r.word(table, path, "insight", INSIGHT_USES, "an insight use", default="none")
    return FieldClass(
        id=class_id,
        description=description or {},
        retention=retention or Retention(Duration(), "submitted"),
        read=read or (),
        insight=cast(InsightUse, insight or "none"),
    )


def _retention(r: _Reader, parent: Table, path: str) -> Retention | None:
    table = r.table(parent, path, "retention")
    if table is None:
        return None
    key = f"{path}.retention"
    r.keys(table, key, _RETENTION_KEYS)
    keep = r.duration(table, key, "keep")
    after = r.word(table, key, "after", RETENTION_EVENTS, "a retention event")
    if keep is None or after is None:
        return None
    return Retention(keep=keep, after=cast(RetentionEvent, after))


def _sections(r: _Reader, tree: Table, declared: _Declared) -> dict[str, Section]:
    table = r.table(tree, "", "sections", required=False)
    if table is None:
        return {}
    declared.sections = tuple(table)
    sections: dict[str, Section] = {}
    for section_id, raw in table.items():
        path = f"sections.{section_id}"
        r.check_id(section_id, path)
        if not isinstance(raw, dict):
            r.problem(path, "must be a table")
            continue
        sections[section_id] = _section(r, path, section_id, cast(Table, raw))
    return sections


def _section(r: _Reader, path: str, section_id: str, table: Table) -> Section:
    r.keys(table, path, _SECTION_KEYS)
    title = r.text(table, path, "title")
    sensitive = r.boolean(table, path, "sensitive")
    warning = r.text(table, path, "warning", required=False)
    if sensitive and "warning" not in table:
        # Trauma-informed: people are told before a hard question, never surprised by it.
        r.problem(f"{path}.warning", "is required when sensitive = true")
    elif sensitive is False and "warning" in table:
        r.problem(
            f"{path}.warning", "is shown only for sensitive sections; set sensitive = true or remove it"
        )
    return Section(id=section_id, title=title or {}, sensitive=bool(sensitive), warning=warning or {})


# --- [[questions]] -----------------------------------------------------------------------------


def _questions(r: _Reader, tree: Table, declared: _Declared) -> tuple[Question, ...]:
    entries = r.tables(tree, "", "questions")
    if _is_empty_list(tree.get("questions")):
        r.problem("questions", "must list at least one question")
    seen: dict[str, str] = {}
    for path, table in entries:
        question_id = table.get("id")
        if isinstance(question_id, str):
            if question_id in seen:
                r.problem(f"{path}.id", f"{_q(question_id)} is already used by {seen[question_id]}")
            seen.setdefault(question_id, path)
    declared.question_ids = tuple(seen)
    questions = [(path, _question(r, path, table, declared)) for path, table in entries]
    declared.questions = {q.id: q for _, q in questions if q is not None}
    _check_sections_together(r, questions)
    return tuple(q for _, q in questions if q is not None)


def _question(r: _Reader, path: str, table: Table, declared: _Declared) -> Question | None:
    """The question, or None if it has any problem (so alerts skip checks against it)."""
    before = len(r.problems)
    r.keys(table, path, _QUESTION_KEYS)
    question_id = r.identifier(table, path)
    kind = r.word(table, path, "kind", QUESTION_KINDS, "a question kind")
    field_class = r.string(table, path, "class")
    if field_class is not None and field_class not in declared.classes:
        r.problem(f"{path}.class", f"{_q(field_class)} is not a class; {_expected(declared.classes)}")
    section = r.string(table, path, "section", required=False)
    if section is not None and section not in declared.sections:
        r.problem(f"{path}.section", f"{_q(section)} is not a section; {_expected(declared.sections)}")
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


def _only_for(r: _Reader, path: str, table: Table, name: str, kind: str | None, kinds: Sequence[str]) -> bool:
    """True if ``name`` is present and means something for this kind; reports it if it does not."""
    if name not in table:
        return False
    if kind is None or kind in kinds:
        return True  # with an unknown kind, still check the value's own shape
    allowed = " and ".join(", ".join(kinds).rsplit(", ", 1))
    r.problem(f"{path}.{name}", f"only {allowed} questions have {name}; this is a {kind} question")
    return False


def _options(r: _Reader, path: str, table: Table, kind: str | None) -> tuple[Option, ...]:
    choosing = ("choice", "multi_choice")
    if kind in choosing and "options" not in table:
        r.problem(f"{path}.options", "is required for choice and multi_choice questions")
        return ()
    if not _only_for(r, path, table, "options", kind, choosing):
        return ()
    entries = r.tables(table, path, "options")
    if kind in choosing and len(entries) < 2 and _is_table_list(table["options"]):
        r.problem(f"{path}.options", "must list at least 2 options")
    options: list[Option] = []
    seen: dict[str, str] = {}
    for option_path, option in entries:
        r.keys(option, option_path, _OPTION_KEYS)
        option_id = r.identifier(option, option_path)
        text = r.text(option, option_path, "text")
        if option_id == PREFER_NOT_TO_SAY:
            r.problem(
                f"{option_path}.id", f"{_q(option_id)} is reserved; set prefer_not_to_say = true instead"
            )
        elif option_id is not None and option_id in seen:
            r.problem(f"{option_path}.id", f"{_q(option_id)} is already used by {seen[option_id]}")
        elif option_id is not None:
            seen[option_id] = option_path
        options.append(Option(id=option_id or "", text=text or {}))
    return tuple(options)


def _prefer_not_to_say(r: _Reader, path: str, table: Table, kind: str | None) -> bool | None:
    # A text question can simply be left blank; the option would mean nothing there.
    if not _only_for(r, path, table, "prefer_not_to_say", kind, ("choice", "multi_choice", "rating")):
        return False
    return r.boolean(table, path, "prefer_not_to_say")


def _scale(r: _Reader, path: str, table: Table, kind: str | None) -> tuple[int, int]:
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


def _max_length(r: _Reader, path: str, table: Table, kind: str | None) -> int | None:
    if not _only_for(r, path, table, "max_length", kind, ("text",)):
        return _DEFAULT_MAX_LENGTH
    return r.integer(
        table, path, "max_length", default=_DEFAULT_MAX_LENGTH, minimum=1, maximum=_MAX_TEXT_LENGTH
    )


def _check_sections_together(r: _Reader, questions: list[tuple[str, Question | None]]) -> None:
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
                f"questions in section {_q(section)} must be next to each other (it ended at {ended})",
            )
        current = (section, path) if section is not None else None


# --- [[alerts]] --------------------------------------------------------------------------------


def _alerts(r: _Reader, tree: Table, declared: _Declared) -> tuple[AlertRule, ...]:
    alerts: list[AlertRule] = []
    seen: dict[str, str] = {}
    for path, table in r.tables(tree, "", "alerts", required=False):
        alert_id = table.get("id")
        if isinstance(alert_id, str) and alert_id in seen:
            r.problem(f"{path}.id", f"{_q(alert_id)} is already used by {seen[alert_id]}")
        elif isinstance(alert_id, str):
            seen[alert_id] = path
        alert = _alert(r, path, table, declared)
        if alert is not None:
            alerts.append(alert)
    return tuple(alerts)


def _alert(r: _Reader, path: str, table: Table, declared: _Declared) -> AlertRule | None:
    r.keys(table, path, _ALERT_KEYS)
    alert_id = r.identifier(table, path)
    when = _when(r, path, table, declared)
    severity = r.word(table, path, "severity", SEVERITIES, "a severity")
    acknowledge = r.duration(table, path, "acknowledge_within", positive=True)
    escalate = r.relations(table, path, "escalate")
    if escalate is not None and not escalate:
        # An alert nobody receives is exactly the silent loss invariant 5 forbids.
        r.problem(f"{path}.escalate", "must name at least one relation")
    message = r.text(table, path, "message", required=False)
    attempts = r.integer(table, path, "delivery_attempts", default=8, minimum=1, maximum=50)  # issue 5
    if alert_id is None or when is None or severity is None or acknowledge is None or not escalate \
            or attempts is None:
        return None
    return AlertRule(
        id=alert_id,
        when=when,
        severity=cast(Severity, severity),
        acknowledge_within=acknowledge,
        escalate=escalate,
        message=message or {},
        delivery_attempts=attempts,
    )


def _when(r: _Reader, path: str, parent: Table, declared: _Declared) -> AlertCondition | None:
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


def _alert_question(r: _Reader, key: str, when: Table, declared: _Declared) -> Question | None:
    """The question a rule watches, if it loaded cleanly; problems reported once."""
    question_id = r.string(when, key, "question")
    if question_id is None:
        return None
    if question_id not in declared.question_ids:
        r.problem(
            f"{key}.question", f"{_q(question_id)} is not a question; {_expected(declared.question_ids)}"
        )
        return None
    return declared.questions.get(question_id)


def _answer_values(
    r: _Reader, key: str, when: Table, matcher: str, question: Question | None
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
            r.problem(address, f"{_q(value)} is not an answer to {_q(question.id)}; {_expected(allowed)}")
            ok = False
    return tuple(values) if ok else None


def _patterns(r: _Reader, key: str, when: Table, question: Question | None) -> tuple[str, ...] | None:
    patterns = r.strings(when, key, "matches")
    if patterns is not None and not patterns:
        r.problem(f"{key}.matches", "must list at least one pattern")
        return None
    if patterns is None:
        return None
    ok = all([_check_pattern(r, f"{key}.matches[{i}]", pattern) for i, pattern in enumerate(patterns)])
    if question is not None and question.kind != "text":
        r.problem(
            f"{key}.matches", f"only for text questions; {_q(question.id)} is a {question.kind} question"
        )
        return None
    return tuple(patterns) if ok and question is not None else None


def _check_pattern(r: _Reader, key: str, pattern: str) -> bool:
    # The length cap keeps patterns reviewable and bounds the cost of matching.
    if len(pattern) > _MAX_PATTERN:
        r.problem(key, f"pattern is longer than {_MAX_PATTERN} characters")
        return False
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        r.problem(key, f"{_q(pattern)} is not a valid regular expression: {error}")
        return False
    if compiled.search("") is not None:
        r.problem(key, f"{_q(pattern)} matches an empty answer, so it would match every answer")
        return False
    return True


def _score(r: _Reader, key: str, when: Table, declared: _Declared) -> AlertCondition | None:
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
            known = _expected(declared.question_ids)
            r.problem(f"{path}.questions[{i}]", f"{_q(question_id)} is not a question; {known}")
            ok = False
        elif question_id in question_ids[:i]:
            r.problem(f"{path}.questions[{i}]", f"{_q(question_id)} is listed twice")
            ok = False
        elif question is None:
            ok = False  # already reported where the question is declared
        elif question.kind != "rating":
            r.problem(f"{path}.questions[{i}]", f"{_q(question_id)} is not a rating question")
            ok = False
        else:
            most += question.scale_max - question.scale_min
    if not ok or at_least is None:
        return None
    if at_least > most:
        r.problem(f"{path}.at_least", f"can never be reached; these questions score at most {most}")
        return None
    return AlertCondition(score_questions=tuple(question_ids), score_at_least=at_least)


# --- organisation.toml (issue 4) ----------------------------------------------------------------
#
# Organisation-wide rules: how long staff sessions last, how break-glass works,
# and who reads a case's recorded outcomes. Every key is optional (the defaults
# are in ``model``); the limits below stop a typo from quietly weakening them.

_ORGANISATION_KEYS = ("staff_sessions", "break_glass", "outcomes")
_STAFF_SESSION_KEYS = ("idle_timeout", "idle_warning", "absolute_timeout", "reauthenticate_within")
_BREAK_GLASS_KEYS = ("lasts", "read_as")
_OUTCOME_KEYS = ("read", "keep")
# (shortest, longest) for each duration; a session that outlives a long shift, or
# break-glass that lasts half a day, is not "limited" any more.
_ORGANISATION_LIMITS: dict[str, tuple[timedelta, timedelta]] = {
    "staff_sessions.idle_timeout": (timedelta(minutes=1), timedelta(hours=2)),
    "staff_sessions.idle_warning": (timedelta(seconds=30), timedelta(minutes=30)),
    "staff_sessions.absolute_timeout": (timedelta(minutes=5), timedelta(hours=12)),
    "staff_sessions.reauthenticate_within": (timedelta(minutes=1), timedelta(minutes=30)),
    "break_glass.lasts": (timedelta(minutes=1), timedelta(hours=4)),
}


def load_organisation_file(path: Path) -> OrganisationPolicy:
    """Load ``organisation.toml``, or raise PolicyError listing every problem in it."""
    data = _read_bytes(path)
    return parse_organisation(data, str(path))


def parse_organisation(data: bytes, source: str) -> OrganisationPolicy:
    reader = _Reader(source)
    tree = _parse_toml(data, source)
    reader.keys(tree, "", _ORGANISATION_KEYS)
    sessions = _staff_sessions(reader, tree)
    break_glass = _break_glass(reader, tree)
    outcomes = _outcomes(reader, tree)
    if reader.problems:
        raise PolicyError(reader.problems)
    return OrganisationPolicy(staff_sessions=sessions, break_glass=break_glass, outcomes=outcomes, source=source)


def _span(r: _Reader, table: Table, path: str, name: str, default: timedelta) -> timedelta:
    """A duration within its limits; the default if absent (or wrong, the problem being recorded)."""
    if name not in table:
        return default
    duration = r.duration(table, path, name)
    if duration is None:
        return default
    length = duration.after(_EPOCH) - _EPOCH
    shortest, longest = _ORGANISATION_LIMITS[f"{path}.{name}"]
    if not shortest <= length <= longest:
        r.problem(f"{path}.{name}", f"{_q(duration.text)} must be from {_human(shortest)} to {_human(longest)}")
        return default
    return length


def _human(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour{'s' if seconds != 3600 else ''}"
    if seconds % 60 == 0:
        return f"{seconds // 60} minute{'s' if seconds != 60 else ''}"
    return f"{seconds} seconds"


def _staff_sessions(r: _Reader, tree: Table) -> StaffSessionRules:
    defaults = StaffSessionRules()
    table = r.table(tree, "", "staff_sessions", required=False)
    if table is None:
        return defaults
    path = "staff_sessions"
    r.keys(table, path, _STAFF_SESSION_KEYS)
    rules = StaffSessionRules(
        idle_timeout=_span(r, table, path, "idle_timeout", defaults.idle_timeout),
        idle_warning=_span(r, table, path, "idle_warning", defaults.idle_warning),
        absolute_timeout=_span(r, table, path, "absolute_timeout", defaults.absolute_timeout),
        reauthenticate_within=_span(r, table, path, "reauthenticate_within", defaults.reauthenticate_within),
    )
    if rules.idle_warning >= rules.idle_timeout:
        # The warning must come while there is still time to act on it.
        r.problem(f"{path}.idle_warning", "must be shorter than idle_timeout")
    if rules.idle_timeout > rules.absolute_timeout:
        r.problem(f"{path}.idle_timeout", "must not be longer than absolute_timeout")
    return rules


def _break_glass(r: _Reader, tree: Table) -> BreakGlassRules:
    defaults = BreakGlassRules()
    table = r.table(tree, "", "break_glass", required=False)
    if table is None:
        return defaults
    path = "break_glass"
    r.keys(table, path, _BREAK_GLASS_KEYS)
    read_as = r.relations(table, path, "read_as") if "read_as" in table else defaults.read_as
    return BreakGlassRules(lasts=_span(r, table, path, "lasts", defaults.lasts),
                           read_as=defaults.read_as if read_as is None else read_as)


def _outcomes(r: _Reader, tree: Table) -> OutcomeRules:
    defaults = OutcomeRules()
    table = r.table(tree, "", "outcomes", required=False)
    if table is None:
        return defaults
    path = "outcomes"
    r.keys(table, path, _OUTCOME_KEYS)
    read = r.relations(table, path, "read") if "read" in table else defaults.read
    keep = r.duration(table, path, "keep", default=defaults.keep.text)
    return OutcomeRules(read=defaults.read if read is None else read, keep=keep or defaults.keep)
