"""The policy loader: the shipped policy is complete, and every mistake gets a precise message."""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from casefeedback.policy import (
    AlertCondition,
    PolicyError,
    PolicyProblem,
    ServicePolicy,
    load_policies,
    load_policy_file,
    parse_policy,
)
from tests.helpers import policy_preamble

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "policies" / "victim-support.toml"
DEFAULT_TEXT = DEFAULT.read_text(encoding="utf-8")
VS = "policies/victim-support.toml"
P = "policies/p.toml"
RELATIONS = "case_owner, case_deputy, team_member, team_supervisor, duty_manager"
BAD_ID = 'is not a valid id; use 1 to 63 lowercase letters, digits, "_" or "-", starting with a letter'
QUESTION_IDS = "treated, listened, informed, easy_to_reach, chased, safe_now, safer, anything_else"

# The smallest policy that loads: everything optional is left to its default.
MINIMAL = policy_preamble("mini", "Mini") + """

[[questions]]
id = "ok"
kind = "choice"
class = "answers"
text.en = "Are you OK?"
options = [{ id = "yes", text.en = "Yes" }, { id = "no", text.en = "No" }]

[[questions]]
id = "say"
kind = "text"
class = "answers"
text.en = "Anything to say?"

[[questions]]
id = "score"
kind = "rating"
class = "answers"
scale = { min = 1, max = 5 }
text.en = "How did we do?"
"""


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in a scratch directory so files are named as a user would name them."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policies").mkdir()
    return tmp_path


def write(text: str, name: str = "p.toml") -> Path:
    path = Path("policies") / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(text: str, name: str = "p.toml") -> list[str]:
    path = write(text, name)
    with pytest.raises(PolicyError) as caught:
        load_policy_file(path)
    return [str(problem) for problem in caught.value.problems]


def default_problems(*edits: tuple[str, str]) -> list[str]:
    """Problems with the shipped policy after replacing each (old, new) once."""
    return problems(edit(DEFAULT_TEXT, *edits), "victim-support.toml")


def minimal_problems(*edits: tuple[str, str], extra: str = "") -> list[str]:
    return problems(edit(MINIMAL, *edits) + extra)


def edit(text: str, *edits: tuple[str, str]) -> str:
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} must occur exactly once"
        text = text.replace(old, new)
    return text


# --- the shipped policy ------------------------------------------------------------------------


def texts(value: object, where: str = "policy") -> Iterator[tuple[str, Mapping[str, str]]]:
    """Every Text (language -> string mapping) anywhere in a loaded policy."""
    if isinstance(value, AlertCondition):
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from texts(getattr(value, field.name), f"{where}.{field.name}")
    elif isinstance(value, Mapping):
        if value and all(isinstance(v, str) for v in value.values()) and set(value) <= {"en", "cy"}:
            yield where, value
        else:
            for key, item in value.items():
                yield from texts(item, f"{where}.{key}")
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from texts(item, f"{where}[{i}]")


def test_default_policy_loads_without_problems() -> None:
    policies = load_policies(ROOT / "policies")
    policy = policies.service("victim-support")
    assert policy is not None
    assert policy.languages == ("en", "cy")
    assert [q.id for q in policy.questions] == QUESTION_IDS.split(", ")
    assert set(policy.classes) == {"rating", "experience", "narrative", "safety", "reply"}
    assert [a.id for a in policy.alerts] == [
        "unsafe-now",
        "harm-words-safety",
        "harm-words-narrative",
        "treated-badly",
    ]
    assert policy.consent.required == ("store",)
    assert policy.consent.optional == ("contact_me", "share_insight")
    assert policy.suppress_below == 10
    assert str(policy.draft_keep) == "P14D"
    assert policy.version == hashlib.sha256(DEFAULT.read_bytes()).hexdigest()
    assert policy.source == str(ROOT / "policies" / "victim-support.toml")


def test_default_policy_is_complete_in_english_and_welsh() -> None:
    policy = load_policy_file(DEFAULT)
    found = list(texts(policy))
    # Every question text, option, label, title, warning, helpline, message...
    assert len(found) >= 50
    incomplete = [where for where, text in found if set(text) != {"en", "cy"}]
    assert incomplete == []


def test_default_policy_declares_the_intended_access_and_retention() -> None:
    policy = load_policy_file(DEFAULT)
    narrative = policy.classes["narrative"]
    assert (str(narrative.retention.keep), narrative.retention.after) == ("P180D", "case_closed")
    assert narrative.read == ("case_owner",)
    assert narrative.insight == "none"
    safety = policy.classes["safety"]
    assert safety.read == ("case_owner", "case_deputy", "team_supervisor", "duty_manager")
    assert policy.classes["rating"].insight == "aggregate"
    safe_now = policy.question("safe_now")
    assert safe_now is not None
    assert safe_now.option_ids() == ("yes", "no", "prefer_not_to_say")
    assert safe_now.section is not None and policy.sections[safe_now.section].sensitive
    chased = policy.question("chased")
    assert chased is not None and chased.failure_demand


def test_default_alert_patterns_catch_words_of_danger() -> None:
    import re

    policy = load_policy_file(DEFAULT)
    patterns = policy.alerts[1].when.matches

    def alerts(text: str) -> bool:
        return any(re.search(p, text, re.IGNORECASE) for p in patterns)

    for worrying in ["I am NOT safe", "I don’t feel safe", "he is going to kill me", "I want to kill myself"]:
        assert alerts(worrying), worrying
    for welsh in ["Dw i ddim yn teimlo'n saff", "mae e'n mynd i fy lladd i", "dwi eisiau lladd fy hun"]:
        assert alerts(welsh), welsh
    for fine in ["Everyone was kind", "I feel safe now", "Thank you for listening"]:
        assert not alerts(fine), fine


def test_minimal_policy_gets_the_defaults() -> None:
    policy = load_policy_file(write(MINIMAL))
    assert str(policy.draft_keep) == "P14D"
    assert policy.suppress_below == 10
    assert policy.classes["answers"].insight == "none"
    assert policy.sections == {}
    assert policy.alerts == ()
    ok, say, score = policy.questions
    assert (ok.prefer_not_to_say, ok.section, ok.failure_demand, ok.hint) == (False, None, False, {})
    assert say.max_length == 2000
    assert score.option_ids() == ("1", "2", "3", "4", "5")
    assert policy.source == P


# --- versions ----------------------------------------------------------------------------------


def test_version_is_the_hash_of_the_bytes_and_changes_with_them() -> None:
    first = load_policy_file(write(MINIMAL))
    assert first.version == hashlib.sha256(MINIMAL.encode()).hexdigest()
    assert load_policy_file(write(MINIMAL)).version == first.version
    changed = load_policy_file(write(MINIMAL + "# a comment is a change too\n"))
    assert changed.version != first.version


# --- error reporting ---------------------------------------------------------------------------


def test_problem_and_error_formatting() -> None:
    one = PolicyProblem("policies/a.toml", "service.id", "is required")
    two = PolicyProblem("policies/a.toml", "questions", "is required")
    assert str(one) == "policies/a.toml: service.id: is required"
    error = PolicyError([one, two])
    assert error.problems == [one, two]
    assert str(error) == "policies/a.toml: service.id: is required\npolicies/a.toml: questions: is required"
    assert pickle.loads(pickle.dumps(error)).problems == [one, two]  # noqa: S301 - our own object


def test_bad_duration_names_file_and_key() -> None:
    assert default_problems(('keep = "P180D"', 'keep = "P18OD"')) == [
        f'{VS}: classes.narrative.retention.keep: "P18OD" is not an ISO-8601 duration'
    ]


def test_all_problems_in_a_file_are_reported() -> None:
    assert default_problems(
        ('keep = "P180D"', 'keep = "P18OD"'),
        ("suppress_below = 10", "suppress_below = 1"),
        ('acknowledge_within = "PT15M"', 'acknowledge_within = "15 minutes"'),
    ) == [
        f"{VS}: service.suppress_below: must be at least 2",
        f'{VS}: classes.narrative.retention.keep: "P18OD" is not an ISO-8601 duration',
        f'{VS}: alerts[0].acknowledge_within: "15 minutes" is not an ISO-8601 duration',
    ]


def test_syntax_error() -> None:
    assert problems('[service]\nid = "x"\nname.en = \n') == [
        f"{P}: (syntax): Invalid value (at line 3, column 11)"
    ]


def test_not_utf8() -> None:
    path = Path("policies/p.toml")
    path.write_bytes(b'[service]\nid = "\xff"\n')
    with pytest.raises(PolicyError) as caught:
        load_policy_file(path)
    assert [str(p) for p in caught.value.problems] == [f"{P}: (syntax): not UTF-8 text (invalid start byte)"]


def test_missing_file() -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy_file(Path("policies/none.toml"))
    assert str(caught.value) == "policies/none.toml: (file): cannot read: No such file or directory"


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        (
            [("failure_demand = true", "failure_demnad = true")],
            "questions[4].failure_demnad: unknown key; expected one of: id, kind, class, section, "
            "text, hint, "
            "options, prefer_not_to_say, scale, max_length, failure_demand",
        ),
        (
            [("draft_keep = ", "draft_kept = ")],
            "service.draft_kept: unknown key; expected one of: id, name, languages, exit_url, draft_keep, "
            "suppress_below, helplines",
        ),
        (
            [
                (
                    'insight = "aggregate"\n\n[classes.experience]',
                    'insights = "aggregate"\n\n[classes.experience]',
                )
            ],
            "classes.rating.insights: unknown key; expected one of: description, retention, read, insight, write",
        ),
        (
            [
                (
                    'after = "case_closed" }\nread = ["case_owner"]',
                    'after = "case_closed", kept = 1 }\nread = []',
                )
            ],
            "classes.narrative.retention.kept: unknown key; expected one of: keep, after",
        ),
        (
            [("[sections.more]", "[section.more]")],
            "section: unknown key; expected one of: service, consent, classes, sections, questions, alerts, changes",
        ),
    ],
)
def test_unknown_keys_are_rejected(edits: list[tuple[str, str]], expected: str) -> None:
    assert f"{VS}: {expected}" in default_problems(*edits)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("suppress_below = 10", 'suppress_below = "10"', "service.suppress_below: must be an integer"),
        ("suppress_below = 10", "suppress_below = true", "service.suppress_below: must be an integer"),
        ('languages = ["en", "cy"]', 'languages = "en"', "service.languages: must be a list of strings"),
        ('languages = ["en", "cy"]', 'languages = ["en", 1]', "service.languages: must be a list of strings"),
        ('id = "victim-support"', "id = 7", "service.id: must be a string"),
        ("version = 1", 'version = "1"', "consent.version: must be an integer"),
        ("version = 1", "version = 0", "consent.version: must be at least 1"),
        ("sensitive = true", 'sensitive = "yes"', "sections.safety.sensitive: must be true or false"),
        ('read = ["case_owner"]', 'read = "case_owner"', "classes.narrative.read: must be a list of strings"),
        (
            'retention = { keep = "P180D", after = "case_closed" }',
            'retention = "P180D"',
            "classes.narrative.retention: must be a table",
        ),
        ("max_length = 4000", "max_length = 4000.0", "questions[7].max_length: must be an integer"),
        ("max_length = 4000", "max_length = 20000", "questions[7].max_length: must be between 1 and 10000"),
        (
            'text.en = "Do you feel safe right now?"\ntext.cy = "Ydych chi\'n teimlo\'n ddiogel ar '
            'hyn o bryd?"',
            'text = "Do you feel safe right now?"',
            'questions[5].text: must be a table of texts by language, e.g. text.en = "..."',
        ),
        (
            'hint.en = "You do not have to answer."',
            'hint.en = "  "',
            "questions[6].hint.en: must be a non-empty string",
        ),
        (
            'phone = "116 123"',
            'phone = "call us"',
            'service.helplines[2].phone: "call us" is not a phone number; '
            'use digits and spaces, e.g. "116 123"',
        ),
    ],
)
def test_wrong_types_name_the_expected_type(old: str, new: str, expected: str) -> None:
    assert default_problems((old, new)) == [f"{VS}: {expected}"]


def test_array_of_tables_must_be_tables() -> None:
    text = edit(
        MINIMAL,
        (
            'options = [{ id = "yes", text.en = "Yes" }, { id = "no", text.en = "No" }]',
            'options = ["yes", "no"]',
        ),
    )
    assert problems(text) == [f"{P}: questions[0].options: must be a list of tables"]


def test_required_keys() -> None:
    assert problems('[service]\nid = "x"\n') == [
        f"{P}: service.languages: is required",
        f"{P}: service.name: is required",
        f"{P}: service.exit_url: is required",
        f"{P}: service.helplines: is required",
        f"{P}: consent: is required",
        f"{P}: classes: is required",
        f"{P}: questions: is required",
    ]


# --- languages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("text.cy = \"Ydych chi'n teimlo'n ddiogel ar hyn o bryd?\"\n", "questions[5].text.cy"),
        ('name.cy = "Cymorth i ddioddefwyr"\n', "service.name.cy"),
        ('name.cy = "Y Samariaid"\n', "service.helplines[2].name.cy"),
        ('hours.cy = "Ffoniwch os ydych chi mewn perygl nawr"\n', "service.helplines[1].hours.cy"),
        ('description.cy = "Eich atebion am eich diogelwch"\n', "classes.safety.description.cy"),
        ('title.cy = "Eich diogelwch"\n', "sections.safety.title.cy"),
        ('hint.cy = "Does dim rhaid i chi ateb."\n', "questions[6].hint.cy"),
        ('{ id = "no", text.en = "No", text.cy = "Nac ydw" }', "questions[5].options[1].text.cy"),
    ],
)
def test_missing_welsh_text_is_an_error(line: str, key: str) -> None:
    new = '{ id = "no", text.en = "No" }' if line.startswith("{") else ""
    assert default_problems((line, new)) == [f'{VS}: {key}: missing text for language "cy"']


def test_missing_welsh_in_multiline_texts() -> None:
    found = default_problems(
        ('label.cy = "Cewch chi gysylltu â fi am yr hyn rydw i wedi\'i ddweud wrthoch chi."\n', ""),
        ('intro.cy = """\\\nCyn i chi', 'intro.cymraeg = """\\\nCyn i chi'),
    )
    assert found == [
        f'{VS}: consent.intro.cymraeg: "cymraeg" is not in service.languages (en, cy)',
        f'{VS}: consent.intro.cy: missing text for language "cy"',
        f'{VS}: consent.choices[1].label.cy: missing text for language "cy"',
    ]


def test_missing_alert_message_language() -> None:
    text = edit(
        DEFAULT_TEXT,
        ('message.cy = "Diolch am fod yn onest gyda ni.', 'message.fr = "Diolch am fod yn onest gyda ni.'),
    )
    assert problems(text, "victim-support.toml") == [
        f'{VS}: alerts[3].message.fr: "fr" is not in service.languages (en, cy)',
        f'{VS}: alerts[3].message.cy: missing text for language "cy"',
    ]


def test_english_must_be_a_language() -> None:
    assert minimal_problems(('languages = ["en"]', 'languages = ["cy"]')) == [
        f'{P}: service.languages: must include "en"'
    ]


def test_language_listed_twice() -> None:
    assert minimal_problems(('languages = ["en"]', 'languages = ["en", "en"]')) == [
        f'{P}: service.languages[1]: "en" is listed twice'
    ]


def test_a_new_language_needs_every_text() -> None:
    found = minimal_problems(('languages = ["en"]', 'languages = ["en", "cy"]'))
    missing = 'missing text for language "cy"'
    assert found == [
        f"{P}: {key}.cy: {missing}"
        for key in [
            "service.name",
            "service.helplines[0].name",
            "consent.intro",
            "consent.choices[0].label",
            "classes.answers.description",
            "questions[0].text",
            "questions[0].options[0].text",
            "questions[0].options[1].text",
            "questions[1].text",
            "questions[2].text",
        ]
    ]


# --- references between parts ----------------------------------------------------------------


def test_question_with_unknown_class() -> None:
    assert default_problems(
        (
            'id = "safe_now"\nkind = "choice"\nclass = "safety"',
            'id = "safe_now"\nkind = "choice"\nclass = "safty"',
        )
    ) == [
        f'{VS}: questions[5].class: "safty" is not a class; expected one of: rating, experience, '
        "narrative, safety"
    ]


def test_question_with_unknown_section() -> None:
    assert default_problems(('section = "more"', 'section = "extra"')) == [
        f'{VS}: questions[7].section: "extra" is not a section; expected one of: experience, safety, more'
    ]


def test_question_section_when_none_are_declared() -> None:
    assert minimal_problems(
        (
            'class = "answers"\ntext.en = "Are you OK?"',
            'class = "answers"\nsection = "a"\ntext.en = "Are you OK?"',
        )
    ) == [f'{P}: questions[0].section: "a" is not a section; none are declared']


def test_sections_must_be_together() -> None:
    text = edit(
        DEFAULT_TEXT,
        (
            'id = "safer"\nkind = "text"\nclass = "safety"\nsection = "safety"',
            'id = "safer"\nkind = "text"\nclass = "safety"\nsection = "experience"',
        ),
    )
    assert problems(text, "victim-support.toml") == [
        f'{VS}: questions[6].section: questions in section "experience" must be next to each other '
        "(it ended at questions[4])"
    ]


def test_alert_naming_unknown_question() -> None:
    assert default_problems(
        ('question = "safe_now", equals = "no"', 'question = "safe_nw", equals = "no"')
    ) == [f'{VS}: alerts[0].when.question: "safe_nw" is not a question; expected one of: {QUESTION_IDS}']


def test_alert_escalating_to_unknown_relation() -> None:
    assert default_problems(
        (
            'acknowledge_within = "PT15M"\nescalate = ["case_owner", "case_deputy",',
            'acknowledge_within = "PT15M"\nescalate = ["case_owner", "case_deptuy",',
        )
    ) == [f'{VS}: alerts[0].escalate[1]: "case_deptuy" is not a relation; expected one of: {RELATIONS}']


def test_read_names_unknown_relation() -> None:
    assert default_problems(('read = ["case_owner"]', 'read = ["owner"]')) == [
        f'{VS}: classes.narrative.read[0]: "owner" is not a relation; expected one of: {RELATIONS}'
    ]


def test_equals_value_must_be_an_option() -> None:
    assert default_problems(
        ('question = "safe_now", equals = "no"', 'question = "safe_now", equals = "maybe"')
    ) == [
        f'{VS}: alerts[0].when.equals: "maybe" is not an answer to "safe_now"; '
        "expected one of: yes, no, prefer_not_to_say"
    ]


def test_one_of_on_a_rating_uses_the_scale() -> None:
    alert = (
        '\n[[alerts]]\nid = "low"\ntitle = "Low score"\nguidance = "Look at the case."\n'
        'when = { question = "score", one_of = ["1", "6"] }\n'
        'severity = "routine"\nacknowledge_within = "P2D"\nescalate = ["case_owner"]\n'
    )
    assert minimal_problems(extra=alert) == [
        f'{P}: alerts[0].when.one_of[1]: "6" is not an answer to "score"; expected one of: 1, 2, 3, 4, 5'
    ]


def alert(when: str, **overrides: str) -> str:
    fields = {"id": '"a"', "title": '"Says they need help"', "guidance": '"Call them today."', "severity": '"high"',
              "acknowledge_within": '"PT1H"', "escalate": '["case_owner"]'}
    fields.update(overrides)
    lines = "".join(f"{key} = {value}\n" for key, value in fields.items())
    return f"\n[[alerts]]\n{lines}when = {when}\n"


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (
            '{ question = "say", matches = ["(unclosed"] }',
            'alerts[0].when.matches[0]: "(unclosed" is not a valid regular expression: '
            "missing ), unterminated subpattern at position 0",
        ),
        (
            '{ question = "say", matches = ["a*"] }',
            'alerts[0].when.matches[0]: "a*" matches an empty answer, so it would match every answer',
        ),
        (
            '{ question = "say", matches = ["' + "a" * 201 + '"] }',
            "alerts[0].when.matches[0]: pattern is longer than 200 characters",
        ),
        ('{ question = "say", matches = "help" }', "alerts[0].when.matches: must be a list of strings"),
        ('{ question = "say", matches = [] }', "alerts[0].when.matches: must list at least one pattern"),
        (
            '{ question = "ok", matches = ["help"] }',
            'alerts[0].when.matches: only for text questions; "ok" is a choice question',
        ),
        (
            '{ question = "say", equals = "help" }',
            "alerts[0].when.equals: only for choice, multi_choice and rating questions; use matches for text",
        ),
        (
            '{ question = "ok", equals = "no", one_of = ["yes"] }',
            "alerts[0].when: must have exactly one of: equals, one_of, matches, score",
        ),
        ('{ question = "ok" }', "alerts[0].when: must have exactly one of: equals, one_of, matches, score"),
        ('{ equals = "no" }', "alerts[0].when.question: is required"),
        ('{ question = "ok", one_of = [] }', "alerts[0].when.one_of: must list at least one answer"),
        (
            '{ question = "ok", equals = "no", because = "x" }',
            "alerts[0].when.because: unknown key; expected one of: question, equals, one_of, matches, score",
        ),
        (
            '{ score = { questions = ["ok"], at_least = 1 } }',
            'alerts[0].when.score.questions[0]: "ok" is not a rating question',
        ),
        (
            '{ score = { questions = ["nope"], at_least = 1 } }',
            'alerts[0].when.score.questions[0]: "nope" is not a question; expected one of: ok, say, score',
        ),
        (
            '{ score = { questions = ["score"], at_least = 5 } }',
            "alerts[0].when.score.at_least: can never be reached; these questions score at most 4",
        ),
        (
            '{ score = { questions = ["score"], at_least = 0 } }',
            "alerts[0].when.score.at_least: must be at least 1",
        ),
        (
            "{ score = { questions = [], at_least = 1 } }",
            "alerts[0].when.score.questions: must list at least one rating question",
        ),
        (
            '{ question = "score", score = { questions = ["score"], at_least = 1 } }',
            "alerts[0].when.question: is not used with score; list the questions in score.questions",
        ),
    ],
)
def test_alert_conditions(when: str, expected: str) -> None:
    assert minimal_problems(extra=alert(when)) == [f"{P}: {expected}"]


def test_score_rule_loads() -> None:
    policy = load_policy_file(write(MINIMAL + alert('{ score = { questions = ["score"], at_least = 3 } }')))
    condition = policy.alerts[0].when
    assert (condition.question, condition.score_questions, condition.score_at_least) == (None, ("score",), 3)
    score = policy.questions[2]
    assert [score.shortfall(a) for a in ("1", "2", "5", None, "prefer_not_to_say", "9")] == [4, 3, 0, 0, 0, 0]


def test_matches_rule_loads() -> None:
    policy = load_policy_file(write(MINIMAL + alert(r'{ question = "say", matches = ["\\bhelp\\b"] }')))
    assert policy.alerts[0].when == AlertCondition(question="say", matches=(r"\bhelp\b",))


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"severity": '"critical"'},
            'alerts[0].severity: "critical" is not a severity; expected one of: urgent, high, routine',
        ),
        ({"acknowledge_within": '"PT0M"'}, 'alerts[0].acknowledge_within: "PT0M" must be longer than zero'),
        ({"escalate": "[]"}, "alerts[0].escalate: must name at least one relation"),
        ({"escalate": '["case_owner", "case_owner"]'}, 'alerts[0].escalate[1]: "case_owner" is listed twice'),
        (
            {"id": '"Unsafe Now"'},
            'alerts[0].id: "Unsafe Now" is not a valid id; use 1 to 63 lowercase letters, '
            'digits, "_" or "-", starting with a letter',
        ),
        (
            {"message": '"Thanks"'},
            'alerts[0].message: must be a table of texts by language, e.g. message.en = "..."',
        ),
    ],
)
def test_alert_fields(overrides: dict[str, str], expected: str) -> None:
    assert minimal_problems(extra=alert('{ question = "ok", equals = "no" }', **overrides)) == [
        f"{P}: {expected}"
    ]


# --- duplicates --------------------------------------------------------------------------------


def test_duplicate_question_ids() -> None:
    assert default_problems(('id = "informed"', 'id = "listened"')) == [
        f'{VS}: questions[2].id: "listened" is already used by questions[1]'
    ]


def test_duplicate_option_ids() -> None:
    assert default_problems(
        (
            '{ id = "sometimes", text.en = "Some of the time", text.cy = "Weithiau" },\n  '
            '{ id = "no", text.en = "No", text.cy = "Nac oeddwn" }',
            '{ id = "sometimes", text.en = "Some of the time", text.cy = "Weithiau" },\n  '
            '{ id = "sometimes", text.en = "No", text.cy = "Nac oeddwn" }',
        )
    ) == [f'{VS}: questions[1].options[2].id: "sometimes" is already used by questions[1].options[1]']


def test_duplicate_alert_ids() -> None:
    assert default_problems(('id = "harm-words-narrative"', 'id = "harm-words-safety"')) == [
        f'{VS}: alerts[2].id: "harm-words-safety" is already used by alerts[1]'
    ]


def test_duplicate_consent_choices() -> None:
    assert default_problems(('id = "contact_me"', 'id = "share_insight"')) == [
        f'{VS}: consent.choices[2].id: "share_insight" is already used by consent.choices[1]'
    ]


def test_duplicate_class_is_a_syntax_error() -> None:
    found = problems(MINIMAL + '\n[classes.answers]\ndescription.en = "Again"\n')
    assert len(found) == 1
    assert found[0].startswith(f"{P}: (syntax): ")


def test_duplicate_service_across_files() -> None:
    write(DEFAULT_TEXT, "a.toml")
    write(DEFAULT_TEXT.replace("# Feedback", "# A copy of the feedback"), "b.toml")
    with pytest.raises(PolicyError) as caught:
        load_policies(Path("policies"))
    assert (
        str(caught.value)
        == 'policies/b.toml: service.id: "victim-support" is already declared in policies/a.toml'
    )


def test_problems_from_every_file_are_reported() -> None:
    write(MINIMAL.replace('"P1Y"', '"P1y"'), "a.toml")
    write(MINIMAL.replace('id = "mini"', 'id = "Mini"'), "b.toml")
    with pytest.raises(PolicyError) as caught:
        load_policies(Path("policies"))
    assert [str(p) for p in caught.value.problems] == [
        'policies/a.toml: classes.answers.retention.keep: "P1y" is not an ISO-8601 duration',
        f'policies/b.toml: service.id: "Mini" {BAD_ID}',
    ]


def test_several_services_load_in_name_order() -> None:
    write(MINIMAL.replace('id = "mini"', 'id = "zeta"'), "a.toml")
    write(MINIMAL, "b.toml")
    write("not a policy", "notes.txt")
    write("ignored = true", ".hidden.toml")
    policies = load_policies(Path("policies"))
    assert list(policies.services) == ["zeta", "mini"]
    service = policies.service("zeta")
    assert service is not None and service.source == "policies/a.toml"


# --- directories -------------------------------------------------------------------------------


def test_empty_directory() -> None:
    with pytest.raises(PolicyError) as caught:
        load_policies(Path("policies"))
    assert str(caught.value) == "policies: (directory): contains no policy files (*.toml)"


def test_missing_directory() -> None:
    with pytest.raises(PolicyError) as caught:
        load_policies(Path("nowhere"))
    assert str(caught.value) == "nowhere: (directory): no such directory"


def test_file_instead_of_directory() -> None:
    path = write(MINIMAL)
    with pytest.raises(PolicyError) as caught:
        load_policies(path)
    assert str(caught.value) == f"{P}: (directory): is not a directory"


def test_shipped_directory_copied_elsewhere_loads(workdir: Path) -> None:
    shutil.copy(DEFAULT, workdir / "policies" / "victim-support.toml")
    policy = load_policies(Path("policies")).service("victim-support")
    assert isinstance(policy, ServicePolicy)
    assert policy.source == VS


# --- consent -----------------------------------------------------------------------------------


def test_consent_without_store() -> None:
    assert minimal_problems(('id = "store"\nrequired = true', 'id = "contact_me"\nrequired = false')) == [
        f'{P}: consent.choices: must include a choice with id "store"'
    ]


def test_store_must_be_required() -> None:
    assert minimal_problems(("required = true", "required = false")) == [
        f'{P}: consent.choices[0].required: "store" must be required = true (nothing is stored without it)'
    ]


def test_only_store_may_be_required() -> None:
    assert default_problems(
        ('id = "share_insight"\nrequired = false', 'id = "share_insight"\nrequired = true')
    ) == [
        f'{VS}: consent.choices[2].required: only "store" may be required; "share_insight" must stay optional'
    ]


def test_unknown_consent_choice() -> None:
    assert default_problems(('id = "contact_me"', 'id = "call_me"')) == [
        f'{VS}: consent.choices[1].id: "call_me" is not a consent choice; expected one of: store, '
        "contact_me, "
        "share_insight"
    ]


# --- questions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'kind = "text"\nclass = "answers"',
            'kind = "essay"\nclass = "answers"',
            'questions[1].kind: "essay" is not a question kind; expected one of: choice, '
            "multi_choice, rating, text",
        ),
        (
            'id = "ok"',
            'id = "OK"',
            f'questions[0].id: "OK" {BAD_ID}',
        ),
        (
            '{ id = "no", text.en = "No" }',
            '{ id = "No!", text.en = "No" }',
            f'questions[0].options[1].id: "No!" {BAD_ID}',
        ),
        (', { id = "no", text.en = "No" }', "", "questions[0].options: must list at least 2 options"),
        (
            'options = [{ id = "yes", text.en = "Yes" }, { id = "no", text.en = "No" }]\n',
            "",
            "questions[0].options: is required for choice and multi_choice questions",
        ),
        (
            '{ id = "no", text.en = "No" }',
            '{ id = "prefer_not_to_say", text.en = "No" }',
            'questions[0].options[1].id: "prefer_not_to_say" is reserved; set prefer_not_to_say = '
            "true instead",
        ),
        (
            'text.en = "Anything to say?"',
            'text.en = "Anything to say?"\noptions = []',
            "questions[1].options: only choice and multi_choice questions have options; this is a "
            "text question",
        ),
        (
            'text.en = "Anything to say?"',
            'text.en = "Anything to say?"\nprefer_not_to_say = true',
            "questions[1].prefer_not_to_say: only choice, multi_choice and rating questions have "
            "prefer_not_to_say; "
            "this is a text question",
        ),
        (
            'text.en = "Are you OK?"',
            'text.en = "Are you OK?"\nmax_length = 10',
            "questions[0].max_length: only text questions have max_length; this is a choice question",
        ),
        (
            'text.en = "Are you OK?"',
            'text.en = "Are you OK?"\nscale = { min = 1, max = 3 }',
            "questions[0].scale: only rating questions have scale; this is a choice question",
        ),
        (
            "scale = { min = 1, max = 5 }\n",
            "",
            "questions[2].scale: is required for rating questions, e.g. scale = { min = 1, max = 5 }",
        ),
        (
            "scale = { min = 1, max = 5 }",
            "scale = { min = 5, max = 5 }",
            "questions[2].scale: min must be less than max",
        ),
        (
            "scale = { min = 1, max = 5 }",
            "scale = { min = 1, max = 11 }",
            "questions[2].scale.max: must be between 0 and 10",
        ),
        (
            "scale = { min = 1, max = 5 }",
            "scale = { low = 1, max = 5 }",
            "questions[2].scale.low: unknown key; expected one of: min, max\n"
            f"{P}: questions[2].scale.min: is required",
        ),
        (
            'text.en = "Anything to say?"',
            'text.en = "Anything to say?"\nmax_length = 0',
            "questions[1].max_length: must be between 1 and 10000",
        ),
        ('text.en = "How did we do?"', "", "questions[2].text: is required"),
    ],
)
def test_question_rules(old: str, new: str, expected: str) -> None:
    found = minimal_problems((old, new))
    assert "\n".join(found) == f"{P}: {expected}"


def test_multi_choice_and_text_length_load() -> None:
    text = edit(
        MINIMAL,
        ('kind = "choice"', 'kind = "multi_choice"'),
        ('text.en = "Anything to say?"', 'text.en = "Anything to say?"\nmax_length = 500'),
    )
    policy = load_policy_file(write(text))
    assert policy.questions[0].kind == "multi_choice"
    assert policy.questions[1].max_length == 500


# --- service, classes and sections -------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'exit_url = "https://example.org/"',
            'exit_url = "http://example.org/"',
            'service.exit_url: "http://example.org/" must be an https:// URL',
        ),
        (
            'exit_url = "https://example.org/"',
            'exit_url = "javascript:alert(1)"',
            'service.exit_url: "javascript:alert(1)" must be an https:// URL',
        ),
        (
            'exit_url = "https://example.org/"',
            'exit_url = "https://"',
            'service.exit_url: "https://" must be an https:// URL',
        ),
        (
            'exit_url = "https://example.org/"',
            'exit_url = "https://example.org/"\nsuppress_below = 1',
            "service.suppress_below: must be at least 2",
        ),
        (
            'exit_url = "https://example.org/"',
            'exit_url = "https://example.org/"\ndraft_keep = "P14"',
            'service.draft_keep: "P14" is not an ISO-8601 duration',
        ),
        (
            'exit_url = "https://example.org/"',
            'exit_url = "https://example.org/"\ndraft_keep = "P200Y"',
            'service.draft_keep: "P200Y" is longer than 100 years',
        ),
        (
            'id = "mini"',
            'id = "mini service"',
            f'service.id: "mini service" {BAD_ID}',
        ),
        (
            '[[service.helplines]]\nname.en = "Samaritans"\nphone = "116 123"\n',
            "helplines = []\n",
            "service.helplines: must list at least one helpline",
        ),
        (
            'after = "submitted"',
            'after = "closed"',
            'classes.answers.retention.after: "closed" is not a retention event; expected one of: submitted, '
            "case_closed, consent_withdrawn, draft_abandoned",
        ),
        (
            'read = ["case_owner"]',
            'read = ["case_owner"]\ninsight = "raw"',
            'classes.answers.insight: "raw" is not an insight use; expected one of: aggregate, none',
        ),
        ('read = ["case_owner"]\n', "", "classes.answers.read: is required"),
        (
            'read = ["case_owner"]',
            'read = ["case_owner", "case_owner"]',
            'classes.answers.read[1]: "case_owner" is listed twice',
        ),
        (
            "[classes.answers]",
            "[classes.Answers]",
            f'classes.Answers: "Answers" {BAD_ID}',
        ),
    ],
)
def test_service_and_class_rules(old: str, new: str, expected: str) -> None:
    found = minimal_problems((old, new))
    if "classes.Answers" in expected:
        # The questions now point at a class that no longer exists, too.
        assert found[0] == f"{P}: {expected}"
    else:
        assert found == [f"{P}: {expected}"]


def test_sensitive_section_needs_a_warning() -> None:
    section = '\n[sections.hard]\ntitle.en = "Hard questions"\nsensitive = true\n'
    assert minimal_problems(extra=section) == [
        f"{P}: sections.hard.warning: is required when sensitive = true"
    ]


def test_warning_only_on_sensitive_sections() -> None:
    section = '\n[sections.easy]\ntitle.en = "Easy"\nwarning.en = "Careful"\n'
    assert minimal_problems(extra=section) == [
        f"{P}: sections.easy.warning: is shown only for sensitive sections; set sensitive = true or remove it"
    ]


def test_empty_classes_and_questions() -> None:
    text = "classes = {}\nquestions = []\n" + MINIMAL[: MINIMAL.index("[classes.answers]")]
    assert problems(text) == [
        f"{P}: classes: must declare at least one class",
        f"{P}: questions: must list at least one question",
    ]


# --- robustness --------------------------------------------------------------------------------


def test_any_broken_line_gives_problems_never_a_crash() -> None:
    """Delete or retype each line of the shipped policy: the loader must only ever answer with problems."""
    lines = DEFAULT_TEXT.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if not line.strip() or line.startswith("#"):
            continue
        variants = [""]
        if " = " in line:
            key = line.split(" = ", 1)[0]
            variants += [f"{key} = {value}\n" for value in ("1", '"x"', "{}")]
        for variant in variants:
            text = "".join([*lines[:i], variant, *lines[i + 1 :]])
            try:
                parse_policy(text.encode(), P)
            except PolicyError as error:
                assert error.problems
                assert all(p.file == P and p.key and p.message for p in error.problems)


# --- who may act on an alert -------------------------------------------------------------------


def test_alert_act_defaults_to_the_escalation_chain_and_the_duty_manager() -> None:
    policy = load_policy_file(write(MINIMAL + alert('{ question = "ok", equals = "no" }',
                                                    escalate='["case_owner", "team_supervisor"]')))
    assert policy.alerts[0].act == ("case_owner", "team_supervisor", "duty_manager")
    chained = load_policy_file(write(MINIMAL + alert('{ question = "ok", equals = "no" }',
                                                     escalate='["duty_manager", "case_owner"]')))
    assert chained.alerts[0].act == ("duty_manager", "case_owner")


def test_alert_act_may_be_declared() -> None:
    policy = load_policy_file(write(MINIMAL + alert('{ question = "ok", equals = "no" }',
                                                    act='["case_owner", "team_member"]')))
    assert policy.alerts[0].act == ("case_owner", "team_member")


@pytest.mark.parametrize(
    ("act", "expected"),
    [
        ('["case_owner", "owner"]', f'alerts[0].act[1]: "owner" is not a relation; expected one of: {RELATIONS}'),
        ('["case_owner", "case_owner"]', 'alerts[0].act[1]: "case_owner" is listed twice'),
        ("[]", "alerts[0].act: must name at least one relation"),
        ('"case_owner"', "alerts[0].act: must be a list of strings"),
    ],
)
def test_alert_act_mistakes(act: str, expected: str) -> None:
    assert minimal_problems(extra=alert('{ question = "ok", equals = "no" }', act=act)) == [f"{P}: {expected}"]


# --- what staff read on an alert: its title and guidance ------------------------------------------


def test_alert_title_and_guidance_load_as_plain_words() -> None:
    policy = load_policy_file(write(MINIMAL + alert('{ question = "ok", equals = "no" }',
                                                    guidance='"""Call them\n   today."""')))
    assert policy.alerts[0].title == "Says they need help"
    assert policy.alerts[0].guidance == "Call them today."  # a multi-line string reads as one paragraph


def test_the_shipped_rules_say_what_they_mean_and_what_to_do() -> None:
    policy = parse_policy(DEFAULT_TEXT.encode(), "victim-support.toml")
    titles = {rule.id: rule.title for rule in policy.alerts}
    assert titles["unsafe-now"] == "Says they are not safe now"
    assert titles["treated-badly"] == "Says they were treated badly"
    assert all(rule.guidance and rule.id not in rule.title for rule in policy.alerts)
    assert "999" in next(rule.guidance for rule in policy.alerts if rule.id == "unsafe-now")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('title = "Says they need help"\n', ""),
         'alerts[0].title: is required: what the alert means, e.g. "Says they are not safe now"'),
        (('guidance = "Call them today."\n', ""),
         'alerts[0].guidance: is required: what to do now, e.g. "Call within 15 minutes."'),
        (('title = "Says they need help"', 'title = "  "'), "alerts[0].title: must not be empty"),
        (('title = "Says they need help"', "title = 3"), "alerts[0].title: must be a string"),
        (('title = "Says they need help"', 'title = "' + "x" * 81 + '"'),
         "alerts[0].title: is 81 characters long; keep it to 80 or fewer"),
        (('guidance = "Call them today."', 'guidance = "' + "x" * 601 + '"'),
         "alerts[0].guidance: is 601 characters long; keep it to 600 or fewer"),
        (('title = "Says they need help"', 'title.en = "Says they need help"'),
         'alerts[0].title: is read by staff, in English: write title = "...", not title.en'),
    ],
)
def test_alert_title_and_guidance_mistakes(change: tuple[str, str], expected: str) -> None:
    text = alert('{ question = "ok", equals = "no" }')
    assert text.count(change[0]) == 1
    assert minimal_problems(extra=text.replace(*change)) == [f"{P}: {expected}"]
