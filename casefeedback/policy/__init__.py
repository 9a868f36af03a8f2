"""Declared policies: what is asked, kept, for how long, and who may read it.

``load_policies`` turns ``policies/*.toml`` into a frozen ``PolicySet`` or raises
``PolicyError`` listing every problem; the language is described in
``policies/README.md``.
"""

from casefeedback.policy.durations import parse_duration
from casefeedback.policy.loader import (
    PolicyError,
    PolicyProblem,
    load_policies,
    load_policy_file,
    parse_policy,
)
from casefeedback.policy.model import (
    CONSENT_CHOICES,
    INSIGHT_USES,
    PREFER_NOT_TO_SAY,
    QUESTION_KINDS,
    RELATIONS,
    RETENTION_EVENTS,
    SEVERITIES,
    AlertCondition,
    AlertRule,
    Consent,
    ConsentChoice,
    Duration,
    FieldClass,
    Helpline,
    InsightUse,
    Option,
    PolicySet,
    Question,
    QuestionKind,
    Retention,
    RetentionEvent,
    Section,
    ServicePolicy,
    Severity,
    Text,
)

__all__ = [
    "CONSENT_CHOICES",
    "INSIGHT_USES",
    "PREFER_NOT_TO_SAY",
    "QUESTION_KINDS",
    "RELATIONS",
    "RETENTION_EVENTS",
    "SEVERITIES",
    "AlertCondition",
    "AlertRule",
    "Consent",
    "ConsentChoice",
    "Duration",
    "FieldClass",
    "Helpline",
    "InsightUse",
    "Option",
    "PolicyError",
    "PolicyProblem",
    "PolicySet",
    "Question",
    "QuestionKind",
    "Retention",
    "RetentionEvent",
    "Section",
    "ServicePolicy",
    "Severity",
    "Text",
    "load_policies",
    "load_policy_file",
    "parse_duration",
    "parse_policy",
]
