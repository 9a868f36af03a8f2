"""What the insight pages ask for: the figures for a scope, and a signed export of them, audited.

Counts only, suppressed before anything is shown or shared (``report``,
``export``). Filters come from the address bar or a form, so every one is
checked against known services and teams before any count is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.audit.checkpoints import instance_id
from casefeedback.auth.sessions import StaffMember
from casefeedback.insight import monthly
from casefeedback.insight.channels import ChannelInsight, build_channels
from casefeedback.insight.counts import Scope
from casefeedback.insight.export import build_bundle
from casefeedback.insight.filters import Choices, FilterError, months_between, parse
from casefeedback.insight.report import Report, build
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import teams


class ScopeRefused(Exception):
    """The filters cannot be used: ``problem`` says what to change; ``choices`` are what they may be."""

    def __init__(self, problem: str, choices: Choices) -> None:
        super().__init__(problem)
        self.problem = problem
        self.choices = choices


class NoSigningKey(Exception):
    """This instance has no insight signing key, so an export could not be verified by whoever receives it."""


@dataclass(frozen=True)
class Figures:
    choices: Choices
    report: Report
    # By channel, and what staff said (failure demand they marked, what got in the way).
    channels: ChannelInsight | None = None


@dataclass(frozen=True)
class SignedExport:
    body: bytes  # the zip
    filename: str


def _choices(found: Services, connection: Connection) -> Choices:
    return Choices(services={sid: p.name.get("en", sid) for sid, p in found.policies.services.items()},
                   teams={r.id: r.name for r in connection.execute(select(teams.c.id, teams.c.name)
                                                                   .order_by(teams.c.name))})


def _scope(found: Services, connection: Connection, args: Mapping[str, str],
           now: datetime) -> tuple[Scope, Choices]:
    choices = _choices(found, connection)
    try:
        return parse(args, choices, now), choices
    except FilterError as problem:
        raise ScopeRefused(str(problem), choices) from None


def figures(found: Services, args: Mapping[str, str]) -> Figures:
    """The report for the scope ``args`` ask for, refreshing the monthly cache first if it is out of date."""
    now = found.clock()
    with read(found.engine) as connection:
        scope, choices = _scope(found, connection, args, now)
        stale = monthly.needs_refresh(connection, scope, now)
    if stale:
        # Counts only; a separate short write, so the page's read never holds the write lock.
        with write(found.engine) as connection:
            monthly.refresh(connection, scope.service_id, months_between(scope.first_month, scope.last_month), now)
    with read(found.engine) as connection:
        policy = found.policies.services[scope.service_id]
        report = build(connection, policy, scope, now)
        channels = build_channels(connection, found.policies.organisation.assisted, scope, policy.suppress_below)
    return Figures(choices, report, channels)


def signed_export(found: Services, member: StaffMember, args: Mapping[str, str]) -> SignedExport:
    """The scope's published counts as a signed bundle for a partner agency."""
    seed = found.config.secrets.insight_signing
    if seed is None:
        raise NoSigningKey
    with write(found.engine) as connection:
        scope, choices = _scope(found, connection, args, found.clock())
        bundle = build_bundle(connection, found.policies.services[scope.service_id], scope, choices.teams,
                              seed=seed.value, instance_id=instance_id(connection), now=found.clock(),
                              licence=found.config.insight_licence)
        # In the same transaction: no export leaves without its audit event.
        found.audit.append(connection, AuditEvent(
            action=Action.INSIGHT_EXPORT, outcome="success", actor_id=member.id, actor_role=member.role,
            object_type="service", object_id=scope.service_id, purpose="insight",
            detail={"team": scope.team_id, "from": scope.first_month, "to": scope.last_month,
                    "rows": bundle.rows, "manifest_sha256": bundle.manifest_sha256}))
    name = f"casefeedback-insight-{scope.service_id}-{scope.first_month}-{scope.last_month}.zip"
    return SignedExport(bundle.zip_bytes(), name)
