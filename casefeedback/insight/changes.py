""""You said, we did": what a service changed because of what people said, per period, in every language it offers.

Written, previewed, published and unpublished by the roles a service's policy
names (``[changes] publish``, decided in ``policy/replies.py``); every save,
publish and unpublish is audited in the transaction that makes it. The words
are public text, written to be published, so they are stored as they are,
not sealed — which is why the form tells the writer never to put in anything
about one person. The public pages read only what is published.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth.sessions import StaffMember
from casefeedback.insight.periods import PeriodError, parse_period
from casefeedback.policy.model import ServicePolicy
from casefeedback.policy.replies import may_publish_changes
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import published_changes, staff

MAX_SAID = 600
MAX_DID = 1200
# On the front page and a receipt page: the newest few for each service, so the page stays short.
SHOWN_PER_SERVICE = 3


class ChangeNotFound(Exception):
    """No such change for this member: the same whether it exists for another service or not at all."""


class NotPermitted(Exception):
    """The member's role may not publish changes for any service (or for this one)."""


class ChangeRefused(Exception):
    """What was typed cannot be saved; ``problems`` maps each form field to what to put right."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = dict(problems)


@dataclass(frozen=True)
class Change:
    id: str
    service_id: str
    period: str
    period_starts: datetime
    said: Mapping[str, str]  # by language
    did: Mapping[str, str]
    status: str  # draft, published, unpublished
    updated_at: datetime
    published_at: datetime | None = None
    author: str = ""


@dataclass(frozen=True)
class Typed:
    """A change as the form sent it: the service, the period as typed, and the texts by language."""

    service_id: str
    period: str
    said: Mapping[str, str]
    did: Mapping[str, str]


def publishable_services(found: Services, member: StaffMember) -> list[ServicePolicy]:
    """The services this member's role may publish changes for; NotPermitted if none."""
    mine = [p for p in found.policies.services.values() if may_publish_changes(p, member.role)]
    if not mine:
        raise NotPermitted()
    return mine


def _change(row: Any) -> Change:
    return Change(row.id, row.service_id, row.period, row.period_starts, json.loads(row.said), json.loads(row.did),
                  row.status, row.updated_at, row.published_at, getattr(row, "display_name", ""))


def changes_for(found: Services, member: StaffMember) -> list[Change]:
    """Every change of the member's services, newest period first (drafts and unpublished ones too)."""
    ids = [p.id for p in publishable_services(found, member)]
    with read(found.engine) as connection:
        rows = connection.execute(
            select(published_changes, staff.c.display_name)
            .join(staff, staff.c.id == published_changes.c.created_by)
            .where(published_changes.c.service_id.in_(ids))
            .order_by(published_changes.c.period_starts.desc(), published_changes.c.created_at.desc())).all()
    return [_change(row) for row in rows]


def change_for(found: Services, member: StaffMember, change_id: str) -> Change:
    ids = [p.id for p in publishable_services(found, member)]
    with read(found.engine) as connection:
        return _mine(connection, ids, change_id)


def _mine(connection: Connection, service_ids: Sequence[str], change_id: str) -> Change:
    row = connection.execute(select(published_changes, staff.c.display_name)
                             .join(staff, staff.c.id == published_changes.c.created_by)
                             .where(published_changes.c.id == change_id,
                                    published_changes.c.service_id.in_(list(service_ids)))).first()
    if row is None:
        raise ChangeNotFound()
    return _change(row)


def checked(found: Services, member: StaffMember, typed: Typed) -> tuple[ServicePolicy, str, datetime,
                                                                          dict[str, str], dict[str, str]]:
    """The change as it will be stored, or ChangeRefused naming every problem at once."""
    policy = next((p for p in publishable_services(found, member) if p.id == typed.service_id), None)
    problems: dict[str, str] = {}
    if policy is None:
        problems["service"] = "Choose a service you may publish changes for."
    try:
        period, starts = parse_period(typed.period, found.clock())
    except PeriodError as error:
        problems["period"] = str(error)
        period, starts = "", found.clock()
    said: dict[str, str] = {}
    did: dict[str, str] = {}
    # Every language the service offers is required: a reader sees the change in their own language or not
    # at all, never half in another.
    for language in policy.languages if policy else ("en",):
        name = "Welsh" if language == "cy" else "English"
        for kind, texts, limit, what in (("said", said, MAX_SAID, "what people said"),
                                         ("did", did, MAX_DID, "what you did")):
            text = (typed.said if kind == "said" else typed.did).get(language, "").strip()
            if not text:
                problems[f"{kind}_{language}"] = f"Write {what}, in {name}."
            elif len(text) > limit:
                problems[f"{kind}_{language}"] = f"Keep {what} in {name} under {limit} characters."
            texts[language] = text
    if problems or policy is None:
        raise ChangeRefused(problems)
    return policy, period, starts, said, did


def save_change(found: Services, member: StaffMember, typed: Typed, *, nonce: str,
                change_id: str | None = None) -> str:
    """Store a new draft (``change_id`` None) or new words for one not published; return its id.

    The same new-change form sent twice stores one draft. A published change is unpublished before it
    is changed, so the public never reads words that were not previewed.
    """
    policy, period, starts, said, did = checked(found, member, typed)
    now = found.clock()
    values = {"service_id": policy.id, "period": period, "period_starts": starts, "updated_at": now,
              "said": json.dumps(said, ensure_ascii=False, sort_keys=True),
              "did": json.dumps(did, ensure_ascii=False, sort_keys=True)}
    with write(found.engine) as connection:
        if change_id is None:
            same = connection.execute(select(published_changes.c.id)
                                      .where(published_changes.c.form_nonce == nonce)).scalar()
            if same is not None:
                return str(same)
            change_id = str(uuid.uuid4())
            connection.execute(insert(published_changes).values(
                id=change_id, status="draft", created_by=member.id, created_at=now, form_nonce=nonce, **values))
        else:
            current = _mine(connection, [p.id for p in publishable_services(found, member)], change_id)
            if current.status == "published":
                raise ChangeRefused({"said_en": "Unpublish this change before you change its words."})
            connection.execute(update(published_changes).where(published_changes.c.id == change_id).values(**values))
        _audit(found, connection, member, Action.CHANGE_SAVE, change_id, policy.id, period)
    return change_id


def set_published(found: Services, member: StaffMember, change_id: str, publish: bool) -> bool:
    """Publish or unpublish a change of the member's services; False if it already was (nothing changes)."""
    now = found.clock()
    with write(found.engine) as connection:
        current = _mine(connection, [p.id for p in publishable_services(found, member)], change_id)
        wanted = "published" if publish else "unpublished"
        if current.status == wanted or (not publish and current.status == "draft"):
            return False
        connection.execute(update(published_changes).where(published_changes.c.id == change_id).values(
            status=wanted, updated_at=now, **({"published_at": now} if publish else {})))
        _audit(found, connection, member, Action.CHANGE_PUBLISH if publish else Action.CHANGE_UNPUBLISH, change_id,
               current.service_id, current.period)
    return True


def _audit(found: Services, connection: Connection, member: StaffMember, action: Action, change_id: str,
           service_id: str, period: str) -> None:
    # Ids and the period only: the words are on the public page (or about to be), not in the log.
    found.audit.append(connection, AuditEvent(action=action, outcome="success", actor_id=member.id,
                                              actor_role=member.role, object_type="change", object_id=change_id,
                                              detail={"service": service_id, "period": period}))


def published(found: Services, service_ids: Sequence[str] | None = None,
              per_service: int = SHOWN_PER_SERVICE) -> list[Change]:
    """What the public pages show: the newest published changes of each service (all services if None)."""
    wanted = list(service_ids) if service_ids is not None else list(found.policies.services)
    shown: list[Change] = []
    with read(found.engine) as connection:
        for service_id in wanted:
            rows = connection.execute(
                select(published_changes).where(published_changes.c.service_id == service_id,
                                                published_changes.c.status == "published")
                .order_by(published_changes.c.period_starts.desc(), published_changes.c.published_at.desc())
                .limit(per_service)).all()
            shown += [_change(row) for row in rows]
    return shown
