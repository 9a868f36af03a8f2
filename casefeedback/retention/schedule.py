"""When a field class of a submission is due to be erased: the policy's ``keep`` after its ``after`` event.

Never early: the due moment is ``keep`` added by calendar rules
(``Duration.after``: one month after 31 January is the last day of February,
never 3 March), and a class is due only once that moment has been reached.

The events:

* ``submitted`` — when the feedback was sent;
* ``case_closed`` — when its case was closed (``cases.closed_at``). Feedback
  not tied to a case (general, anonymous feedback) has no casework to wait
  for: its case counts as closed when it was sent. A re-opened case (no
  ``closed_at``) is not due;
* ``consent_withdrawn`` — when the person withdrew consent (withdrawal erases
  everything at once anyway; this covers a class kept for a while after);
* ``draft_abandoned`` — unfinished answers only (drafts, purged by the intake
  hook). Sent feedback never has this event, so a class counting from it is
  kept until consent is withdrawn; ``casefeedback purge`` warns about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from casefeedback.policy.model import Retention


@dataclass(frozen=True)
class Events:
    submitted: datetime
    has_case: bool
    case_closed: datetime | None
    consent_withdrawn: datetime | None

    def moment(self, event: str) -> datetime | None:
        if event == "submitted":
            return self.submitted
        if event == "case_closed":
            return self.case_closed if self.has_case else self.submitted
        if event == "consent_withdrawn":
            return self.consent_withdrawn
        return None  # draft_abandoned: never, for sent feedback


def due_at(retention: Retention, events: Events) -> datetime | None:
    """The moment this class is due to go, or None while its event has not happened."""
    moment = events.moment(retention.after)
    return None if moment is None else retention.keep.after(moment)


def is_due(retention: Retention, events: Events, as_of: datetime) -> bool:
    due = due_at(retention, events)
    return due is not None and due <= as_of
