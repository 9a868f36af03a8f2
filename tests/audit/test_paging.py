"""The auditor's log at scale: pages of 50 with a count, dates checked in the page, detail people can read."""

from __future__ import annotations

import re

import pytest

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.storage.engine import write

HOLDS = f"action={Action.LEGAL_HOLD_SET.value}"


def log_events(found, count: int, action: Action = Action.LEGAL_HOLD_SET, **detail) -> None:
    with write(found.engine) as connection:
        for i in range(count):
            found.audit.append(connection, AuditEvent(action=action, outcome="success", object_type="case",
                                                      object_id=f"case-{i:03}", detail={"n": i, **detail}))


@pytest.fixture
def auditor(client, found, staff_factory, auth):
    _, name, password = staff_factory("auditor")
    auth.sign_in(name, password)
    return client


def rows_in(body: str) -> int:
    return body.split("<tbody>", 1)[1].split("</tbody>", 1)[0].count("<tr")


def links(body: str, rel: str) -> list[str]:
    return [href.replace("&amp;", "&") for href in re.findall(rf'<a href="([^"]+)" rel="{rel}"', body)]


def get(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def test_pages_of_fifty_with_a_count_and_links_that_keep_the_filters(auditor, found):
    log_events(found, 120)
    first = get(auditor, f"/audit/?{HOLDS}")
    assert rows_in(first) == 50 and "Events 1–50 of 120" in first
    assert "case-119" in first and "case-070" in first and "case-069" not in first  # newest first
    assert not links(first, "prev")
    (following,) = links(first, "next")
    assert HOLDS in following and "page=2" in following
    second = get(auditor, following)
    assert rows_in(second) == 50 and "Events 51–100 of 120" in second and "case-069" in second
    third = get(auditor, links(second, "next")[0])
    assert rows_in(third) == 20 and "Events 101–120 of 120" in third and "case-000" in third
    assert not links(third, "next")
    (back,) = links(third, "prev")
    assert HOLDS in back and "page=2" in back


def test_events_logged_while_paging_do_not_shift_the_pages(auditor, found):
    log_events(found, 60)
    (following,) = links(get(auditor, f"/audit/?{HOLDS}"), "next")
    log_events(found, 5, n_later=True)
    second = get(auditor, following)
    assert "Events 51–60 of 60" in second and "case-000" in second
    assert "Events 1–50 of 65" in get(auditor, f"/audit/?{HOLDS}")


def test_a_page_past_the_end_shows_the_last_page(auditor, found):
    log_events(found, 55)
    assert "Events 51–55 of 55" in get(auditor, f"/audit/?{HOLDS}&page=9")
    assert "Events 1–50 of 55" in get(auditor, f"/audit/?{HOLDS}&page=-3")


def test_flagged_only_is_counted_and_paged_too(auditor, found):
    log_events(found, 70, action=Action.BREAK_GLASS_OPEN, reason="urgent safeguarding")
    first = get(auditor, "/audit/?flagged=1")
    assert rows_in(first) == 50 and "Events 1–50 of 70" in first
    (following,) = links(first, "next")
    assert "flagged=1" in following
    assert rows_in(get(auditor, following)) == 20


def test_a_date_that_is_not_a_date_is_explained_in_the_page(auditor):
    body = get(auditor, "/audit/?since=30%2F11%2F2026&staff=someone", status=400)
    assert "<title>Error: Audit log" in body
    assert 'class="error-summary"' in body and 'href="#since"' in body
    assert "Enter the &#39;from&#39; date as YYYY-MM-DD, for example 2026-11-30" in body
    assert '<span class="visually-hidden">Error:</span>' in body
    assert 'value="30/11/2026"' in body and 'value="someone"' in body  # what was typed is kept
    assert "<tbody>" not in body


def test_a_to_date_before_the_from_date_is_an_error(auditor):
    body = get(auditor, "/audit/?since=2026-11-30&until=2026-11-01", status=400)
    assert "The &#39;to&#39; date must be on or after the &#39;from&#39; date" in body
    assert 'href="#until"' in body and 'value="2026-11-01"' in body
    assert "Error:" in body and get(auditor, "/audit/?since=2026-11-30&until=2026-11-30")


def test_typed_markup_is_escaped_in_the_form(auditor):
    body = get(auditor, "/audit/?since=<script>alert(1)</script>", status=400)
    assert "<script>alert(1)" not in body and "&lt;script&gt;" in body


def test_detail_reads_as_key_value_lines_and_is_escaped(auditor, found):
    log_events(found, 1, reason="<script>alert(1)</script>", counts={"fields": 3}, ids=["a", "b"], urgent=True)
    body = get(auditor, f"/audit/?{HOLDS}")
    table = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert '{"' not in table and "{&#34;" not in table
    assert "<li>n: 0</li>" in table and "<li>counts.fields: 3</li>" in table
    assert "<li>ids: a, b</li>" in table and "<li>urgent: yes</li>" in table
    assert "<script>" not in body and "reason: &lt;script&gt;alert(1)&lt;/script&gt;" in table
