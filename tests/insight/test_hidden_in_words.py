"""A hidden figure is explained in words with the policy's real threshold: "Hidden" in the cell, why once per
table, one sentence for a table with nothing shown, and words instead of a chart with nothing to draw."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from casefeedback import create_app
from casefeedback.insight import charts, hidden
from casefeedback.insight.report import Row
from casefeedback.services import Services
from tests.conftest import POLICIES, AuthActions, Clock, StaffFactory, make_config
from tests.insight.support import SERVICE, set_counts

PERIOD = "from=2026-01&to=2026-03"
MONTHS = ("2026-01", "2026-02", "2026-03")


@pytest.fixture
def threshold_five(tmp_path: Path) -> Iterator[Flask]:
    """An app whose service declares a threshold of 5, not the shipped 10: the words must follow the policy."""
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    path = policies / "victim-support.toml"
    text = path.read_text(encoding="utf-8")
    assert "suppress_below = 10" in text
    path.write_text(text.replace("suppress_below = 10", "suppress_below = 5"), encoding="utf-8")
    app = create_app(make_config(tmp_path / "instance", policies_dir=policies), clock=Clock())
    yield app
    app.extensions["casefeedback"].engine.dispose()


def analyst_page(app: Flask, query: str = PERIOD) -> str:
    found: Services = app.extensions["casefeedback"]
    _, name, password = StaffFactory(found)("analyst")
    auth = AuthActions(app.test_client())
    auth.sign_in(name, password)
    response = auth.client.get(f"/insight/?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(page: str, title_id: str) -> str:
    start = page.index(f'id="{title_id}"')
    end = page.find("<section", start)
    return page[start:end if end != -1 else len(page)]


def test_hidden_cells_say_hidden_and_each_table_says_why_once_with_the_policys_threshold(threshold_five):
    found: Services = threshold_five.extensions["casefeedback"]
    counts = {(SERVICE, "", m, "listened", "yes"): 30 for m in MONTHS}
    counts[(SERVICE, "", "2026-01", "listened", "yes")] = 4  # under 5: hidden, and so is January
    counts[(SERVICE, "", "2026-02", "listened", "no")] = 3
    counts[(SERVICE, "", "2026-03", "listened", "no")] = 6
    set_counts(found, counts)
    page = analyst_page(threshold_five)
    listened = page[page.index('id="q-listened"'):page.index('id="q-informed"')]
    note = "Fewer than 5 people (the threshold declared in this service&#39;s policy), possibly none"
    assert listened.count(note) == 2  # the answers table and the per-month table, once each
    assert listened.count('<span class="insight-hidden">Hidden</span>') >= 2
    assert "<td>6</td>" in listened and not re.search(r">\s*[34]\s*<", listened)
    assert "Fewer than 10" not in page


def test_a_table_with_nothing_shown_is_one_sentence_and_an_empty_chart_is_words(threshold_five):
    found: Services = threshold_five.extensions["casefeedback"]
    set_counts(found, {(SERVICE, "", m, "listened", "yes"): 30 for m in MONTHS})  # answers, but no submissions
    page = analyst_page(threshold_five)
    received = section(page, "volumes-title")
    assert "No feedback in this period yet." in received and "fewer than 5 people" in received
    assert "<svg" not in received and "<table" not in received
    consent = section(page, "consent-title")
    assert "Nothing to show here yet: every month in this period had fewer than 5 people" in consent
    assert "<table" not in consent
    informed = page[page.index('id="q-informed"'):page.index('id="q-easy_to_reach"')]
    assert "No answers in this period yet." in informed and "<svg" not in informed and "<table" not in informed


def test_an_empty_instance_says_so_instead_of_drawing_bare_axes(app, found, staff_factory, auth):
    _, name, password = staff_factory("analyst")
    auth.sign_in(name, password)
    page = auth.client.get("/insight/").get_data(as_text=True)
    assert "No feedback in this period yet." in page
    assert "<svg" not in page and 'class="chart-axis"' not in page
    # agreeing to share; alerts; by channel; failure demand; the voice of staff
    assert page.count("Nothing to show here yet") == 5


def test_charts_draw_only_what_is_shown_and_words_when_nothing_is():
    rows = [Row("2026-01", "2026-01", 40), Row("2026-02", "2026-02", None), Row("2026-03", "2026-03", 25)]
    drawn = str(charts.columns(rows, "Per month", 10))
    assert drawn.startswith("<svg") and drawn.count('class="chart-bar"') == 2
    assert "hidden: fewer than 10" in drawn
    bars = str(charts.bars([Row("yes", "Yes", 40), Row("no", "No", None)], "Listened", 10))
    assert "Hidden (fewer than 10)" in bars and bars.count('class="chart-bar"') == 1
    line = str(charts.trend(rows, [4.2, None, 3.1], (1, 5), "Average rating", 10))
    assert line.count('class="chart-point"') == 2 and "<polyline" not in line  # a hidden month breaks the line
    joined = str(charts.trend(rows, [4.2, 4.0, 3.1], (1, 5), "Average rating", 10))
    assert joined.count("<polyline") == 1
    for empty in (charts.columns([Row("2026-01", "2026-01", None)], "t", 7),
                  charts.bars([Row("yes", "Yes", None)], "t", 7),
                  charts.trend([Row("2026-01", "2026-01", None)], [None], (1, 5), "t", 7)):
        assert str(empty).startswith('<p class="chart-empty">') and "<svg" not in str(empty)
        assert "fewer than 7 people" in str(empty)
    assert hidden.every([]) and hidden.every([None]) and not hidden.every([None, 3]) and hidden.some([None, 3])
