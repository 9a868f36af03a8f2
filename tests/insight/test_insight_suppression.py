"""Small numbers stay hidden: no figure under the threshold, and no differencing brings one back.

The strongest form of the differencing test: change only the suppressed cell
(3, then 9, then absent) and rebuild every report and export an analyst could
ask for — each team and all teams, each single month and every period. If any
figure anywhere depended on the hidden cell, some report would change. None
may, so no sum or difference of what is shown can recover it.
"""

from __future__ import annotations

import io
import itertools
import zipfile
from datetime import UTC, datetime

import pytest

from casefeedback.insight import suppression
from casefeedback.insight.counts import Scope
from casefeedback.insight.export import build_bundle
from casefeedback.insight.report import build
from casefeedback.storage.engine import read
from tests.insight.support import SERVICE, set_counts, team

MONTHS = ("2026-01", "2026-02", "2026-03")


def every_scope(teams):
    for team_id in (None, *teams):
        for first, last in itertools.combinations_with_replacement(MONTHS, 2):
            yield Scope(SERVICE, team_id, first, last)


def everything_shown(found, teams):
    policy = found.policies.services[SERVICE]
    seen = []
    with read(found.engine) as connection:
        for scope in every_scope(teams):
            seen.append(build(connection, policy, scope))
            bundle = build_bundle(connection, policy, scope, {t: t for t in teams}, seed=b"\x01" * 32,
                                  instance_id="test", now=datetime(2026, 4, 1, tzinfo=UTC))
            seen.append({k: v for k, v in bundle.files.items() if k.endswith(".csv")})
    return seen


def figures(report):
    for q in report.questions:
        yield q.total
        yield from (r.value for r in (*q.answers, *q.months))
    yield from (r.value for r in report.volumes)


@pytest.fixture
def teams(found):
    return [team(found, "North"), team(found, "South")]


def base(teams, hidden):
    north, south = teams
    counts = {}
    for month in MONTHS:
        for answer, n in (("yes", 40), ("sometimes", 12), ("no", 15)):
            counts[(SERVICE, north, month, "listened", answer)] = n
            counts[(SERVICE, south, month, "listened", answer)] = n + 5
        counts[(SERVICE, south, month, "treated", "4")] = 11
    del counts[(SERVICE, north, "2026-02", "listened", "no")]
    if hidden is not None:
        counts[(SERVICE, north, "2026-02", "listened", "no")] = hidden  # the cell to protect
    return counts


def test_no_report_or_export_changes_with_the_suppressed_cell(found, teams):
    set_counts(found, base(teams, 3))
    with_three = everything_shown(found, teams)
    set_counts(found, base(teams, 9))
    with_nine = everything_shown(found, teams)
    set_counts(found, base(teams, None))
    without = everything_shown(found, teams)
    assert with_three == with_nine == without
    # ...and the test can fail: at the threshold the cell is shown, and reports change.
    set_counts(found, base(teams, 10))
    assert everything_shown(found, teams) != without


def test_no_figure_is_ever_below_the_threshold_and_totals_add_up(found, teams):
    set_counts(found, base(teams, 3))
    policy = found.policies.services[SERVICE]
    with read(found.engine) as connection:
        for scope in every_scope(teams):
            report = build(connection, policy, scope)
            assert all(v is None or v >= policy.suppress_below for v in figures(report))
            for q in report.questions:
                # A total is exactly the sum of the cells beside it: it reveals nothing they do not.
                assert (q.total or 0) == sum(r.value or 0 for r in q.answers) == sum(r.value or 0 for r in q.months)


def test_the_hidden_cell_reads_as_suppressed_where_it_would_show(found, teams):
    north = teams[0]
    set_counts(found, base(teams, 3))
    policy = found.policies.services[SERVICE]
    with read(found.engine) as connection:
        report = build(connection, policy, Scope(SERVICE, north, "2026-02", "2026-02"))
    listened = next(q for q in report.questions if q.id == "listened")
    assert {r.key: r.value for r in listened.answers}["no"] is None
    assert {r.key: r.value for r in listened.answers}["yes"] == 40
    treated = next(q for q in report.questions if q.id == "treated")
    assert all(r.value is None for r in treated.answers)  # nothing at all reads the same as "a few"


def test_the_export_lists_only_published_counts(found, teams):
    set_counts(found, base(teams, 3))
    policy = found.policies.services[SERVICE]
    with read(found.engine) as connection:
        bundle = build_bundle(connection, policy, Scope(SERVICE, None, "2026-01", "2026-03"),
                              dict(zip(teams, ("North", "South"), strict=True)), seed=b"\x02" * 32,
                              instance_id="test", now=datetime(2026, 4, 1, tzinfo=UTC))
    csv_text = bundle.files["insight.csv"].decode()
    counts = [line.rsplit(",", 1)[1] for line in csv_text.splitlines()[1:]]
    published = [int(n) for n in counts if n != "suppressed"]
    assert published and min(published) >= policy.suppress_below
    assert "North,2026-02,listened,no,suppressed" in csv_text  # 3 answers: a missing value, not a number
    with zipfile.ZipFile(io.BytesIO(bundle.zip_bytes())) as archive:
        assert sorted(archive.namelist()) == ["answers.csv", "datapackage.json", "datapackage.json.sig",
                                              "insight.csv", "questions.csv"]


def test_rates_need_both_parts_over_the_threshold():
    pairs = {"a": (12, 30), "b": (25, 30), "c": (3, 40)}
    assert suppression.publish_pairs(pairs, 10) == {"a": (12, 30)}
    assert suppression.shown(0, 10) is None and suppression.shown(10, 10) == 10
