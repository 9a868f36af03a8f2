"""The [service] and [consent] tables of a service policy: who the service is, and what people agree to."""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import urlsplit

from casefeedback.policy.model import CONSENT_CHOICES, Consent, ConsentChoice, Duration, Helpline
from casefeedback.policy.reader import Reader, Table, is_empty_list, quote

__all__ = ["ServiceSettings", "read_consent", "read_service"]

_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_PHONE = re.compile(r"\+?[0-9](?:[0-9 ]*[0-9])?")

_SERVICE_KEYS = ("id", "name", "languages", "exit_url", "draft_keep", "suppress_below", "helplines")
_HELPLINE_KEYS = ("name", "phone", "hours")
_CONSENT_KEYS = ("version", "intro", "choices", "read_out")
_CHOICE_KEYS = ("id", "required", "label")

_DEFAULT_DRAFT_KEEP = "P14D"
_DEFAULT_SUPPRESS_BELOW = 10


# --- [service] ---------------------------------------------------------------------------------


class ServiceSettings(NamedTuple):
    """The [service] table, checked; ``parse_policy`` folds it into the ``ServicePolicy``."""

    id: str
    name: dict[str, str]
    languages: tuple[str, ...]
    exit_url: str
    draft_keep: Duration
    suppress_below: int
    helplines: tuple[Helpline, ...]


def read_service(r: Reader, tree: Table) -> ServiceSettings | None:
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
    return ServiceSettings(service_id, name, r.languages, exit_url, draft_keep, suppress_below, helplines)


def _languages(r: Reader, service: Table) -> tuple[str, ...] | None:
    languages = r.strings(service, "service", "languages")
    if languages is None:
        return None
    ok = True
    for i, language in enumerate(languages):
        if not _LANGUAGE.fullmatch(language):
            r.problem(f"service.languages[{i}]", f'{quote(language)} is not a language code like "en" or "cy"')
            ok = False
        elif language in languages[:i]:
            r.problem(f"service.languages[{i}]", f"{quote(language)} is listed twice")
            ok = False
    if "en" not in languages:
        # English is the fallback every page can count on.
        r.problem("service.languages", 'must include "en"')
        ok = False
    return tuple(languages) if ok else None


def _exit_url(r: Reader, service: Table) -> str | None:
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
        r.problem("service.exit_url", f"{quote(url)} must be an https:// URL")
        return None
    return url


def _helplines(r: Reader, service: Table) -> tuple[Helpline, ...]:
    entries = r.tables(service, "service", "helplines")
    if is_empty_list(service.get("helplines")):
        r.problem("service.helplines", "must list at least one helpline")
    helplines: list[Helpline] = []
    for path, table in entries:
        r.keys(table, path, _HELPLINE_KEYS)
        name = r.text(table, path, "name")
        phone = r.string(table, path, "phone")
        hours = r.text(table, path, "hours", required=False)
        if phone is not None and not (_PHONE.fullmatch(phone) and 3 <= sum(c.isdigit() for c in phone) <= 15):
            r.problem(
                f"{path}.phone", f'{quote(phone)} is not a phone number; use digits and spaces, e.g. "116 123"'
            )
        helplines.append(Helpline(name=name or {}, phone=phone or "", hours=hours or {}))
    return tuple(helplines)


# --- [consent] ---------------------------------------------------------------------------------


def read_consent(r: Reader, tree: Table) -> Consent | None:
    consent = r.table(tree, "", "consent")
    if consent is None:
        return None
    r.keys(consent, "consent", _CONSENT_KEYS)
    version = r.integer(consent, "consent", "version", minimum=1)
    intro = r.text(consent, "consent", "intro")
    # Read out by staff taking feedback by phone or in person; the intro when absent.
    read_out = r.text(consent, "consent", "read_out", required=False)
    entries = r.tables(consent, "consent", "choices")
    choices: list[ConsentChoice] = []
    seen: dict[str, str] = {}
    for path, table in entries:
        choice = _consent_choice(r, path, table)
        if choice.id in seen:
            r.problem(f"{path}.id", f"{quote(choice.id)} is already used by {seen[choice.id]}")
        seen.setdefault(choice.id, path)
        choices.append(choice)
    if isinstance(consent.get("choices"), list) and "store" not in seen:
        # Invariant 4: nothing is stored before consent, so the gate must exist.
        r.problem("consent.choices", 'must include a choice with id "store"')
    if version is None or intro is None:
        return None
    return Consent(version=version, intro=intro, choices=tuple(choices), read_out=read_out or {})


def _consent_choice(r: Reader, path: str, table: Table) -> ConsentChoice:
    r.keys(table, path, _CHOICE_KEYS)
    choice_id = r.word(table, path, "id", CONSENT_CHOICES, "a consent choice")
    required = r.boolean(table, path, "required")
    label = r.text(table, path, "label")
    if choice_id == "store" and required is False:
        r.problem(f"{path}.required", '"store" must be required = true (nothing is stored without it)')
    elif choice_id is not None and choice_id != "store" and required:
        # Consent to anything beyond storing must be freely given, never a condition.
        r.problem(f"{path}.required", f'only "store" may be required; {quote(choice_id)} must stay optional')
    return ConsentChoice(id=choice_id or "", label=label or {}, required=bool(required))
