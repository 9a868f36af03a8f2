"""matching_rules: a corpus of what does and does not meet each kind of alert condition.

The default policy's rules first (the ones people will actually meet), then a
small policy with one rule of every kind, for the edges of the semantics in
policies/README.md: equals/one_of on choice, multi_choice and rating; matches on
text; score over several ratings; skipped and "prefer not to say".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from casefeedback.alerts.rules import matching_rules, rules_about
from casefeedback.policy import load_policy_file, parse_policy
from tests.helpers import policy_preamble

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = load_policy_file(ROOT / "policies" / "victim-support.toml")


def ids(answers: dict) -> list[str]:
    return [rule.id for rule in matching_rules(DEFAULT, answers)]


@pytest.mark.parametrize(("answers", "expected"), [
    ({}, []),
    ({"safe_now": "no"}, ["unsafe-now"]),
    ({"safe_now": "yes"}, []),
    ({"safe_now": "prefer_not_to_say"}, []),
    ({"safe_now": None}, []),  # skipped
    ({"treated": "1"}, ["treated-badly"]),  # shortfall 4
    ({"treated": "2"}, ["treated-badly"]),  # shortfall 3: exactly at_least
    ({"treated": "3"}, []),
    ({"treated": "5"}, []),
    ({"treated": "prefer_not_to_say"}, []),  # scores nothing
    ({"treated": "9"}, []),  # off the scale: never a guess
    ({"safer": "He said he will kill me"}, ["harm-words-safety"]),
    ({"safer": "I don't feel safe at home"}, ["harm-words-safety"]),
    ({"safer": "I DON’T FEEL SAFE"}, ["harm-words-safety"]),  # curly apostrophe, capitals
    ({"safer": "ｕｎｓａｆｅ"}, ["harm-words-safety"]),  # full-width letters (NFKC)
    ({"safer": "Dydw i ddim yn teimlo'n ddiogel"}, ["harm-words-safety"]),
    ({"safer": "Rwy'n meddwl am hunanladdiad"}, ["harm-words-safety"]),
    ({"safer": "More street lights would help"}, []),
    ({"safer": "I feel safe now, thank you"}, []),
    ({"safer": "the safeguarding team was great"}, []),
    ({"anything_else": "sometimes I want to die"}, ["harm-words-narrative"]),
    ({"anything_else": "The staff were kind"}, []),
    ({"anything_else": "unsafe"}, ["harm-words-narrative"]),
    ({"safer": "unsafe", "anything_else": "unsafe", "safe_now": "no", "treated": "1"},
     ["unsafe-now", "harm-words-safety", "harm-words-narrative", "treated-badly"]),  # policy order
])
def test_default_policy_corpus(answers, expected):
    assert ids(answers) == expected


def test_a_pattern_never_applies_to_another_question():
    assert ids({"listened": "no", "informed": "no", "chased": "yes"}) == []


EVERY_KIND = policy_preamble("kinds", "Kinds").encode() + b"""

[[questions]]
id = "pick"
kind = "choice"
class = "answers"
prefer_not_to_say = true
text.en = "Pick"
options = [{ id = "a", text.en = "A" }, { id = "b", text.en = "B" }, { id = "c", text.en = "C" }]

[[questions]]
id = "many"
kind = "multi_choice"
class = "answers"
prefer_not_to_say = true
text.en = "Many"
options = [{ id = "x", text.en = "X" }, { id = "y", text.en = "Y" }, { id = "z", text.en = "Z" }]

[[questions]]
id = "r1"
kind = "rating"
class = "answers"
scale = { min = 0, max = 10 }
text.en = "R1"

[[questions]]
id = "r2"
kind = "rating"
class = "answers"
scale = { min = 1, max = 5 }
prefer_not_to_say = true
text.en = "R2"

[[questions]]
id = "words"
kind = "text"
class = "answers"
text.en = "Words"

[[alerts]]
id = "pick-b"
title = "Rule pick-b"
guidance = "Do what the rule says."
when = { question = "pick", equals = "b" }
severity = "high"
acknowledge_within = "PT1H"
escalate = ["case_owner"]

[[alerts]]
id = "pick-a-or-pnts"
title = "Rule pick-a-or-pnts"
guidance = "Do what the rule says."
when = { question = "pick", one_of = ["a", "prefer_not_to_say"] }
severity = "routine"
acknowledge_within = "P1D"
escalate = ["case_owner"]

[[alerts]]
id = "many-y"
title = "Rule many-y"
guidance = "Do what the rule says."
when = { question = "many", equals = "y" }
severity = "routine"
acknowledge_within = "P1D"
escalate = ["case_owner"]

[[alerts]]
id = "many-x-or-z"
title = "Rule many-x-or-z"
guidance = "Do what the rule says."
when = { question = "many", one_of = ["x", "z"] }
severity = "routine"
acknowledge_within = "P1D"
escalate = ["case_owner"]

[[alerts]]
id = "r1-zero"
title = "Rule r1-zero"
guidance = "Do what the rule says."
when = { question = "r1", equals = "0" }
severity = "routine"
acknowledge_within = "P1D"
escalate = ["case_owner"]

[[alerts]]
id = "low-total"
title = "Rule low-total"
guidance = "Do what the rule says."
when = { score = { questions = ["r1", "r2"], at_least = 12 } }
severity = "routine"
acknowledge_within = "P1D"
escalate = ["case_owner"]

[[alerts]]
id = "words-help"
title = "Rule words-help"
guidance = "Do what the rule says."
when = { question = "words", matches = ['\\bhelp\\b', '^urgent'] }
severity = "urgent"
acknowledge_within = "PT15M"
escalate = ["case_owner", "duty_manager"]
"""
KINDS = parse_policy(EVERY_KIND, "kinds.toml")


@pytest.mark.parametrize(("answers", "expected"), [
    ({"pick": "b"}, ["pick-b"]),
    ({"pick": "a"}, ["pick-a-or-pnts"]),
    ({"pick": "prefer_not_to_say"}, ["pick-a-or-pnts"]),  # only because the rule names it
    ({"pick": "c"}, []),
    ({"many": ["y"]}, ["many-y"]),
    ({"many": ["x", "y"]}, ["many-y", "many-x-or-z"]),  # equals means "includes" for multi_choice
    ({"many": ["z"]}, ["many-x-or-z"]),
    ({"many": []}, []),
    ({"many": ["prefer_not_to_say"]}, []),
    ({"r1": "0"}, ["r1-zero"]),  # shortfall 10 alone is not 12
    ({"r1": "0", "r2": "3"}, ["r1-zero", "low-total"]),  # 10 + 2
    ({"r1": "1", "r2": "2"}, ["low-total"]),  # 9 + 3
    ({"r1": "1", "r2": "3"}, []),  # 9 + 2
    ({"r1": "0", "r2": "prefer_not_to_say"}, ["r1-zero"]),  # scores 0
    ({"r1": "0", "r2": None}, ["r1-zero"]),  # skipped scores 0
    ({"words": "please HELP me"}, ["words-help"]),
    ({"words": "Urgent: call me"}, ["words-help"]),
    ({"words": "helpful staff, not urgent"}, []),  # \b and ^ are honoured
    ({"words": ["help"]}, []),  # a list is never text
])
def test_every_kind_of_condition(answers, expected):
    assert [rule.id for rule in matching_rules(KINDS, answers)] == expected


def test_rules_about_a_question_include_the_scores_it_is_part_of():
    assert [rule.id for rule in rules_about(KINDS, "r2")] == ["low-total"]
    assert [rule.id for rule in rules_about(KINDS, "r1")] == ["r1-zero", "low-total"]
    assert rules_about(KINDS, "nope") == []
