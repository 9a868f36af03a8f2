"""Read one policy file's TOML tree, recording every problem instead of stopping at the first.

A policy decides who may read a victim's words and when they are erased, so a
typo must never be guessed at or silently ignored. The ``Reader`` records each
problem against the exact dotted key and carries on. It knows the shapes of
values (ids, durations, texts in every language), never what any section of a
policy means; the section loaders do.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from casefeedback.policy.durations import parse_duration
from casefeedback.policy.model import RELATIONS, Duration, Question
from casefeedback.policy.problems import PolicyError, PolicyProblem

__all__ = [
    "EPOCH",
    "Declared",
    "Reader",
    "Table",
    "expected",
    "is_empty_list",
    "is_table_list",
    "parse_toml",
    "quote",
    "read_bytes",
]


Table = dict[str, object]

_ID = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_MISSING = object()
# No real retention period is longer; anything more is a typo (P200Y for P2Y).
_LONGEST = timedelta(days=366 * 100)
EPOCH = datetime(2000, 1, 1)  # only measures a duration's length


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise PolicyError([PolicyProblem(str(path), "(file)", f"cannot read: {error.strerror}")]) from None


def parse_toml(data: bytes, source: str) -> Table:
    """The TOML tree, or a PolicyError naming the file and the syntax problem."""
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise PolicyError([PolicyProblem(source, "(syntax)", f"not UTF-8 text ({error.reason})")]) from None
    except tomllib.TOMLDecodeError as error:
        raise PolicyError([PolicyProblem(source, "(syntax)", str(error))]) from None


def is_table_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def is_empty_list(value: object) -> bool:
    return isinstance(value, list) and not value


def quote(value: object) -> str:
    """Quote a value in messages the way TOML writes it."""
    return json.dumps(value, ensure_ascii=False)


def expected(values: Iterable[str]) -> str:
    listed = ", ".join(values)
    return f"expected one of: {listed}" if listed else "none are declared"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


@dataclass
class Declared:
    """Ids declared in the file, valid or not, so one mistake is reported once."""

    classes: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    question_ids: tuple[str, ...] = ()
    questions: dict[str, Question] = field(default_factory=dict)  # only those that loaded cleanly


class Reader:
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
        if not is_table_list(value):
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
            self.problem(_join(path, name), f"{quote(value)} is not {noun}; {expected(vocabulary)}")
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
            f"{quote(value)} is not a valid id; use 1 to 63 lowercase letters, digits, "
            '"_" or "-", starting with a letter',
        )
        return False

    def members(self, parent: Table, path: str, name: str, allowed: Collection[str],
                refusal: Callable[[str], str]) -> tuple[str, ...] | None:
        """A list of names each from ``allowed``, none twice; None (with a problem per bad entry, worded by
        ``refusal`` for one not allowed) if the list is missing, or any entry is wrong."""
        values = self.strings(parent, path, name)
        if values is None:
            return None
        key = _join(path, name)
        ok = True
        for i, value in enumerate(values):
            if value not in allowed:
                self.problem(f"{key}[{i}]", refusal(value))
                ok = False
            elif value in values[:i]:
                self.problem(f"{key}[{i}]", f"{quote(value)} is listed twice")
                ok = False
        return tuple(values) if ok else None

    def relations(self, parent: Table, path: str, name: str) -> tuple[str, ...] | None:
        return self.members(parent, path, name, RELATIONS,
                            lambda relation: f"{quote(relation)} is not a relation; {expected(RELATIONS)}")

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
            length = duration.after(EPOCH) - EPOCH
        except (OverflowError, ValueError):
            length = _LONGEST + _LONGEST
        if length > _LONGEST:
            self.problem(key, f"{quote(text)} is longer than 100 years")
            return None
        if positive and length <= timedelta(0):
            self.problem(key, f"{quote(text)} must be longer than zero")
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
                    f"{quote(language)} is not in service.languages ({', '.join(self.languages)})",
                )
                ok = False
            elif not isinstance(text, str) or not text.strip():
                self.problem(f"{key}.{language}", "must be a non-empty string")
                ok = False
        for language in self.languages or ():
            if language not in texts:
                self.problem(f"{key}.{language}", f"missing text for language {quote(language)}")
                ok = False
        return cast(dict[str, str], texts) if ok else None
