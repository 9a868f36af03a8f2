"""The order of the journey, from the policy alone."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from casefeedback.intake.journey import (
    Step,
    after_section,
    first_unreached,
    next_step,
    previous_step,
    question_number,
    sensitive_section,
    steps,
)
from casefeedback.policy import load_policy_file

POLICY = load_policy_file(Path(__file__).resolve().parents[2] / "policies" / "victim-support.toml")


def q(question_id: str) -> Step:
    return Step("question", question_id)


def test_a_warning_comes_before_each_sensitive_section_and_nowhere_else():
    assert steps(POLICY) == (q("treated"), q("listened"), q("informed"), q("easy_to_reach"), q("chased"),
                             Step("warning", "safety"), q("safe_now"), q("safer"), q("anything_else"))


def test_next_and_previous_walk_the_same_line():
    order = steps(POLICY)
    for before, after in pairwise(order):
        assert next_step(POLICY, before) == after and previous_step(POLICY, after) == before
    assert previous_step(POLICY, order[0]) is None and next_step(POLICY, order[-1]) is None


def test_skipping_a_section_lands_after_its_last_question():
    assert after_section(POLICY, "safety") == q("anything_else")
    assert after_section(POLICY, "more") is None  # the last section: straight to Check your answers


def test_carrying_on_and_numbering():
    assert first_unreached(POLICY, set()).id == "treated"
    assert first_unreached(POLICY, {"treated", "informed"}).id == "listened"
    assert first_unreached(POLICY, {q.id for q in POLICY.questions}) is None
    assert sensitive_section(POLICY, POLICY.question("safer")) == "safety"
    assert sensitive_section(POLICY, POLICY.question("treated")) is None
    assert [question_number(POLICY, x.id) for x in POLICY.questions] == list(range(1, 9))
