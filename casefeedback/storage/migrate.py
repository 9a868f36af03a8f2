"""Schema migrations (Alembic), run from the ``casefeedback`` command, never at import."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The schema this code needs: its head revisions, sorted and comma-joined.

    Independent domains may branch from the same parent; they are applied
    together ("heads") and a merge migration is only needed when two touch the
    same table.
    """
    return ",".join(sorted(ScriptDirectory.from_config(_alembic_config()).get_heads()))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads)) if heads else None


def upgrade(engine: Engine, revision: str = "heads") -> None:
    _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, "downgrade", revision)


def _run(engine: Engine, direction: str, revision: str) -> None:
    config = _alembic_config()
    with engine.connect().execution_options(write=True) as connection:
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)
        connection.commit()
