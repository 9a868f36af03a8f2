"""The worker's alert jobs: deliver the outbox at once, escalate when deadlines pass, remind while overdue.

Delivery polls twice a second (on PostgreSQL the leader is also woken the moment an alert commits:
worker/wakeup.py) and escalation once: cheap indexed queries, and
the submission-to-email time stays around a second (the benchmark measures it). On start the worker
runs them at once, so whatever was missed while it was down goes out first;
state is in the database (the outbox and the deadlines), never in the scheduler.
"""

from __future__ import annotations

from datetime import timedelta

from casefeedback.alerts.delivery import deliver_due
from casefeedback.alerts.escalation import escalate_due
from casefeedback.alerts.reminding import remind_due
from casefeedback.services import Services
from casefeedback.worker.job import Job, idle, register


def run_delivery(found: Services) -> str:
    done = deliver_due(found)
    return done.summary() if done.sent or done.failed or done.dead else idle(done.summary())


def run_escalation(found: Services) -> str:
    moved = escalate_due(found)
    if not moved:
        return idle("0 escalated")
    # Send what escalating queued straight away rather than on the next tick.
    return f"{moved} escalated; {deliver_due(found).summary()}"


def run_reminders(found: Services) -> str:
    reminded = remind_due(found)
    if not reminded:
        return idle("0 reminded")
    return f"{reminded} reminded; {deliver_due(found).summary()}"


DELIVERY_JOB = "alerts.deliver"
register(Job(DELIVERY_JOB, timedelta(milliseconds=500), run_delivery,
             "deliver alert notifications (email, webhook), retrying with backoff", grace=timedelta(minutes=5)))
register(Job("alerts.escalate", timedelta(seconds=1), run_escalation,
             "escalate alerts whose acknowledgement deadline has passed", grace=timedelta(minutes=5)))
# Every 15 s: the shortest reminder interval a policy may declare is a minute.
register(Job("alerts.remind", timedelta(seconds=15), run_reminders,
             "repeat overdue alerts to duty managers and the rota on duty until acknowledged",
             grace=timedelta(minutes=5)))
