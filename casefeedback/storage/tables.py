"""The schema, as SQLAlchemy Core tables, declared once in ``schema/`` (a module per domain).

Migrations (``migrations/``) create it; a test proves the migrated database equals it.
Columns named ``*_hash`` hold keyed hashes of bearer secrets (receipt codes,
invitation tokens, session tokens), never the secrets themselves. Columns named
``ciphertext``/``wrapped`` hold AES-GCM output; no sensitive plaintext has a column.
"""

from __future__ import annotations

from casefeedback.storage.schema.alerts import (
    alert_attempts,
    alert_notifications,
    alert_recipients,
    alerts,
    duty_shifts,
    staff_absences,
)
from casefeedback.storage.schema.api import api_clients
from casefeedback.storage.schema.base import ID, UTCDateTime, metadata
from casefeedback.storage.schema.channels import (
    failure_demand,
    failure_demand_by_service_time,
    staff_voice,
    staff_voice_by_service_time,
    submission_channels,
)
from casefeedback.storage.schema.foundation import (
    answers,
    answers_by_data_key,
    audit_chains,
    audit_events,
    cases,
    consent_receipts,
    data_keys,
    invitations,
    policy_versions,
    staff,
    staff_sessions,
    submissions,
    submissions_by_service_time,
    teams,
)
from casefeedback.storage.schema.insight import (
    insight_contributed,
    insight_counts,
    insight_submission_counts,
    insight_submission_months,
)
from casefeedback.storage.schema.intake import draft_answers, drafts
from casefeedback.storage.schema.ratelimits import rate_limits
from casefeedback.storage.schema.receipts import consent_changes, submission_additions
from casefeedback.storage.schema.replies import (
    feedback_replies,
    feedback_replies_by_data_key,
    published_changes,
    published_changes_by_service,
)
from casefeedback.storage.schema.retention import (
    audit_checkpoints,
    erased_keys,
    insight_contributions,
    instance_identity,
    legal_hold_reviews,
    legal_holds,
    purge_runs,
    retired_keks,
    worker_jobs,
)
from casefeedback.storage.schema.staff import (
    break_glass,
    case_outcomes,
    sign_in_challenges,
    sign_in_throttle,
    staff_mfa,
    staff_notifications,
    staff_recovery_codes,
    submission_reads,
)

__all__ = [
    "ID",
    "UTCDateTime",
    "alert_attempts",
    "alert_notifications",
    "alert_recipients",
    "alerts",
    "answers",
    "answers_by_data_key",
    "api_clients",
    "audit_chains",
    "audit_checkpoints",
    "audit_events",
    "break_glass",
    "case_outcomes",
    "cases",
    "consent_changes",
    "consent_receipts",
    "data_keys",
    "draft_answers",
    "drafts",
    "duty_shifts",
    "erased_keys",
    "failure_demand",
    "failure_demand_by_service_time",
    "feedback_replies",
    "feedback_replies_by_data_key",
    "insight_contributed",
    "insight_contributions",
    "insight_counts",
    "insight_submission_counts",
    "insight_submission_months",
    "instance_identity",
    "invitations",
    "legal_hold_reviews",
    "legal_holds",
    "metadata",
    "policy_versions",
    "published_changes",
    "published_changes_by_service",
    "purge_runs",
    "rate_limits",
    "retired_keks",
    "sign_in_challenges",
    "sign_in_throttle",
    "staff",
    "staff_absences",
    "staff_mfa",
    "staff_notifications",
    "staff_recovery_codes",
    "staff_sessions",
    "staff_voice",
    "staff_voice_by_service_time",
    "submission_additions",
    "submission_channels",
    "submission_reads",
    "submissions",
    "submissions_by_service_time",
    "teams",
    "worker_jobs",
]
