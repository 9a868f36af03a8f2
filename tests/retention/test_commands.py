"""`casefeedback purge` and `casefeedback legal-hold` from the command line: counts, and clear refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from casefeedback.cli import main
from tests.retention.conftest import seed_case, seed_submission, settled_digest

ALL = {"treated": "2", "listened": "yes", "anything_else": "words"}


@pytest.fixture
def cli(found, monkeypatch):
    monkeypatch.setenv("CASEFEEDBACK_INSTANCE", str(found.config.instance_dir))
    monkeypatch.setenv("CASEFEEDBACK_POLICIES", str(found.config.policies_dir))
    return CliRunner()


def digest(found) -> str:
    return settled_digest(found)


def test_purge_prints_counts_by_service_and_class(found, cli):
    for _ in range(2):
        seed_submission(found, ALL, at=found.clock().replace(year=2020))
    dry = cli.invoke(main, ["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing was erased" in dry.output
    assert "victim-support           rating                   2        2" in dry.output
    assert "victim-support           narrative                2        2" in dry.output
    assert "6 answer(s) under 6 data key(s) of 2 submission(s) would be erased" in dry.output
    real = cli.invoke(main, ["purge"])
    assert real.exit_code == 0 and "6 answer(s) under 6 data key(s) of 2 submission(s) were erased" in real.output
    assert "Nothing is due." in cli.invoke(main, ["purge", "--dry-run"]).output


def test_future_dates_are_only_for_a_dry_run(found, cli):
    seed_submission(found, ALL)
    preview = cli.invoke(main, ["purge", "--dry-run", "--as-of", "2029-01-01"])
    assert preview.exit_code == 0 and "would be erased" in preview.output and "Purge as of 2029-01-01" in \
        preview.output
    before = digest(found)
    refused = cli.invoke(main, ["purge", "--as-of", "2029-01-01"])
    assert refused.exit_code == 1 and "in the future" in refused.output and "before their time" in refused.output
    assert digest(found) == before


def test_as_of_before_the_last_purge_is_refused_with_nothing_changed(found, cli):
    assert cli.invoke(main, ["purge"]).exit_code == 0
    before = digest(found)
    for args in (["purge", "--as-of", "2020-01-01"], ["purge", "--dry-run", "--as-of", "2020-01-01"]):
        refused = cli.invoke(main, args)
        assert refused.exit_code == 1 and "before the last purge" in refused.output, refused.output
        assert "Traceback" not in refused.output
    assert digest(found) == before


@pytest.mark.parametrize("text, message", [("31/01/2026", "is not a date"), ("2026-02-30", "is not a date"),
                                           ("2026-01-31T10:00:00", "has no time zone")])
def test_a_bad_date_is_refused(cli, text, message):
    result = cli.invoke(main, ["purge", "--dry-run", "--as-of", text])
    assert result.exit_code == 1 and message in result.output


def test_legal_hold_commands(found, cli):
    case_id = seed_case(found)
    seed_submission(found, ALL, case_id=case_id, at=found.clock().replace(year=2020))
    from casefeedback.retention.hold_reading import listing

    held = cli.invoke(main, ["legal-hold", "set", case_id, "--reason", "Solicitor's letter 2026/14"])
    assert held.exit_code == 0, held.output
    # No --review-by: as late as [legal_hold] review_within allows (P6M from today; the command's clock is real).
    latest = found.policies.organisation.legal_hold.review_within.after(datetime.now(UTC)).date().isoformat()
    assert f"review it by {latest}" in held.output
    assert f"review by {latest}" in cli.invoke(main, ["legal-hold", "list"]).output
    dry = cli.invoke(main, ["purge", "--dry-run"])
    # rating and experience (P2Y after sending); narrative waits for the case to close anyway
    assert "Kept because of legal hold: 2 data key(s) on 1 case(s)." in dry.output
    assert f"answer(s) under 2 data key(s), 0 outcome(s); review by {latest}" in dry.output
    twice = cli.invoke(main, ["legal-hold", "set", case_id, "--reason", "again"])
    assert twice.exit_code == 1 and "already on legal hold" in twice.output
    sooner = (datetime.now(UTC) + timedelta(days=45)).date().isoformat()
    reviewed = cli.invoke(main, ["legal-hold", "review", case_id, "--review-by", sooner, "--note", "Appeal"])
    assert reviewed.exit_code == 0 and f"next review by {sooner}" in reviewed.output
    too_far = cli.invoke(main, ["legal-hold", "review", case_id, "--review-by", "2030-01-01", "--note", "x"])
    assert too_far.exit_code == 1 and "at least every P6M" in too_far.output
    assert cli.invoke(main, ["legal-hold", "release", case_id, "--reason", "Settled"]).exit_code == 0
    assert listing(found)[0] == [] and len(listing(found)[1]) == 1
    none = cli.invoke(main, ["legal-hold", "release", case_id, "--reason", "x"])
    assert none.exit_code == 1 and "is not on legal hold" in none.output
    unknown = cli.invoke(main, ["legal-hold", "set", "no-such-case", "--reason", "x"])
    assert unknown.exit_code == 1 and "No case has the reference 'no-such-case'" in unknown.output
    bad_date = cli.invoke(main, ["legal-hold", "set", case_id, "--reason", "x", "--review-by", "soon"])
    assert bad_date.exit_code == 1 and "is not a date" in bad_date.output
