"""What the case pages ask for: each function opens its own transaction, decides through ``policy/relations``,
appends its audit events in the same transaction, and returns plain data — or raises CaseNotFound (the
same for "not yours" and "no such case"), NotAllowed, or CaseError with a message for the person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from casefeedback.audit.actions import Action
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import (
    CaseSummary,
    ChangeRule,
    Received,
    case_event,
    case_or_not_found,
    case_submissions,
    case_to_change,
    cases_for,
    close_case,
    create_case,
    deputy_choices,
    mark_read,
    set_deputy,
    visible_case,
)
from casefeedback.casework.invitations import invitations_for_case
from casefeedback.casework.taking import HowItCame, how_it_came
from casefeedback.policy.decisions import AccessGrant, Actor, CaseFacts, decide
from casefeedback.policy.model import ServicePolicy
from casefeedback.policy.relations import may_manage, may_record_outcome
from casefeedback.policy.replies import may_write_reply
from casefeedback.reading import (
    WITHHELD,
    FieldView,
    OutcomeView,
    ReplyView,
    SubmissionView,
    case_facts,
    read_outcomes,
    read_replies,
    read_submission,
)
from casefeedback.services import Services
from casefeedback.storage.engine import read, write


def actor_of(member: StaffMember) -> Actor:
    return Actor(member.id, member.role, member.team_id)


def workspace(found: Services, member: StaffMember) -> list[CaseSummary]:
    """Every case the member may know exists, their own open break-glass included, open ones first."""
    with read(found.engine) as connection:
        return cases_for(connection, member, now=found.clock())


def open_case(found: Services, member: StaffMember, *, service_id: str, reference: str) -> str:
    """Create a case the member holds; CaseError if they have no team or already hold one by that reference."""
    with write(found.engine) as connection:
        case_id = create_case(connection, member=member, service_id=service_id, reference=reference,
                              now=found.clock())
        found.audit.append(connection, case_event(member, Action.CASE_CREATE, case_id))
    return case_id


@dataclass(frozen=True)
class CasePage:
    case: CaseSummary
    submissions: list[Received]
    outcomes: list[OutcomeView]
    deputy_choices: list[tuple[str, str]]  # (staff id, name); empty unless the member may choose
    may_manage: bool
    may_record: bool


def case_page(found: Services, member: StaffMember, case_id: str, *,
              refused_change: ChangeRule | None = None) -> CasePage:
    """The case as this member may see it (their own open break-glass counts), or CaseNotFound.

    ``refused_change``: the page is shown again after a form was refused, so first the same check as the
    change itself (normal access only, then the rule): a break-glass holder or a stranger gets CaseNotFound
    or NotAllowed, never a page.
    """
    with read(found.engine) as connection:
        if refused_change is not None:
            case_to_change(connection, member, case_id, refused_change)
        summary = case_or_not_found(connection, member, case_id, now=found.clock())
        through_glass = summary.break_glass_until is not None
        manage = may_manage(member, summary, through_break_glass=through_glass)
        received = case_submissions(connection, case_id, member.id)
        choices = deputy_choices(connection, summary) if manage else []
    # Outcomes are sealed: the reading service decides and audits each one, in its own transaction.
    opened = read_outcomes(found, actor_of(member), case_id)
    record = may_record_outcome(member, summary, through_break_glass=through_glass) and summary.status == "open"
    return CasePage(summary, received, opened, choices, manage, record)


@dataclass(frozen=True)
class ClosingCase:
    """What closing a case will do, for the page that asks "are you sure?"."""

    case: CaseSummary
    live_invitations: int  # links that still work today and stop working on closing


def case_to_close(found: Services, member: StaffMember, case_id: str) -> ClosingCase:
    """The case as the close confirmation shows it, under exactly the rule closing applies (``may_manage``,
    normal access only): CaseNotFound for strangers, NotAllowed for those who may see but not manage."""
    with read(found.engine) as connection:
        summary = case_to_change(connection, member, case_id, may_manage)
        live = sum(1 for i in invitations_for_case(connection, case_id, found.clock()) if i.state == "active")
    return ClosingCase(summary, live)


def close(found: Services, member: StaffMember, case_id: str) -> bool:
    """Close a case the member may manage; False if it was closed already (nothing changes)."""
    with write(found.engine) as connection:
        case_to_change(connection, member, case_id, may_manage)
        closed = close_case(connection, case_id, found.clock())
        if closed:
            found.audit.append(connection, case_event(member, Action.CASE_CLOSE, case_id))
    return closed


def choose_deputy(found: Services, member: StaffMember, case_id: str, deputy_id: str | None) -> None:
    """Name the case's deputy (None: no deputy); CaseError unless they may hold cases in its team."""
    with write(found.engine) as connection:
        summary = case_to_change(connection, member, case_id, may_manage)
        set_deputy(connection, summary, deputy_id)
        found.audit.append(connection, case_event(member, Action.CASE_DEPUTY, case_id, deputy=deputy_id))


@dataclass(frozen=True)
class OpenedSubmission:
    submission: SubmissionView
    policy: ServicePolicy | None
    case: CaseSummary | None  # None for anonymous feedback
    # Every question of the policy in order: the answer as read, SKIPPED, or WITHHELD where the reader may not
    # open that class, so a withheld question never tells whether it was answered. Then any answer to a
    # question the policy no longer asks.
    fields: list[FieldView]
    # Replies to the person, each opened (or withheld) by the access decision; whether this member may write one.
    replies: list[ReplyView] = field(default_factory=list)
    may_reply: bool = False
    came: HowItCame | None = None  # by phone, in person, on paper...; None: the person's own web form


SKIPPED = "skipped"


def open_submission(found: Services, member: StaffMember, submission_id: str) -> OpenedSubmission:
    """One piece of feedback, field by field as policy allows (``reading.NotFound`` if not theirs), marked read."""
    view = read_submission(found, actor_of(member), submission_id, purpose="casework")
    with write(found.engine) as connection:
        mark_read(connection, member.id, submission_id, found.clock())
        summary = visible_case(connection, member, view.case_id, now=found.clock()) if view.case_id else None
        facts = case_facts(connection, view.case_id, actor_of(member), found=found)
        came = how_it_came(connection, submission_id)
    policy = found.policies.service(view.service_id)
    replies = read_replies(found, actor_of(member), submission_id, "casework")
    may_reply = policy is not None and may_write_reply(policy, member, facts)
    return OpenedSubmission(view, policy, summary, _every_question(view, policy, actor_of(member), facts),
                            replies, may_reply, came)


def _every_question(view: SubmissionView, policy: ServicePolicy | None, actor: Actor,
                    facts: CaseFacts | None) -> list[FieldView]:
    """The answers in the policy's order with a marker for each question left unanswered.

    The marker for an absent answer follows the same decision the reading service makes for a present one
    (no audit event: nothing is opened), so "Skipped" appears only where the answer would have been shown.
    """
    if policy is None:
        return view.fields
    given = {f.question_id: f for f in view.fields}
    shown = []
    for question in policy.questions:
        answer = given.pop(question.id, None)
        if answer is None:
            decision = decide(policy, actor, facts, view.id, question.field_class, "casework")
            state = SKIPPED if isinstance(decision, AccessGrant) else WITHHELD
            answer = FieldView(question, question.id, question.field_class, state)
        shown.append(answer)
    return shown + list(given.values())
