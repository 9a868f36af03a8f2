"""The alert notices macro says only what there is to say: a rule with no words of its own and nobody who
can be told (anonymous feedback, a rule that escalates to case relations only) adds no empty block."""

from __future__ import annotations

from flask import Flask

from casefeedback.wording import AlertNotice


def _render(app: Flask, notices: list[AlertNotice], *, sent: bool) -> str:
    with app.test_request_context("/"):
        macros = app.jinja_env.get_template("intake/_macros.html").module
        return str(macros.alert_notices(notices, sent=sent))  # type: ignore[attr-defined]


def test_a_notice_with_nothing_to_say_adds_no_block_but_the_shared_lines_stay(app: Flask) -> None:
    silent = AlertNotice(message="", first=(), then=(), within="1 hour", anonymous=True)
    html = _render(app, [silent], sent=False)
    assert "notice-block" not in html
    assert "not linked to a caseworker" in html and "We do not know who you are" in html


def test_a_notice_with_words_or_someone_to_tell_has_its_block(app: Flask) -> None:
    worded = AlertNotice(message="We take this seriously.", first=(), then=(), within="1 hour", anonymous=True)
    routed = AlertNotice(message="", first=("your caseworker",), then=("their team leader",), within="1 hour",
                         anonymous=False)
    html = _render(app, [worded, routed], sent=True)
    assert html.count('class="notice-block"') == 2
    assert "We take this seriously." in html and "We are telling your caseworker now." in html
