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

import pytest
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from casefeedback.config import Config
from casefeedback.storage import migrate
from casefeedback.storage.engine import open_engine, open_postgres, open_store
from tests.conftest import give_new_identity, make_config
from tests.services import postgres_url

STORES = ("sqlcipher", "postgresql")


# One database per test process already migrated to head, copied for every test that wants one at head: a copy
# (CREATE DATABASE … TEMPLATE) takes a fraction of running every migration again. Per process, because a
# template may have no other connection while it is copied, and pytest-xdist runs several processes at once.
_TEMPLATE = f"casefeedback_template_{os.getpid()}"
_template_made: list[str] = []


def _url_of(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _template_at_head(admin: Engine, admin_url: str) -> str:
    if not _template_made:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{_TEMPLATE}"'))
        engine = open_postgres(_url_of(admin_url, _TEMPLATE), statement_timeout_ms=60_000, lock_timeout_ms=5_000)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()  # a template is copied only with no one connected to it
        _template_made.append(_TEMPLATE)
    return _TEMPLATE


@contextmanager
def fresh_postgres_database(at_head: bool = False) -> Iterator[str]:
    """The URL of a new PostgreSQL database, empty or (``at_head``) with the schema at head and no rows;
    dropped (connections and all) on leaving."""
    admin_url = postgres_url()
    name = f"casefeedback_test_{secrets.token_hex(6)}"  # letters, digits and _ only: safe to quote as a name
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        template = f' TEMPLATE "{_template_at_head(admin, admin_url)}"' if at_head else ""
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{template}'))
        if at_head:
            copy = create_engine(_url_of(admin_url, name), poolclass=NullPool)
            try:
                with copy.begin() as connection:
                    give_new_identity(connection)
            finally:
                copy.dispose()
        try:
            yield _url_of(admin_url, name)
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
    with fresh_postgres_database(at_head=True) as url:
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


# A suite that must hold on both engines imports this into its conftest.py: every test asking for ``config``
# (and so ``app``, ``found``, ``client``…) then runs once on the SQLCipher file and once on PostgreSQL.
# On PostgreSQL the database's URL is also in the environment, as an operator would set it, so a command the
# test runs (``casefeedback audit verify``, in process or as a subprocess) opens the same database.
@pytest.fixture(params=STORES, name="config")
def config_on_each_engine(request: pytest.FixtureRequest, tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch) -> Iterator[Config]:
    with instance_config(request.param, tmp_path) as config:
        if config.database_url is not None:
            monkeypatch.setenv("CASEFEEDBACK_DATABASE_URL", config.database_url)
        else:
            monkeypatch.delenv("CASEFEEDBACK_DATABASE_URL", raising=False)
        yield config


def store_files(config: Config) -> list[Path]:
    """The files an attacker with the disk would read for this instance's database: the SQLCipher file with its
    WAL and shared memory, or on PostgreSQL the database's own directory under ``base/`` and the whole WAL."""
    if not config.store.is_postgres:
        db = config.database_path
        return [p for p in db.parent.iterdir() if p.name.startswith(db.name)]
    data = Path(os.environ["CASEFEEDBACK_TEST_POSTGRES_DATA"])
    engine = open_store(config.store)
    try:
        with engine.connect() as connection:
            oid = connection.execute(
                text("SELECT oid FROM pg_database WHERE datname = current_database()")).scalar_one()
    finally:
        engine.dispose()
    return [p for p in [*(data / "base" / str(oid)).iterdir(), *(data / "pg_wal").iterdir()] if p.is_file()]


def checkpoint(engine: Engine) -> None:
    """Have the store write what it holds in its log into its main files (SQLite's WAL checkpoint, PostgreSQL's
    CHECKPOINT), so a look at the files sees what stays there for good."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("CHECKPOINT" if engine.dialect.name == "postgresql" else "PRAGMA wal_checkpoint(TRUNCATE)")
        raw.commit()
    finally:
        raw.close()


# For a test of something only the SQLCipher file has (its pages, its parallel walk, SQLite's own encodings),
# in a suite that otherwise runs on both engines. Say why beside each use.
sqlcipher_only = pytest.mark.parametrize("config", ["sqlcipher"], indirect=True)


def storable_text(dialect_name: str, **size: int) -> st.SearchStrategy[str]:
    """Any text the store can hold: PostgreSQL refuses NUL and lone surrogates (so no edit of an attacker's can
    contain one); SQLite takes every character."""
    if dialect_name == "postgresql":
        return st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), **size)
    return st.text(**size)
