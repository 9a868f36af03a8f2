"""Seeding insight counts straight into the store, the way retention's contributions add to them."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete

from casefeedback.auth import accounts
from casefeedback.insight.counts import CountKey, add_counts
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.tables import insight_counts

SERVICE = "victim-support"


def team(found: Services, name: str) -> str:
    with write(found.engine) as connection:
        return accounts.ensure_team(connection, name)


def set_counts(found: Services, counts: Mapping[CountKey, int]) -> None:
    """Replace every count with these (zero-count keys are left out, as a real store has none)."""
    with write(found.engine) as connection:
        connection.execute(delete(insight_counts))
        add_counts(connection, [key for key, n in counts.items() for _ in range(n)])
