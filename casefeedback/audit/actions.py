"""Every audit action, declared once, with the kind of object it is about.

An auditor searches the log by action and reads it as a timeline; an action
spelled two ways, or invented by one module, is an event nobody finds. So every
event names a member of ``Action`` (a ``str`` enumeration: what is stored is the
plain dotted name, exactly as before) and nothing else in the package writes an
action as a string literal — ``tests/test_architecture.py`` enforces it.

Alphabetical within each domain, as Warehouse keeps its ``EventTag``.
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    """An audit action: ``domain.verb``. ``object_kind`` is what its ``object_id`` names."""

    object_kind: str | None

    def __new__(cls, value: str, object_kind: str | None = None) -> Action:
        member = str.__new__(cls, value)
        member._value_ = value
        member.object_kind = object_kind
        return member

    # Alerts: raised by a rule, told to people, acknowledged and resolved by staff.
    ALERT_ACKNOWLEDGE = "alert.acknowledge", "alert"
    ALERT_ESCALATE = "alert.escalate", "alert"
    ALERT_EXHAUSTED = "alert.exhausted", "alert"
    ALERT_NOTIFY = "alert.notify", "alert"
    ALERT_RAISE = "alert.raise", "alert"
    ALERT_REMIND = "alert.remind", "alert"
    ALERT_RESOLVE = "alert.resolve", "alert"
    ALERT_ROTA_SET = "alert.rota_set", "service"
    ALERT_SKIP = "alert.skip", "alert"

    # The JSON API: every call by a client (the actor), refused calls, and the clients themselves.
    API_CALL = "api.call", "api_client"
    API_CLIENT_ADD = "api.client_add", "api_client"
    API_CLIENT_REVOKE = "api.client_revoke", "api_client"
    API_REFUSE = "api.refuse", "api_client"

    # The auditor's own reading of the log is itself audited.
    AUDIT_CASE_HISTORY = "audit.case_history", "case"
    AUDIT_CHECKPOINT_EXPORT = "audit.checkpoint_export", "checkpoint"
    AUDIT_EXPORT = "audit.export", "checkpoint"
    AUDIT_WITNESS_START = "audit.witness_start", "checkpoint"

    BACKUP_CREATE = "backup.create", "backup"
    # A scheduled backup, prune or key rotation that failed (the administrators are alerted too).
    BACKUP_FAIL = "backup.fail", "backup"
    # The erasure horizon (keep + rotation) met: every copy kept is within it, no retired key remains.
    BACKUP_HORIZON_MET = "backup.horizon_met", "backup"
    BACKUP_PRUNE = "backup.prune", "backup"
    BACKUP_RESTORE = "backup.restore", "backup"

    BREAK_GLASS_END = "break_glass.end", "case"
    BREAK_GLASS_OPEN = "break_glass.open", "case"

    # "You said, we did": public text a service manager writes, publishes and takes down.
    CHANGE_PUBLISH = "change.publish", "change"
    CHANGE_SAVE = "change.save", "change"
    CHANGE_UNPUBLISH = "change.unpublish", "change"

    CASE_CLOSE = "case.close", "case"
    CASE_CREATE = "case.create", "case"
    CASE_DEPUTY = "case.deputy", "case"
    CASE_OUTCOME = "case.outcome", "case"
    # Moving a leaver's cases: the object is the staff member whose cases moved.
    CASES_MOVE = "cases.move", "staff"

    CONSENT_CHANGE = "consent.change", "submission"
    CONSENT_WITHDRAW = "consent.withdraw", "submission"

    # The instance moved from its SQLCipher file to PostgreSQL (`casefeedback export-to-postgres`): the first
    # event the copied log gains there, with how many rows were copied (never what they hold).
    DATABASE_EXPORT_TO_POSTGRES = "database.export_to_postgres", "database"

    DEMO_SEED = "demo.seed", None

    DRAFT_ERASE = "draft.erase", "draft"
    DRAFT_OPEN = "draft.open", "draft"
    DRAFT_PURGE = "draft.purge", "draft"

    # Crypto-shredding: a data key (and so every field it sealed) destroyed.
    ERASURE = "erasure", "submission"
    # Every erasure the ledger files record destroyed again in a database restored by other means
    # (a PostgreSQL dump or point-in-time recovery): `casefeedback erasures reapply`.
    ERASURES_REAPPLY = "erasures.reapply", "database"

    # A member of staff marks a contact on a case as failure demand (stored without the case).
    FAILURE_DEMAND_MARK = "failure_demand.mark", "case"

    FIELD_OPEN = "field.open", "submission"
    FIELD_WITHHOLD = "field.withhold", "submission"

    INSIGHT_EXPORT = "insight.export", "service"

    INVITATION_CREATE = "invitation.create", "invitation"
    INVITATION_REVOKE = "invitation.revoke", "invitation"
    # Sent by text message through GOV.UK Notify; the number is in no event (it is kept nowhere).
    INVITATION_TEXT = "invitation.text", "invitation"

    KEYS_REKEY_DB = "keys.rekey_db", "database"
    KEYS_RETIRE = "keys.retire", "kek"
    KEYS_REWRAP = "keys.rewrap", "kek"
    KEYS_ROTATE = "keys.rotate", "kek"

    # A case's legal hold: set, reviewed (a new review date and a note) and released. What the hold says is
    # sealed and never in the event; reading it is ``legal_hold.open``, the object being the hold.
    LEGAL_HOLD_OPEN = "legal_hold.open", "legal_hold"
    LEGAL_HOLD_RELEASE = "legal_hold.release", "case"
    LEGAL_HOLD_REVIEW = "legal_hold.review", "case"
    LEGAL_HOLD_SET = "legal_hold.set", "case"

    POLICY_LOAD = "policy.load", "policy"

    # A receipt code sent to the contact a person gave when their feedback was taken (never the address).
    RECEIPT_SEND = "receipt.send", "submission"
    RECEIPT_VERIFY = "receipt.verify", "submission"

    # A caseworker's sealed reply to a piece of feedback, and the content-free notice that one is waiting.
    REPLY_NOTICE = "reply.notice", "submission"
    REPLY_WRITE = "reply.write", "submission"

    RETENTION_PURGE = "retention.purge", "purge"

    STAFF_ABSENCE = "staff.absence", "staff"
    STAFF_ADD = "staff.add", "staff"
    STAFF_DISABLE = "staff.disable", "staff"
    STAFF_ENABLE = "staff.enable", "staff"
    STAFF_MFA_ENROL = "staff.mfa.enrol", "staff"
    STAFF_MFA_RECOVERY_CODES = "staff.mfa.recovery_codes", "staff"
    STAFF_PASSWORD_CHANGE = "staff.password_change", "staff"
    STAFF_REAUTHENTICATE = "staff.reauthenticate", "staff"
    STAFF_RESET = "staff.reset", "staff"
    STAFF_SESSION_END = "staff.session_end", "staff"
    STAFF_SIGN_IN = "staff.sign_in", "staff"
    STAFF_SIGN_OUT = "staff.sign_out", "staff"
    STAFF_UPDATE = "staff.update", "staff"
    # The voice of staff: what got in the way of serving someone (the object is the service).
    STAFF_VOICE = "staff.voice", "service"

    SUBMISSION_ADD = "submission.add", "submission"
    SUBMISSION_OPEN = "submission.open", "submission"
    SUBMISSION_RECEIVE = "submission.receive", "submission"
    # Feedback taken on a person's behalf (by phone, in person, on paper) or through another channel.
    SUBMISSION_TAKE = "submission.take", "submission"

    TEAM_ADD = "team.add", "team"
