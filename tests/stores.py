"""Empty databases of either store, for tests that must hold on both engines (DESIGN.md, invariant 9).

SQLCipher: a new encrypted file under a fresh random key. PostgreSQL: a new database with a
unique name on the throwaway server (tests/services.py), made through its admin URL and dropped
afterwards, so no test sees another's tables or rows.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from casefeedback.config import Config
from casefeedback.storage.engine import open_engine, open_postgres
from tests.conftest import make_config
from tests.services import postgres_url

STORES = ("sqlcipher", "postgresql")


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database; dropped (connections and all) on leaving."""
    admin_url = postgres_url()
    name = f"casefeedback_test_{secrets.token_hex(6)}"  # letters, digits and _ only: safe to quote as a name
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def empty_store(kind: str, directory: Path) -> Iterator[Engine]:
    """An engine on a new, empty database of ``kind`` (one of STORES), opened as the application opens it."""
    if kind == "sqlcipher":
        engine = open_engine(directory / f"{secrets.token_hex(4)}.db", os.urandom(32), create=True)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with fresh_postgres_database() as url:
        engine = open_postgres(url, statement_timeout_ms=30_000, lock_timeout_ms=5_000)
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def instance_config(kind: str, directory: Path) -> Iterator[Config]:
    """A fresh test instance (as tests/conftest.py's ``config``) whose database is of ``kind``, at head."""
    if kind == "sqlcipher":
        yield make_config(directory / "instance")
        return
    with fresh_postgres_database() as url:
        yield make_config(directory / "instance", database_url=url)


def stored_bytes(engine: Engine, database_file: Path) -> bytes:
    """Everything the store holds, as an attacker with its disk would read it: the SQLCipher file's bytes, or
    on PostgreSQL every row of every table as text (what a pg_dump of the data would show)."""
    if engine.dialect.name != "postgresql":
        return database_file.read_bytes()
    with engine.connect() as connection:
        tables = connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars()
        return b"".join(row.encode() for name in list(tables) for row in connection.execute(
            text(f'SELECT t::text FROM "{name}" t')).scalars())  # noqa: S608 - names from the catalogue
