"""When a field class of a submission is due to be erased: the policy's ``keep`` after its ``after`` event.

Never early: the due moment is ``keep`` added by calendar rules
(``Duration.after``: one month after 31 January is the last day of February,
never 3 March), and a class is due only once that moment has been reached.

What the policy declares is not always what can happen to a given submission,
so the purge and the consent page both read the *effective* rule,
``effective_retention``, and cannot tell a person one thing and do another:

* ``submitted`` — when the feedback was sent;
* ``case_closed`` — when its case was closed (``cases.closed_at``). Feedback
  not tied to a case (general, anonymous feedback) has no casework to wait
  for: its case counts as closed when it was sent, so the effective rule is
  ``keep`` after ``submitted``. A re-opened case (no ``closed_at``) is not due;
* ``consent_withdrawn`` — when the person withdrew consent. Withdrawal erases
  every class at once (``erasure.withdraw``), whatever ``keep`` says, so the
  effective rule is "erased when consent is withdrawn";
* ``draft_abandoned`` — unfinished answers only (drafts, purged by the intake
  hook). Sent feedback never has this event, so the effective rule has no
  event at all: kept until consent is withdrawn; ``casefeedback purge`` warns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from casefeedback.policy.model import Duration, Retention

# The events that can really end a sent submission's class; None in
# ``EffectiveRetention.after`` means none ever comes (kept until withdrawal).
EffectiveEvent = Literal["submitted", "case_closed", "consent_withdrawn"]
NOTHING = Duration(text="P0D")


@dataclass(frozen=True)
class EffectiveRetention:
    """What really happens to one class of sent answers: erased ``keep`` after ``after``.

    ``after`` None: no event ever erases it, so it is kept until the person
    withdraws consent (which erases everything at once).
    """

    keep: Duration
    after: EffectiveEvent | None


def effective_retention(retention: Retention, linked_to_case: bool) -> EffectiveRetention:
    """The rule the purge applies, and the consent page states, for feedback with or without a case."""
    if retention.after == "submitted":
        return EffectiveRetention(retention.keep, "submitted")
    if retention.after == "case_closed":
        return EffectiveRetention(retention.keep, "case_closed" if linked_to_case else "submitted")
    if retention.after == "consent_withdrawn":
        # Withdrawal erases every class there and then: no keep after it ever runs.
        return EffectiveRetention(NOTHING, "consent_withdrawn")
    return EffectiveRetention(retention.keep, None)  # draft_abandoned: sent feedback never has it


@dataclass(frozen=True)
class Events:
    submitted: datetime
    has_case: bool
    case_closed: datetime | None
    consent_withdrawn: datetime | None

    def moment(self, event: EffectiveEvent | None) -> datetime | None:
        if event == "submitted":
            return self.submitted
        if event == "case_closed":
            return self.case_closed
        if event == "consent_withdrawn":
            return self.consent_withdrawn
        return None


def _counted_from(retention: Retention, events: Events) -> tuple[Duration, datetime] | None:
    """What is kept after what moment for this submission, or None while its event has not happened."""
    effective = effective_retention(retention, events.has_case)
    moment = events.moment(effective.after)
    return None if moment is None else (effective.keep, moment)


def due_at(retention: Retention, events: Events) -> datetime | None:
    """The moment this class is due to go, or None while its event has not happened."""
    counted = _counted_from(retention, events)
    return None if counted is None else counted[0].after(counted[1])


def is_due(retention: Retention, events: Events, as_of: datetime) -> bool:
    """Whether the class is due as of ``as_of``: exactly ``due_at(...) <= as_of``.

    The purge asks this of every data key it walks; most are long past their
    moment, or nowhere near it, and ``Duration.least``/``most`` bound the
    calendar sum tightly enough to say so without working it out.
    """
    counted = _counted_from(retention, events)
    if counted is None:
        return False
    keep, moment = counted
    try:
        if moment + keep.most() <= as_of:
            return True
        if moment + keep.least() > as_of:
            return False
    except OverflowError:  # past the year 9999: the calendar sum below says the same, or cannot be made
        pass
    return keep.after(moment) <= as_of
