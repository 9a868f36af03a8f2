"""Every word people read is translatable, and Welsh is complete; the compiled catalogs match their sources.

Decision: both the .po (what translators edit) and the compiled .mo (what the
app loads) are committed, so a fresh clone runs with no build step; these tests
fail when a word is untranslated or a .mo was not recompiled
(`scripts/translations` does both).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "casefeedback" / "translations"
LANGUAGES = ["cy"]


def extracted() -> Catalog:
    """The words in code and templates right now, exactly as `scripts/translations extract` finds them."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    catalog = Catalog()
    for _file, line, message, comments, context in extract_from_dir(str(ROOT), method_map, options_map):
        catalog.add(message, None, [(_file, line)], auto_comments=comments, context=context)
    return catalog


def po(language: str) -> Catalog:
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_word_is_translated(language):
    catalog = po(language)
    missing = []
    for message in extracted():
        if not message.id:
            continue
        found = catalog.get(message.id)
        strings = () if found is None else (found.string if isinstance(found.string, tuple) else (found.string,))
        if found is None or found.fuzzy or not strings or not all(strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    assert not missing, (f"{len(missing)} words have no {language} translation; run scripts/translations and "
                         "translate them in casefeedback/translations/{language}/LC_MESSAGES/messages.po:\n  "
                         + "\n  ".join(missing))


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_every_placeholder_and_tag(language):
    problems = []
    for message in po(language):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\(\w+\)[sd]", " ".join(ids)))
        tags = sorted(re.findall(r"</?a\b", ids[0]))
        for string in strings:
            if set(re.findall(r"%\(\w+\)[sd]", string)) - wanted or sorted(re.findall(r"</?a\b", string)) != tags:
                problems.append(ids[0])
            # A one-form translation may leave the number out ("unwaith"); a named value must stay.
            named = {p for p in wanted if not p.startswith(("%(num)", "%(count)"))}
            if not named <= set(re.findall(r"%\(\w+\)[sd]", string)):
                problems.append(ids[0])
    assert not problems, problems


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_matches_its_source(language):
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    with (folder / "messages.mo").open("rb") as compiled:
        mo = read_mo(compiled)
    source = po(language)
    def plain(value):
        return tuple(value) if isinstance(value, (list, tuple)) else value

    as_compiled = {plain(m.id): plain(m.string) for m in mo if m.id}
    as_written = {plain(m.id): plain(m.string) for m in source if m.id and m.string and not m.fuzzy}
    assert as_compiled == as_written, "the .mo is out of date: run scripts/translations compile"


TEMPLATE_DIRS = [ROOT / "templates" / "intake"]


def bare_words(template: str) -> list[str]:
    """Text in a template that is not inside _(), {% trans %}, a tag, an expression or a comment."""
    text = re.sub(r"\{#.*?#\}", " ", template, flags=re.S)
    text = re.sub(r"\{%\s*trans\b.*?\{%\s*endtrans\s*%\}", " ", text, flags=re.S)
    text = re.sub(r"\{%\s*set\s+\w+\s*%\}.*?\{%\s*endset\s*%\}", " ", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", text, flags=re.S)
    text = re.sub(r"<script\b.*?</script>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text, flags=re.S)
    return [word for word in re.findall(r"[^\W\d_]{2,}", text)]


@pytest.mark.parametrize("template", sorted(p for d in TEMPLATE_DIRS for p in d.glob("*.html")),
                         ids=lambda p: p.name)
def test_no_word_in_an_intake_template_escapes_translation(template):
    assert bare_words(template.read_text(encoding="utf-8")) == []


def test_the_check_for_bare_words_would_notice_one():
    assert bare_words("<p>{{ _('Fine') }} Oops</p>") == ["Oops"]
