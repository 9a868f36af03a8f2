"""Retention destroys data keys first and removes the ciphertext afterwards; the worker removes any
ciphertext a stopped purge left; a withdrawal still removes keys and ciphertext together, at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from casefeedback.retention import ciphertext, ledger
from casefeedback.retention.erasure import withdraw
from casefeedback.retention.purge import purge
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import answers, data_keys, erased_keys
from casefeedback.worker.job import Idle
from casefeedback.worker.registry import jobs
from casefeedback.worker.scheduler import run_job
from tests.retention.conftest import seed_submission
from tests.retention.sending import stored

ALL = {"treated": "2", "listened": "yes", "safe_now": "no", "anything_else": "words", "safer": "more words"}


def sweep_job():
    return next(job for job in jobs() if job.id == "retention.ciphertext_sweep")


def test_keys_go_first_unreadable_at_once_and_the_rows_follow(found, clock, monkeypatch):
    due = seed_submission(found, ALL, at=clock.now - timedelta(days=3 * 366))
    kept = seed_submission(found, ALL)
    seen = {}
    remove = ciphertext.remove

    def between(found_, key_ids, pacer=None, replies=None):
        seen["between"] = stored(found, [due, kept])
        return remove(found_, key_ids, pacer, replies)

    monkeypatch.setattr(ciphertext, "remove", between)
    report = purge(found, clock.now)
    # Between the steps: no key, the five rows still there, and not one a reader can reach.
    assert seen["between"] == {due: (0, 5, 0), kept: (4, 5, 5)}
    assert stored(found, [due, kept]) == {due: (0, 0, 0), kept: (4, 5, 5)}
    assert report.ciphertext_removed == 5 and report.fields == 5


def crash_before_the_sweep(monkeypatch):
    def stopped(*_args, **_kwargs):
        raise RuntimeError("the purge stopped here")

    monkeypatch.setattr(ciphertext, "remove", stopped)


def test_the_sweep_job_removes_the_ciphertext_a_stopped_purge_left(found, clock, monkeypatch):
    due = [seed_submission(found, ALL, at=clock.now - timedelta(days=3 * 366)) for _ in range(3)]
    kept = seed_submission(found, ALL)
    crash_before_the_sweep(monkeypatch)
    with pytest.raises(RuntimeError):
        purge(found, clock.now)
    monkeypatch.undo()
    assert set(stored(found, due).values()) == {(0, 5, 0)}  # keys destroyed: unreadable, rows left
    # The erasure is on record, in the table and (appended after each commit) the file.
    with read(found.engine) as connection:
        recorded = set(connection.execute(select(erased_keys.c.submission_id)).scalars())
    assert recorded == set(due)
    in_file = {e.submission_id for e in ledger.read_file(ledger.ledger_path(found.config.database_path))}
    assert in_file == set(due)
    with read(found.engine) as connection:
        assert len(ciphertext.orphaned_keys(connection)) == 12
    summary = run_job(found, sweep_job())
    assert summary.startswith("15 answer(s) removed") and not isinstance(summary, Idle)
    assert set(stored(found, due).values()) == {(0, 0, 0)}
    assert stored(found, [kept]) == {kept: (4, 5, 5)}
    assert isinstance(run_job(found, sweep_job()), Idle)


def test_the_sweep_never_removes_ciphertext_whose_key_is_alive(found):
    kept = seed_submission(found, ALL)
    with read(found.engine) as connection:
        live = list(connection.execute(select(erased_keys.c.data_key_id)).scalars())
        assert live == [] and ciphertext.orphaned_keys(connection) == []
    with read(found.engine) as connection:
        key_ids = list(connection.execute(select(data_keys.c.id)).scalars())
    assert ciphertext.remove(found, key_ids) == 0  # given live keys by mistake: nothing goes
    assert stored(found, [kept]) == {kept: (4, 5, 5)}


def test_a_withdrawal_removes_keys_and_ciphertext_together_even_after_a_stopped_purge(found, clock, monkeypatch):
    whole = seed_submission(found, ALL)
    with write(found.engine) as connection:
        withdraw(connection, found.audit, submission_id=whole, now=clock.now)
        # In the withdrawal's own transaction: nothing left for a sweep.
        assert stored_in(connection, whole) == (0, 0)
    # Some classes shredded by a purge that stopped before its sweep; the person then withdraws.
    half = seed_submission(found, ALL, at=clock.now - timedelta(days=200))  # narrative due (P180D), not the rest
    crash_before_the_sweep(monkeypatch)
    with pytest.raises(RuntimeError):
        purge(found, clock.now)
    monkeypatch.undo()
    assert stored(found, [half]) == {half: (3, 5, 4)}
    with write(found.engine) as connection:
        erased = withdraw(connection, found.audit, submission_id=half, now=clock.now)
    assert erased is not None and erased.data_keys == 3
    assert stored(found, [half]) == {half: (0, 0, 0)}


def stored_in(connection, submission_id):
    keys = connection.execute(select(func.count()).select_from(data_keys)
                              .where(data_keys.c.submission_id == submission_id)).scalar_one()
    rows = connection.execute(select(func.count()).select_from(answers)
                              .where(answers.c.submission_id == submission_id)).scalar_one()
    return keys, rows
