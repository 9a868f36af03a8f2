"""One alert's page says why and what now: the rule's title and guidance, the answer that raised it (opened
through the access decision and audited, withheld or gone where it must be), contact, time left, and who
has been told; resolving asks what was done. The inbox puts overdue alerts first."""

from __future__ import annotations

import re
from typing import Any

from casefeedback.alerts.delivery import deliver_due
from casefeedback.alerts.escalation import escalate_due
from tests.alerts.conftest import Team, email_of
from tests.alerts.support import all_alerts
from tests.casework.support import Person, events, feedback
from tests.conftest import canary
from tests.helpers import ServiceUser
from tests.receipts.receipt_holder import ReceiptHolder, give, invited_case


def page_of(someone: Person, alert: Any) -> str:
    response = someone.get(f"/alerts/a/{alert.reference}")
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def main_text(html: str) -> str:
    """What a person reads in the page's main part: no tags, no attributes."""
    main = html[html.index("<main"):html.index("</main>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def answer_reads(found: Any, actor_id: str) -> list[Any]:
    return [e for e in events(found, "field.open") + events(found, "field.withhold")
            if e.object_type == "answer" and e.actor_id == actor_id]


def sign_in_again(*people: Person) -> None:
    for someone in people:
        assert someone.auth.sign_in(someone.username, someone.password).status_code == 302


def test_the_page_says_what_the_alert_means_and_what_to_do_never_the_rule_id(app, found, team):
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    html = page_of(team.owner, alert)
    text = main_text(html)
    assert "<h1" in html and "Says they are not safe now</h1>" in html
    assert "Call them within 15 minutes" in text and "call 999 and ask for a welfare check" in text
    assert '<strong class="tag tag--red">Urgent</strong>' in html
    assert "unsafe-now" not in html and alert.rule_id not in html
    for raw in ("urgent", "case_owner", "duty_manager", "stranded", "safe_now"):
        assert not re.search(rf"\b{raw}\b", text), raw
    inbox = team.owner.get("/alerts/").get_data(as_text=True)
    assert "Says they are not safe now" in inbox and "unsafe-now" not in inbox and "Urgent" in inbox


def test_the_answer_is_shown_to_the_owner_and_each_field_opened_is_audited_once(app, found, team):
    secret = canary()
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no", "safer": f"I feel unsafe {secret}"})
    harm = next(a for a in all_alerts(found) if a.rule_id == "harm-words-safety")
    html = page_of(team.owner, harm)
    assert "Is there anything that would help you feel safer?" in html and secret in html
    assert "Words of danger or self-harm in what they wrote about their safety" in html
    (opened,) = answer_reads(found, team.owner.id)
    assert opened.action == "field.open" and opened.outcome == "allowed" and opened.field_class == "safety"
    unsafe = next(a for a in all_alerts(found) if a.rule_id == "unsafe-now")
    html = page_of(team.owner, unsafe)
    assert re.search(r"Do you feel safe right now\?</dt>\s*<dd[^>]*data-answer=\"open\"[^>]*><span[^>]*>No<", html)
    assert secret not in html  # only the question the rule watches is opened
    assert [e.action for e in answer_reads(found, team.owner.id)] == ["field.open", "field.open"]


def test_someone_told_whom_the_class_does_not_allow_sees_withheld_by_policy(app, found, team, clock):
    secret = canary()
    feedback(app, found, team.case_id, team.owner.id, {"anything_else": f"I want to die {secret}"})
    (alert,) = all_alerts(found)  # harm-words-narrative: the narrative class is read by the case owner alone
    clock.advance(hours=1, seconds=1)
    escalate_due(found)  # the deputy is told now
    sign_in_again(team.deputy, team.owner)
    html = page_of(team.deputy, alert)
    assert "Withheld by policy" in html and secret not in html and 'data-answer="withheld"' in html
    assert [(e.action, e.field_class) for e in answer_reads(found, team.deputy.id)] == [
        ("field.withhold", "narrative")]
    assert secret in page_of(team.owner, alert)


def test_anonymous_safety_alert_the_duty_manager_reads_the_question_and_the_answer(app, found, team, client):
    """Defect 3: the consent page promised the duty manager would see the safety answers of anonymous feedback."""
    secret = canary()
    ServiceUser(client).give_feedback({"safe_now": "no", "safer": f"he will hurt me {secret}"})
    assert {a.case_id for a in all_alerts(found)} == {None}
    harm = next(a for a in all_alerts(found) if a.rule_id == "harm-words-safety")
    unsafe = next(a for a in all_alerts(found) if a.rule_id == "unsafe-now")
    html = page_of(team.duty, harm)
    assert "Anonymous feedback" in html
    assert "Is there anything that would help you feel safer?" in html and secret in html
    assert re.search(r"Do you feel safe right now\?</dt>\s*<dd[^>]*data-answer=\"open\"[^>]*><span[^>]*>No<",
                     page_of(team.duty, unsafe))
    reads = answer_reads(found, team.duty.id)
    assert [(e.action, e.outcome, e.field_class) for e in reads] == [("field.open", "allowed", "safety")] * 2
    assert "We do not know who they are" in html  # nobody can call back anonymous feedback
    # Nobody was on the rota, so the duty manager was the first told: not an escalation.
    text = main_text(html)
    skipped, told = text.find("Nobody available on the duty rota"), text.find("(duty manager) was told on screen")
    assert -1 < skipped < told and "Escalated" not in text
    # A caseworker of the team has no part in anonymous feedback: not found, and nothing opened for them.
    assert team.owner.get(f"/alerts/a/{harm.reference}").status_code == 404
    assert answer_reads(found, team.owner.id) == []


def test_after_withdrawal_the_answer_is_no_longer_held(app, found, team, client):
    case_id, token = invited_case(found, team.owner.id, reference="W-1")
    client.get(f"/feedback/i/{token}")
    code, _submission = give(client, {"safe_now": "no"}, choices=("store", "contact_me"))
    (alert,) = all_alerts(found)
    assert alert.case_id == case_id
    before = page_of(team.owner, alert)
    assert 'data-answer="open"' in before and "They agreed to be contacted." in before
    holder = ReceiptHolder(client)
    holder.check(code)
    assert holder.withdraw().status_code in (200, 303)
    after = page_of(team.owner, alert)
    assert "No longer held" in after and 'data-answer="gone"' in after and 'data-answer="open"' not in after
    assert len(answer_reads(found, team.owner.id)) == 1  # only the read before the withdrawal


def test_contact_says_when_nothing_was_agreed(app, found, team):
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    html = page_of(team.owner, alert)
    assert "They did not agree to be contacted" in html and "Through their case, C-1" in html


def test_time_left_counts_down_then_says_how_long_overdue(app, found, team, clock):
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    clock.advance(minutes=3)
    html = page_of(team.owner, alert)
    assert re.search(r'<time class="alert-due" data-alert-due\s+datetime="2026-11-02T09:45:00Z" '
                     r'data-checked-at="2026-11-02T09:33:00Z">12 minutes left to acknowledge</time>', html)
    assert '<script src="/static/alert-countdown.js" defer></script>' in html
    clock.advance(minutes=13, seconds=30)
    html = page_of(team.owner, alert)
    assert ">Overdue by 1 minute</time>" in html and "Overdue</strong>" in html
    inbox = team.owner.get("/alerts/").get_data(as_text=True)
    assert "Overdue by 1 minute" in inbox and "data-overdue" in inbox
    team.owner.form_post(f"/alerts/a/{alert.reference}", f"/alerts/a/{alert.reference}/acknowledge")
    html = page_of(team.owner, alert)
    assert "left to acknowledge" not in html and "Overdue by" not in html and "data-alert-due" not in html


def test_the_timeline_shows_who_was_told_what_failed_who_acknowledged_and_resolved(app, found, team, clock,
                                                                                  smtp):
    smtp.mailbox.reject = {email_of(team.owner)}
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    deliver_due(found)  # the email is refused, the webhook delivered
    clock.advance(minutes=15, seconds=1)
    escalate_due(found)  # the deputy is told
    sign_in_again(team.owner, team.deputy)
    page = f"/alerts/a/{alert.reference}"
    assert team.deputy.form_post(page, f"{page}/acknowledge").status_code == 303
    assert team.owner.form_post(page, f"{page}/resolve", {"outcome": "Called her."}).status_code == 303
    text = main_text(page_of(team.owner, alert))
    owner, deputy = team.owner.username.title(), team.deputy.username.title()
    timeline = text[text.index("What has happened"):]
    expected = [
        "Raised when the feedback was sent",
        f"{owner} (case owner) was told on screen",
        f"Email to {owner} failed, tried 1 time (recipient refused); not tried again once the alert was "
        "acknowledged Failed",
        "Message to the duty system (webhook) delivered Delivered",
        f"Escalated to {deputy} (case deputy): told on screen",
        f"Acknowledged by {deputy}",
        f"Resolved by {owner}",
    ]
    positions = [timeline.find(line) for line in expected]
    assert -1 not in positions, [line for line, at in zip(expected, positions, strict=True) if at < 0]
    assert positions == sorted(positions)


def test_resolving_with_an_empty_note_is_a_400_with_an_error_summary(app, found, team):
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    page = f"/alerts/a/{alert.reference}"
    assert "What did you do?" in page_of(team.owner, alert)
    empty = team.owner.form_post(page, f"{page}/resolve", {"outcome": "  "})
    html = empty.get_data(as_text=True)
    assert empty.status_code == 400
    assert 'class="error-summary"' in html and "There is a problem" in html
    assert '<a href="#outcome">Write what you did before resolving the alert</a>' in html
    assert '<span class="visually-hidden">Error:</span> Write what you did' in html
    assert "<title>Error: " in html
    assert all_alerts(found)[0].resolved_at is None


def test_the_inbox_puts_overdue_first_then_open_by_deadline_then_acknowledged_then_resolved(app, found,
                                                                                           team: Team, clock):
    def raise_one(answers: dict[str, str | list[str]]) -> Any:
        before = {a.id for a in all_alerts(found)}
        feedback(app, found, team.case_id, team.owner.id, answers)
        (new,) = [a for a in all_alerts(found) if a.id not in before]
        return new

    overdue = raise_one({"safe_now": "no"})
    clock.advance(minutes=1)
    routine = raise_one({"treated": "1"})
    acknowledged, resolved, later = (raise_one({"safe_now": "no"}) for _ in range(3))
    owner = team.owner
    owner.form_post(f"/alerts/a/{acknowledged.reference}", f"/alerts/a/{acknowledged.reference}/acknowledge")
    owner.form_post(f"/alerts/a/{resolved.reference}", f"/alerts/a/{resolved.reference}/resolve",
                    {"outcome": "Done."})
    clock.advance(minutes=14, seconds=30)  # the first is past due; the later one has 30 seconds left
    inbox = owner.get("/alerts/").get_data(as_text=True)
    order = [overdue, later, routine, acknowledged, resolved]
    positions = [inbox.find(a.reference) for a in order]
    assert -1 not in positions and positions == sorted(positions), [a.rule_id for a in order]
    case_page = owner.get(f"/casework/cases/{team.case_id}").get_data(as_text=True)
    positions = [case_page.find(a.reference) for a in order]
    assert -1 not in positions and positions == sorted(positions)
    assert "Says they were treated badly" in inbox and "Routine" in inbox
