"""The append-only, HMAC-chained audit log: who touched what, when, why — never the content."""

from casefeedback.audit.actions import Action
from casefeedback.audit.log import AuditEvent, AuditLog, VerifyReport

__all__ = ["Action", "AuditEvent", "AuditLog", "VerifyReport"]
