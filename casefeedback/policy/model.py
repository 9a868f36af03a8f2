"""The policy model: what the TOML in ``policies/`` means once it has been checked.

Everything here is frozen. A policy is loaded once at start-up (or by
``casefeedback policy check``) and never changed in memory: a changed file is a
new policy version, identified by the SHA-256 of its bytes.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from casefeedback.policy.assisted import AssistedRules

# A text in several languages: {"en": "...", "cy": "..."}.
Text = Mapping[str, str]

QuestionKind = Literal["choice", "multi_choice", "rating", "text"]
Severity = Literal["urgent", "high", "routine"]
InsightUse = Literal["aggregate", "none"]
RetentionEvent = Literal["submitted", "case_closed", "consent_withdrawn", "draft_abandoned"]

QUESTION_KINDS: tuple[str, ...] = ("choice", "multi_choice", "rating", "text")
SEVERITIES: tuple[str, ...] = ("urgent", "high", "routine")
INSIGHT_USES: tuple[str, ...] = ("aggregate", "none")
RETENTION_EVENTS: tuple[str, ...] = ("submitted", "case_closed", "consent_withdrawn", "draft_abandoned")

# The relations a staff member can have to a case. The vocabulary is fixed in
# code (it is computed from data, not declared); policies choose among them.
RELATIONS: tuple[str, ...] = (
    "case_owner",
    "case_deputy",
    "team_member",
    "team_supervisor",
    "duty_manager",
)

# The option id every question offers when the policy allows "Prefer not to say".
PREFER_NOT_TO_SAY = "prefer_not_to_say"

# The consent choices the application knows how to honour. "store" gates all
# storage; a policy cannot invent a choice the code would silently ignore.
CONSENT_CHOICES: tuple[str, ...] = ("store", "contact_me", "share_insight")


@dataclass(frozen=True)
class Duration:
    """An ISO-8601 duration (``P2Y``, ``P180D``, ``PT15M``), added by calendar rules.

    Years and months are calendar units: P1M after 31 January is the last day of
    February, never 3 March, so a retention period is never cut short.
    """

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0
    text: str = ""

    def after(self, moment: datetime) -> datetime:
        total_months = moment.month - 1 + self.months + 12 * self.years
        year = moment.year + total_months // 12
        month = total_months % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        shifted = moment.replace(year=year, month=month, day=day)
        return shifted + timedelta(
            weeks=self.weeks, days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds
        )

    def least(self) -> timedelta:
        """The shortest this duration can be, wherever it starts: ``after(m) - m >= least()`` for every ``m``.

        Any twelve months in a row make at least 365 days and any month at
        least 28; the end-of-month rule takes at most 3 days off the total
        (31 January + P1M = 28 February). What the retention purge uses to
        pass over, unread, feedback far too recent to be due.
        """
        calendar_days = 365 * self.years + 28 * self.months
        return timedelta(days=max(calendar_days - 3, 0) + self.days, weeks=self.weeks, hours=self.hours,
                         minutes=self.minutes, seconds=self.seconds)

    def most(self) -> timedelta:
        """The longest this duration can be, wherever it starts: ``after(m) - m <= most()`` for every ``m``.

        Twelve months in a row make at most 366 days and one month at most 31;
        the end-of-month rule only ever takes days off. With ``least`` it lets
        the retention purge decide feedback long past its time without calendar
        arithmetic (``schedule.is_due``).
        """
        return timedelta(days=366 * self.years + 31 * self.months + self.days, weeks=self.weeks,
                         hours=self.hours, minutes=self.minutes, seconds=self.seconds)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Retention:
    keep: Duration
    after: RetentionEvent


@dataclass(frozen=True)
class FieldClass:
    id: str
    description: Text
    retention: Retention
    read: tuple[str, ...]  # relations allowed to open this class for casework
    insight: InsightUse = "none"
    # Relations allowed to write into this class: only the reply class (staff write it, the person reads it).
    write: tuple[str, ...] = ()


@dataclass(frozen=True)
class Option:
    id: str
    text: Text


@dataclass(frozen=True)
class Section:
    id: str
    title: Text
    sensitive: bool = False
    warning: Text = field(default_factory=dict)


@dataclass(frozen=True)
class Question:
    id: str
    kind: QuestionKind
    field_class: str
    text: Text
    hint: Text = field(default_factory=dict)
    options: tuple[Option, ...] = ()
    prefer_not_to_say: bool = False
    max_length: int = 2000
    section: str | None = None
    scale_min: int = 1
    scale_max: int = 5
    # Counts toward "failure demand" in insight; declared in the policy, never guessed from the words.
    failure_demand: bool = False

    def option_ids(self) -> tuple[str, ...]:
        ids = tuple(o.id for o in self.options)
        if self.kind == "rating":
            ids = tuple(str(n) for n in range(self.scale_min, self.scale_max + 1))
        return ids + ((PREFER_NOT_TO_SAY,) if self.prefer_not_to_say else ())

    def shortfall(self, answer: str | None) -> int:
        """Points a rating answer adds to an alert ``score``: how far below the top of the scale it is.

        A skipped answer, "prefer not to say" or anything that is not a rating on
        this question's scale adds nothing: an alert never fires on a guess.
        """
        if self.kind != "rating" or answer is None or not answer.isascii() or not answer.isdigit():
            return 0
        value = int(answer)
        return self.scale_max - value if self.scale_min <= value <= self.scale_max else 0


@dataclass(frozen=True)
class ConsentChoice:
    id: str
    label: Text
    required: bool


@dataclass(frozen=True)
class Consent:
    version: int
    intro: Text
    choices: tuple[ConsentChoice, ...]
    # What a member of staff reads out before the choices when taking feedback by phone or
    # in person (``policy.consent_text.consent_script``); the intro when not declared.
    read_out: Text = field(default_factory=dict)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.choices if c.required)

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.choices if not c.required)


@dataclass(frozen=True)
class Helpline:
    name: Text
    phone: str
    hours: Text = field(default_factory=dict)


@dataclass(frozen=True)
class AlertCondition:
    """Exactly one way of matching is set; the loader guarantees it.

    ``score_questions``/``score_at_least``: the rule fires when the sum of
    ``Question.shortfall`` over those rating questions is at least ``score_at_least``
    (on a 1-5 scale an answer of 1 adds 4 points, 5 adds none). ``question`` is
    None for a score rule.
    """

    question: str | None = None
    equals: str | None = None
    one_of: tuple[str, ...] = ()
    matches: tuple[str, ...] = ()  # case-insensitive regular expressions over a text answer
    score_questions: tuple[str, ...] = ()
    score_at_least: int | None = None


@dataclass(frozen=True)
class AlertRule:
    id: str
    when: AlertCondition
    severity: Severity
    acknowledge_within: Duration
    escalate: tuple[str, ...]
    message: Text = field(default_factory=dict)
    # How many times each notification is tried before it goes to the
    # dead-letter list (and the alert moves on to the next person at once).
    delivery_attempts: int = 8
    # Who may see and act on the alert (open it, acknowledge, resolve), besides whoever
    # was actually told of it. The loader resolves the default (escalate + duty_manager).
    act: tuple[str, ...] = ()
    # What staff read on the alert: what it means in plain words, and what to do now.
    # Staff pages are in English only, so these are plain strings, not texts by language.
    title: str = ""
    guidance: str = ""


# The field class of a caseworker's reply to a piece of feedback, for the person who gave it: declared by a
# service as ``[classes.reply]`` (retention, who reads, who writes); no question may use it.
REPLY_CLASS = "reply"


@dataclass(frozen=True)
class ChangeRules:
    """``[changes]``: the staff roles that may write and publish "You said, we did" for the service."""

    publish: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServicePolicy:
    id: str
    name: Text
    languages: tuple[str, ...]
    exit_url: str
    draft_keep: Duration
    helplines: tuple[Helpline, ...]
    consent: Consent
    classes: Mapping[str, FieldClass]
    sections: Mapping[str, Section]
    questions: tuple[Question, ...]
    alerts: tuple[AlertRule, ...]
    suppress_below: int
    version: str  # SHA-256 hex of the policy file's bytes
    source: str  # the file it came from, as given to the loader

    # ``[changes]``: who publishes "You said, we did" for this service; nobody when undeclared.
    changes: ChangeRules = field(default_factory=ChangeRules)

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


# --- the organisation policy: staff sessions, break-glass, case outcomes ------------------------
#
# One optional file, ``policies/organisation.toml``, holds what is decided for the
# whole organisation rather than per service. Without it the defaults below apply;
# they are the ones the issue and SECURITY.md promise.

ORGANISATION_FILE = "organisation.toml"
# The field class an outcome (a caseworker's sealed note on a case) is decided as.
OUTCOME_CLASS = "case_outcome"


@dataclass(frozen=True)
class StaffSessionRules:
    """How long a staff session lasts. A session is ended by whichever timeout comes first."""

    idle_timeout: timedelta = timedelta(minutes=15)
    # How long before the idle timeout the page warns and offers to stay signed in.
    idle_warning: timedelta = timedelta(minutes=2)
    absolute_timeout: timedelta = timedelta(hours=8)
    # How long a fresh password-and-code check counts for key operations.
    reauthenticate_within: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class BreakGlassRules:
    """Opening a case outside one's normal access (supervisors and duty managers only)."""

    lasts: timedelta = timedelta(minutes=30)
    # While it lasts, the person reads as if they held these relations to the case.
    read_as: tuple[str, ...] = ("case_owner",)


@dataclass(frozen=True)
class OutcomeRules:
    """Who may read a case's recorded outcomes, and how long they are kept after the case closes."""

    read: tuple[str, ...] = ("case_owner", "case_deputy", "team_supervisor")
    keep: Duration = Duration(years=2, text="P2Y")

    def as_field_class(self) -> FieldClass:
        return FieldClass(id=OUTCOME_CLASS, description={"en": "The outcome recorded on a case"},
                          retention=Retention(self.keep, "case_closed"), read=self.read, insight="none")


# Days as the policy writes them; Monday first, as ``datetime.weekday()`` counts.
WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class WorkingHours:
    """When staff normally read feedback: a read outside these hours is flagged for the auditor.

    Judged in the declared time zone, so a read at 07:30 in London is early in
    summer (BST) and in winter alike, whatever UTC says. A shift that runs past
    midnight is not expressible: ``end`` comes after ``start`` on the same day.
    """

    start: time = time(8, 0)
    end: time = time(18, 0)
    days: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri")
    time_zone: str = "Europe/London"

    def includes(self, moment: datetime) -> bool:
        """Whether an aware moment falls on a working day, from ``start`` up to (not including) ``end``."""
        local = moment.astimezone(ZoneInfo(self.time_zone))
        return WEEKDAYS[local.weekday()] in self.days and self.start <= local.time().replace(tzinfo=None) < self.end

    def describe(self) -> str:
        """In words, e.g. "Monday to Friday, 08:00–18:00, Europe/London"."""
        return f"{self._days_in_words()}, {self.start:%H:%M}–{self.end:%H:%M}, {self.time_zone}"

    def _days_in_words(self) -> str:
        indexes = sorted(WEEKDAYS.index(d) for d in self.days)
        names = [_DAY_NAMES[i] for i in indexes]
        if not names:
            return "No days"
        if len(names) == 7:
            return "Every day"
        if len(names) > 2 and indexes == list(range(indexes[0], indexes[-1] + 1)):
            return f"{names[0]} to {names[-1]}"
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


@dataclass(frozen=True)
class AuditRules:
    # How often the worker signs a checkpoint and appends it to the witness: the
    # events of the last interval are the only ones a cut can remove unnoticed.
    checkpoint_every: timedelta = timedelta(minutes=1)


@dataclass(frozen=True)
class BackupRules:
    """``[backups]``: how often the worker backs up, and how long a backup is kept (issue 16).

    Together with ``KeyRules.rotate_every`` they set the erasure horizon: an erased answer is
    unreadable in every copy the system keeps within ``keep + rotate_every``."""

    every: timedelta = timedelta(days=1)
    keep: timedelta = timedelta(days=35)


@dataclass(frozen=True)
class KeyRules:
    """``[keys]``: how often the worker makes a new key-encryption key and re-wraps every data key,
    and, if declared, how often it re-encrypts the whole SQLCipher database under a new database key."""

    rotate_every: timedelta = timedelta(days=30)
    # Off unless declared: the database key guards the file, not erasure (each answer has its own
    # data key), so a routine re-key limits what a leaked database key opens, rather than keeping
    # the erasure horizon. It pauses writes for a moment at its swap.
    rekey_database_every: timedelta | None = None


@dataclass(frozen=True)
class LegalHoldRules:
    """``[legal_hold]``: the longest a hold may go before a records officer reviews it again.

    A hold stops retention erasing a case; a hold nobody looks at again keeps a
    person's words for ever. So every hold carries a review date, never further off
    than this, and a hold whose date has come is shown as due until someone reviews
    or releases it."""

    review_within: Duration = Duration(months=6, text="P6M")


@dataclass(frozen=True)
class DeclaredShift:
    """``[[rota]]``: a person on duty for a service, declared in the policy (times in UTC, resolved
    from ``[working_hours] time_zone`` when loaded). The person is named by username: the policy
    cannot know staff ids, and an unknown name is shown on the rota screen, never guessed at."""

    service_id: str
    username: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class AlertReminders:
    """``[alerts]``: how often an overdue alert is repeated to the duty managers and the rota on duty."""

    remind_overdue_every: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class OrganisationPolicy:
    staff_sessions: StaffSessionRules = field(default_factory=StaffSessionRules)
    break_glass: BreakGlassRules = field(default_factory=BreakGlassRules)
    outcomes: OutcomeRules = field(default_factory=OutcomeRules)
    working_hours: WorkingHours = field(default_factory=WorkingHours)
    audit: AuditRules = field(default_factory=AuditRules)
    backups: BackupRules = field(default_factory=BackupRules)
    keys: KeyRules = field(default_factory=KeyRules)
    legal_hold: LegalHoldRules = field(default_factory=LegalHoldRules)
    rota: tuple[DeclaredShift, ...] = ()
    alerts: AlertReminders = field(default_factory=AlertReminders)
    # Channels, who may take feedback on a person's behalf, failure demand and staff voice.
    assisted: AssistedRules = field(default_factory=AssistedRules)
    source: str | None = None  # None: no file, the defaults apply
    id: str = "organisation"

    @property
    def classes(self) -> Mapping[str, FieldClass]:
        """The classes this policy declares, so the access decision reads it like a service's."""
        return {OUTCOME_CLASS: self.outcomes.as_field_class()}


@dataclass(frozen=True)
class PolicySet:
    services: Mapping[str, ServicePolicy]
    organisation: OrganisationPolicy = field(default_factory=OrganisationPolicy)

    def service(self, service_id: str) -> ServicePolicy | None:
        return self.services.get(service_id)
