"""``[backups]`` and ``[keys]`` in organisation.toml: the cadences that set the erasure horizon."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casefeedback.policy import PolicyError
from casefeedback.policy.organisation_loader import load_organisation_file, parse_organisation
from tests.conftest import POLICIES


def test_the_defaults_are_a_daily_backup_kept_35_days_and_a_key_changed_every_30() -> None:
    rules = parse_organisation(b"", "organisation.toml")
    assert rules.backups.every == timedelta(days=1) and rules.backups.keep == timedelta(days=35)
    assert rules.keys.rotate_every == timedelta(days=30)


def test_the_shipped_file_declares_the_defaults() -> None:
    shipped = load_organisation_file(POLICIES / "organisation.toml")
    assert shipped.backups == parse_organisation(b"", "x").backups and shipped.keys == parse_organisation(b"", "x").keys


def test_a_database_re_key_is_off_unless_declared() -> None:
    assert parse_organisation(b"", "o").keys.rekey_database_every is None
    declared = parse_organisation(b'[keys]\nrekey_database_every = "P90D"\n', "o").keys
    assert declared.rekey_database_every == timedelta(days=90) and declared.rotate_every == timedelta(days=30)


def test_declared_values_are_read() -> None:
    rules = parse_organisation(b'[backups]\nevery = "PT6H"\nkeep = "P14D"\n[keys]\nrotate_every = "P7D"\n', "o")
    assert rules.backups.every == timedelta(hours=6) and rules.backups.keep == timedelta(days=14)
    assert rules.keys.rotate_every == timedelta(days=7)


@pytest.mark.parametrize(("text", "problem"), [
    (b'[backups]\nkeep = "P400D"\n', 'backups.keep: "P400D" must be from 24 hours to 366 days'),
    (b'[backups]\nevery = "PT10M"\n', 'backups.every: "PT10M" must be from 1 hour to 7 days'),
    (b'[backups]\nevery = "P7D"\nkeep = "P2D"\n', "backups.keep: must not be shorter than backups.every"),
    (b'[keys]\nrotate_every = "P0D"\n', "keys.rotate_every"),
    (b'[keys]\nrotate = "P30D"\n', "keys.rotate: unknown key; expected one of: rotate_every, rekey_database_every"),
    (b'[keys]\nrekey_database_every = "P1D"\n', 'keys.rekey_database_every: "P1D" must be from 7 days to'),
])
def test_mistakes_are_refused_by_name(text: bytes, problem: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_organisation(text, "o")
    assert problem in str(raised.value)
