"""Demo data for trying casefeedback on one machine: a team, staff, a case, an invitation,
and two years of de-identified history (``demo_history``) so insight and the audit log show something."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from casefeedback.alerts.routing import add_shift
from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth import accounts, mfa
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import create_case
from casefeedback.casework.invitations import create_invitation
from casefeedback.demo_history import SERVICE_CHANGE, seed_history
from casefeedback.policy.roles import CONTENT_ROLES
from casefeedback.retention.holds import Changer, set_hold
from casefeedback.services import Services
from casefeedback.storage.engine import write

DEMO_STAFF = (
    ("casey", "Casey Caseworker", "caseworker"),
    ("sam", "Sam Supervisor", "supervisor"),
    ("dana", "Dana Duty-Manager", "duty_manager"),
    ("avery", "Avery Auditor", "auditor"),
    ("alex", "Alex Administrator", "administrator"),
    ("ana", "Ana Analyst", "analyst"),
    ("rita", "Rita Records-Officer", "records_officer"),
)
DEMO_SERVICE = "victim-support"


def credentials_file(found: Services) -> Path:
    return found.config.instance_dir / "demo-credentials.txt"


def seed(found: Services, base_url: str) -> str:
    """Create the demo people once; return the sign-in text (kept in the instance, mode 0600)."""
    path = credentials_file(found)
    if path.exists():
        return path.read_text(encoding="utf-8")
    lines = [f"Demo sign-in at {base_url}/staff/sign-in (development only):"]
    now = found.clock()
    with write(found.engine) as connection:
        team_id = accounts.ensure_team(connection, "Victim support – North")
        ids = {}
        for username, name, role in DEMO_STAFF:
            password = secrets.token_urlsafe(12)
            ids[username] = accounts.add_staff(connection, username=username, display_name=name, role=role,
                                               password=password, now=now,
                                               team_id=team_id if role in CONTENT_ROLES else None)
            # Sign-in needs a second factor: the demo enrols one and prints its key (development only).
            key = mfa.enrol_without_code(connection, ids[username], now)
            lines.append(f"  {role:<15} username {username:<6} password {password}  authenticator key {key}")
        member = StaffMember(ids["casey"], "casey", "Casey Caseworker", "caseworker", team_id)
        case_id = create_case(connection, member=member, service_id=DEMO_SERVICE, reference="VS-2026-0001",
                              now=now)
        token = create_invitation(connection, found.config.secrets.lookup.value, case_id=case_id,
                                  created_by=ids["casey"], now=now, uses=25)
        # Dana is on duty for 30 days, so anonymous feedback reaches a person (alerts/routing.py).
        add_shift(connection, service_id=DEMO_SERVICE, staff_id=ids["dana"], starts_at=now,
                  ends_at=now + timedelta(days=30), set_by=None, now=now)
        # A legal hold on the demo case, due for review in a fortnight, so the records screen has one to show.
        set_hold(connection, found.audit, found.keyring, case_id=case_id, review_by=now + timedelta(days=14),
                 reason="Preservation request from the police (demo ref. OP-2026-117): keep until the trial ends.",
                 now=now, by=Changer(ids["rita"], "records_officer"))
        history = seed_history(found, connection, service_id=DEMO_SERVICE, duty_manager_id=ids["dana"], now=now)
        found.audit.append(connection, AuditEvent(action=Action.DEMO_SEED, outcome="success",
                                                  detail={"staff": len(DEMO_STAFF)}))
    lines.append("Type an authenticator key into any TOTP app (e.g. FreeOTP), or print the current code with:")
    lines.append("  .venv/bin/python -c 'import pyotp,sys; print(pyotp.TOTP(sys.argv[1]).now())' KEY")
    lines.append(f"Feedback for Casey's demo case: {base_url}/feedback/i/{token}")
    change = history.service_change
    lines.append(f"Insight, as ana: {base_url}/insight shows {history.submissions:,} pieces of demo feedback from "
                 f"{history.first_month} to {history.last_month} (de-identified counts only, no answers).")
    lines.append(f"  After a service change on {change.day} {change:%B %Y} ({SERVICE_CHANGE}), satisfaction dips.")
    lines.append(f"General (anonymous) feedback:  {base_url}/feedback/{DEMO_SERVICE}")
    text = "\n".join(lines) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return text
