"""Changing the audit tables as an attacker with the database key would, then putting everything back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from casefeedback.services import Services


@contextmanager
def tampering(found: Services) -> Iterator[Connection]:
    """A connection whose changes are rolled back on leaving: one Hypothesis example never sees another's."""
    with found.engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()
