"""Welsh and English for every page a member of the public sees (the front page, and everything under /feedback).

Flask-Babel with gettext catalogs in ``casefeedback/translations/`` (see
``scripts/translations``). Words in code and templates are written in English
and wrapped in ``_()``; policy texts come translated in the policy itself and
are shown with ``t(text)``.

The language is chosen by a plain link (``?lang=cy``) that stores the choice in
the session and redirects to the same page without the query, so nothing but
the page's own address stays in the browser's history. Staff pages stay in
English: their templates are not translated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import flask_babel  # type: ignore[import-untyped]
from flask import Flask, redirect, request, session
from werkzeug.wrappers import Response

from casefeedback.policy.model import ServicePolicy, Text

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
# Languages with a complete catalog of the interface's words; English is the source.
UI_LANGUAGES: tuple[str, ...] = ("en", "cy")
# Each language named in itself, as a switcher must (a Welsh speaker looks for "Cymraeg").
LANGUAGE_NAMES = {"en": "English", "cy": "Cymraeg"}
PUBLIC_PREFIX = "/feedback"
# The front page's door and the page behind it (intake/front.py).
FRONT_PAGES = ("/", "/start")


def _public_page() -> bool:
    return request.path in FRONT_PAGES or request.path.startswith(PUBLIC_PREFIX)


def _(message: str, **variables: Any) -> str:
    """Translate a message into the page's language (newstyle: ``%(name)s`` placeholders)."""
    return str(flask_babel.gettext(message, **variables))


def _page_translations() -> Any:
    """The catalog for the locale in force, found once per locale per request.

    Kept beside Flask-Babel's own state for the request and tied to the very
    locale object it was found for, so ``force_locale`` (a handout in each
    language on one page) and a language switch still get the right words.
    """
    state = flask_babel._get_current_context()  # Flask-Babel's per-request namespace
    if state is None:
        return flask_babel.get_translations()
    locale = getattr(state, "babel_locale", None)
    kept = getattr(state, "casefeedback_catalog", None)
    if locale is not None and kept is not None and kept[0] is locale:
        return kept[1]
    translations = flask_babel.get_translations()
    state.casefeedback_catalog = (getattr(state, "babel_locale", None), translations)
    return translations


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    return str(flask_babel.ngettext(singular, plural, num, **variables))


def current_language() -> str:
    locale = flask_babel.get_locale()
    return str(locale.language) if locale is not None else "en"


def translate(text: Text, language: str | None = None) -> str:
    """A policy text in the page's language, falling back to English."""
    chosen = language or current_language()
    return text.get(chosen) or text.get("en") or ""


def offered_languages(policy: ServicePolicy | None) -> list[str]:
    """Languages a page can be shown in: the interface's, narrowed to the policy's."""
    if policy is None:
        return list(UI_LANGUAGES)
    return [language for language in policy.languages if language in UI_LANGUAGES]


def _policy_for_request() -> ServicePolicy | None:
    from casefeedback.services import services

    service_id = (request.view_args or {}).get("service_id")
    return services().policies.service(service_id) if isinstance(service_id, str) else None


def select_language() -> str:
    if not _public_page():
        return "en"
    allowed = offered_languages(_policy_for_request())
    chosen = session.get("language")
    if chosen in allowed:
        return str(chosen)
    return request.accept_languages.best_match(allowed) or "en"


# What may stay as it is in a path (RFC 3986 pchar and "/"); everything else is percent-encoded.
_PATH_SAFE = "/-._~!$&'()*+,;=:@"


def _this_path() -> str:
    """This page's path, percent-encoded again as it may go into a header or a link.

    ``request.path`` is decoded: ``/feedback/%0Ax`` gives a real line feed, which
    would split a Location header (Werkzeug refuses it, as a 500) and ``%25``
    would come back as a bare ``%``. Encoding it again gives the address the
    browser asked for, harmless whatever it holds.
    """
    return quote(request.path, safe=_PATH_SAFE)


def language_url(code: str, path: str | None = None) -> str:
    """The link that shows ``path`` (default: this page) in another language."""
    if path is None:
        here, kept = _this_path(), request.args.getlist("change")
    else:
        parts = urlsplit(path)
        here, kept = parts.path, [value for key, value in parse_qsl(parts.query) if key == "change"]
    query = [("change", value) for value in kept] + [("lang", code)]
    return urlunsplit(("", "", here, urlencode(query), ""))


def _switch_language() -> Response | None:
    """``GET ...?lang=cy``: remember the choice, then show the same page without the query."""
    if request.method != "GET" or "lang" not in request.args or not _public_page():
        return None
    wanted = request.args["lang"]
    if wanted in UI_LANGUAGES:
        session["language"] = wanted
    # Only the one flag the journey puts in a query is kept; nothing else is carried over.
    return redirect(_this_path() + ("?change=1" if request.args.get("change") == "1" else ""), code=303)


def install(app: Flask) -> None:
    # Whitespace inside {% trans %} blocks is collapsed, so templates can wrap
    # long sentences without changing the message ids in the catalog.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    flask_babel.Babel(app, locale_selector=select_language,
                      default_translation_directories=str(TRANSLATIONS))
    # Flask-Babel's own callables find the domain, the locale and its catalog again on every _() in a
    # template (a dozen context lookups each, some 13 times a page); these keep the catalog found first.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
        gettext=lambda message: _page_translations().ugettext(message),
        ngettext=lambda singular, plural, n: _page_translations().ungettext(singular, plural, n),
        pgettext=lambda context, message: _page_translations().upgettext(context, message),
        npgettext=lambda context, singular, plural, n: _page_translations().unpgettext(context, singular, plural,
                                                                                       n),
        newstyle=True)
    app.before_request(_switch_language)

    # Globals, so that macros imported without context can use them too.
    for name, helper in (("t", translate), ("offered_languages", offered_languages),
                         ("language_url", language_url)):
        app.add_template_global(helper, name)
    app.jinja_env.globals["language_names"] = LANGUAGE_NAMES

    @app.context_processor
    def _page_language() -> dict[str, Any]:
        return {"page_language": current_language()}
