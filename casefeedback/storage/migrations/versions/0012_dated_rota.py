"""The duty rota and absences with dates; when an alert's acknowledgement was first due.

Revision ID: 0012
Revises: 0011

The undated rota becomes dated shifts and nobody loses cover on the way: each
person on a service's rota is on duty from the moment of the upgrade until
someone removes the shift, and each person marked absent is absent from the
day they were marked until someone ends it. The order of the old rota is not
kept: everyone on duty is told now. Alerts get ``due_at`` (raised_at plus the
acknowledgement time), so overdue alerts are found with one indexed query.
"""

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from casefeedback.storage.tables import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = 36


def _uuid() -> str:
    return str(uuid.uuid4())


def upgrade() -> None:
    connection = op.get_bind()
    now = datetime.now(UTC)
    op.create_table(
        "duty_shifts",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.String(ID), sa.ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=True),
        sa.Column("set_by", sa.String(ID), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_duty_shifts_staff_id", "duty_shifts", ["staff_id"])
    op.create_index("ix_duty_shifts_service_starts", "duty_shifts", ["service_id", "starts_at"])
    old_rota = sa.table("duty_rota", sa.column("service_id", sa.String), sa.column("position", sa.Integer),
                        sa.column("staff_id", sa.String))
    shifts = sa.table("duty_shifts", sa.column("id", sa.String), sa.column("service_id", sa.String),
                      sa.column("staff_id", sa.String), sa.column("starts_at", UTCDateTime()),
                      sa.column("ends_at", UTCDateTime()), sa.column("set_by", sa.String),
                      sa.column("created_at", UTCDateTime()))
    rows = connection.execute(sa.select(old_rota).order_by(old_rota.c.service_id, old_rota.c.position)).all()
    if rows:
        op.bulk_insert(shifts, [{"id": _uuid(), "service_id": r.service_id, "staff_id": r.staff_id,
                                 "starts_at": now, "ends_at": None, "set_by": None, "created_at": now}
                                for r in rows])
    op.drop_table("duty_rota")

    old_absences = sa.table("staff_absences", sa.column("staff_id", sa.String), sa.column("since", UTCDateTime()),
                            sa.column("set_by", sa.String))
    away = connection.execute(sa.select(old_absences)).all()
    op.drop_table("staff_absences")
    op.create_table(
        "staff_absences",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("staff_id", sa.String(ID), sa.ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=True),
        sa.Column("set_by", sa.String(ID), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_staff_absences_staff_id", "staff_absences", ["staff_id"])
    absences = sa.table("staff_absences", sa.column("id", sa.String), sa.column("staff_id", sa.String),
                        sa.column("starts_at", UTCDateTime()), sa.column("ends_at", UTCDateTime()),
                        sa.column("set_by", sa.String), sa.column("created_at", UTCDateTime()))
    if away:
        op.bulk_insert(absences, [{"id": _uuid(), "staff_id": r.staff_id, "starts_at": r.since, "ends_at": None,
                                   "set_by": r.set_by, "created_at": r.since} for r in away])

    op.add_column("alerts", sa.Column("due_at", UTCDateTime(), nullable=True))
    op.add_column("alerts", sa.Column("reminded_round", sa.Integer, nullable=True))
    op.create_index("ix_alerts_overdue", "alerts", ["acknowledged_at", "due_at"])
    alerts = sa.table("alerts", sa.column("id", sa.String), sa.column("raised_at", UTCDateTime()),
                      sa.column("acknowledge_seconds", sa.Integer), sa.column("due_at", UTCDateTime()))
    for alert in connection.execute(sa.select(alerts.c.id, alerts.c.raised_at, alerts.c.acknowledge_seconds)).all():
        connection.execute(alerts.update().where(alerts.c.id == alert.id).values(
            due_at=alert.raised_at + timedelta(seconds=alert.acknowledge_seconds)))


def downgrade() -> None:
    connection = op.get_bind()
    op.drop_index("ix_alerts_overdue", table_name="alerts")
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL), not a batch copy: copying would drop
    # and recreate ``alerts``, and with foreign keys on that cascades to who was told.
    op.execute("ALTER TABLE alerts DROP COLUMN reminded_round")
    op.execute("ALTER TABLE alerts DROP COLUMN due_at")

    # Back to one undated row per person: whoever is absent now, and each service's
    # shifts in force now, in the order they started. Dated history does not fit.
    now = datetime.now(UTC)
    absences = sa.table("staff_absences", sa.column("staff_id", sa.String), sa.column("starts_at", UTCDateTime()),
                        sa.column("ends_at", UTCDateTime()), sa.column("set_by", sa.String))
    away = connection.execute(sa.select(absences).where(
        absences.c.starts_at <= now, sa.or_(absences.c.ends_at.is_(None), absences.c.ends_at > now))
        .order_by(absences.c.starts_at)).all()
    op.drop_table("staff_absences")
    op.create_table(
        "staff_absences",
        sa.Column("staff_id", sa.String(ID), sa.ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("set_by", sa.String(ID), nullable=True),
    )
    old_absences = sa.table("staff_absences", sa.column("staff_id", sa.String), sa.column("since", UTCDateTime()),
                            sa.column("set_by", sa.String))
    once = {r.staff_id: r for r in away}
    if once:
        op.bulk_insert(old_absences, [{"staff_id": r.staff_id, "since": r.starts_at, "set_by": r.set_by}
                                      for r in once.values()])

    shifts = sa.table("duty_shifts", sa.column("service_id", sa.String), sa.column("staff_id", sa.String),
                      sa.column("starts_at", UTCDateTime()), sa.column("ends_at", UTCDateTime()))
    on_duty = connection.execute(sa.select(shifts).where(
        shifts.c.starts_at <= now, sa.or_(shifts.c.ends_at.is_(None), shifts.c.ends_at > now))
        .order_by(shifts.c.service_id, shifts.c.starts_at)).all()
    op.drop_table("duty_shifts")
    op.create_table(
        "duty_rota",
        sa.Column("service_id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("staff_id", sa.String(ID), sa.ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
    )
    rota = sa.table("duty_rota", sa.column("service_id", sa.String), sa.column("position", sa.Integer),
                    sa.column("staff_id", sa.String))
    positions: dict[str, list[str]] = {}
    for shift in on_duty:
        people = positions.setdefault(shift.service_id, [])
        if shift.staff_id not in people:
            people.append(shift.staff_id)
    rows = [{"service_id": service, "position": n, "staff_id": staff_id}
            for service, people in positions.items() for n, staff_id in enumerate(people)]
    if rows:
        op.bulk_insert(rota, rows)
