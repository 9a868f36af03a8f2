"""[classes.reply] and [changes] in a service policy: checked when loaded, decided in policy/replies.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from casefeedback.policy.decisions import Actor, CaseFacts
from casefeedback.policy.loader import PolicyError, load_policy_file
from casefeedback.policy.model import REPLY_CLASS
from casefeedback.policy.replies import may_publish_changes, may_write_reply
from tests.helpers import policy_preamble

DEFAULT = Path(__file__).resolve().parents[2] / "policies" / "victim-support.toml"
QUESTION = '''
[[questions]]
id = "say"
kind = "text"
class = "{klass}"
text.en = "Anything to say?"
'''
REPLY = '''
[classes.reply]
description.en = "Our replies"
retention = {{ keep = "P1Y", after = "submitted" }}
read = ["case_owner"]
write = {write}
insight = "{insight}"
'''


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy_file(path)
    return [str(problem) for problem in caught.value.problems]


def test_the_default_policy_declares_who_replies_and_who_publishes() -> None:
    policy = load_policy_file(DEFAULT)
    reply = policy.classes[REPLY_CLASS]
    assert reply.write == ("case_owner", "case_deputy", "team_supervisor") and reply.insight == "none"
    assert policy.changes.publish == ("analyst", "supervisor")
    assert not any(q.field_class == REPLY_CLASS for q in policy.questions)


@pytest.mark.parametrize(("extra", "expected"), [
    (REPLY.format(write='["case_owner"]', insight="aggregate") + QUESTION.format(klass="answers"),
     'classes.reply.insight: must be "none": replies are never counted as insight'),
    (REPLY.format(write='["boss"]', insight="none") + QUESTION.format(klass="answers"),
     'classes.reply.write[0]: "boss" is not a relation'),
    (REPLY.format(write='["case_owner"]', insight="none") + QUESTION.format(klass="reply"),
     'questions[0].class: "reply" holds staff replies to the person; an answer cannot use it'),
    ('\n[changes]\npublish = ["administrator"]\n' + QUESTION.format(klass="answers"),
     'changes.publish[0]: "administrator" may not publish changes; expected one of: analyst, duty_manager, '
     'supervisor'),
    ('\n[changes]\npublish = ["analyst", "analyst"]\n' + QUESTION.format(klass="answers"),
     'changes.publish[1]: "analyst" is listed twice'),
    ('\n[changes]\nwho = ["analyst"]\n' + QUESTION.format(klass="answers"), "changes.who"),
])
def test_bad_reply_and_change_rules_are_refused_with_the_key_named(tmp_path: Path, extra: str,
                                                                     expected: str) -> None:
    found = problems(tmp_path, policy_preamble("p", "P") + extra)
    assert any(expected in problem for problem in found), found


def test_write_belongs_to_the_reply_class_alone(tmp_path: Path) -> None:
    text = policy_preamble("p", "P").replace('read = ["case_owner"]', 'read = ["case_owner"]\nwrite = ["case_owner"]')
    found = problems(tmp_path, text + QUESTION.format(klass="answers"))
    assert any('classes.answers.write: only [classes.reply] is written by staff' in p for p in found), found


def test_who_may_write_and_publish() -> None:
    policy = load_policy_file(DEFAULT)
    case = CaseFacts("case-1", owner_id="owner", deputy_id="deputy", team_id="north")
    assert may_write_reply(policy, Actor("owner", "caseworker", "north"), case)
    assert may_write_reply(policy, Actor("deputy", "caseworker", "north"), case)
    assert may_write_reply(policy, Actor("boss", "supervisor", "north"), case)
    assert not may_write_reply(policy, Actor("colleague", "caseworker", "north"), case)  # team_member: reads nothing
    assert not may_write_reply(policy, Actor("duty", "duty_manager", None), case)
    assert not may_write_reply(policy, Actor("duty", "duty_manager", None), None)  # anonymous feedback
    assert not may_write_reply(policy, Actor("owner", "auditor", "north"), case)
    assert [r for r in ("analyst", "supervisor", "duty_manager", "caseworker", "administrator", "auditor")
            if may_publish_changes(policy, r)] == ["analyst", "supervisor"]
