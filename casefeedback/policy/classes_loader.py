"""The [classes] and [sections] tables: who reads each kind of answer, how long it is kept, how it is grouped."""

from __future__ import annotations

from typing import cast

from casefeedback.policy.model import (
    INSIGHT_USES,
    REPLY_CLASS,
    RETENTION_EVENTS,
    Duration,
    FieldClass,
    InsightUse,
    Retention,
    RetentionEvent,
    Section,
)
from casefeedback.policy.reader import Declared, Reader, Table

__all__ = ["read_classes", "read_sections"]

_CLASS_KEYS = ("description", "retention", "read", "insight", "write")
_RETENTION_KEYS = ("keep", "after")
_SECTION_KEYS = ("title", "sensitive", "warning")


# --- [classes] ---------------------------------------------------------------------------------


def read_classes(r: Reader, tree: Table, declared: Declared) -> dict[str, FieldClass]:
    table = r.table(tree, "", "classes")
    if table is None:
        return {}
    if not table:
        r.problem("classes", "must declare at least one class")
    # The classes an answer may belong to: the reply class is written by staff, never by a question.
    declared.classes = tuple(c for c in table if c != REPLY_CLASS)
    classes: dict[str, FieldClass] = {}
    for class_id, raw in table.items():
        path = f"classes.{class_id}"
        r.check_id(class_id, path)
        if not isinstance(raw, dict):
            r.problem(path, "must be a table")
            continue
        classes[class_id] = _field_class(r, path, class_id, cast(Table, raw))
    return classes


def _field_class(r: Reader, path: str, class_id: str, table: Table) -> FieldClass:
    r.keys(table, path, _CLASS_KEYS)
    description = r.text(table, path, "description")
    retention = _retention(r, table, path)
    read = r.relations(table, path, "read")
    insight = r.word(table, path, "insight", INSIGHT_USES, "an insight use", default="none")
    write = _reply_rules(r, path, class_id, table, insight)
    return FieldClass(
        id=class_id,
        description=description or {},
        retention=retention or Retention(Duration(), "submitted"),
        read=read or (),
        insight=cast(InsightUse, insight or "none"),
        write=write,
    )


def _reply_rules(r: Reader, path: str, class_id: str, table: Table, insight: str | None) -> tuple[str, ...]:
    """``write`` belongs to the reply class alone: every other class is written by the person, never by staff."""
    if class_id != REPLY_CLASS:
        if "write" in table:
            r.problem(f"{path}.write", f'only [classes.{REPLY_CLASS}] is written by staff; remove "write"')
        return ()
    if insight == "aggregate":
        # A reply is staff's words to one person: counting them says nothing about what people told us.
        r.problem(f"{path}.insight", 'must be "none": replies are never counted as insight')
    write = r.relations(table, path, "write")
    return write or ()


def _retention(r: Reader, parent: Table, path: str) -> Retention | None:
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


# --- [sections] --------------------------------------------------------------------------------


def read_sections(r: Reader, tree: Table, declared: Declared) -> dict[str, Section]:
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


def _section(r: Reader, path: str, section_id: str, table: Table) -> Section:
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
