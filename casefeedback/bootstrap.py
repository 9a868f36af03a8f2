"""Creating an instance: secrets, then its database (SQLCipher file or PostgreSQL) at the current schema."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from casefeedback.config import Config
from casefeedback.instance import generate_missing_secrets
from casefeedback.storage import migrate
from casefeedback.storage.engine import open_store


def create_secrets(instance: Path, origin: Literal["development", "provisioned"]) -> list[Path]:
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    return generate_missing_secrets(instance, origin)


def create_or_upgrade_database(config: Config) -> bool:
    """Return True if the database was new: a new SQLCipher file, or a PostgreSQL database with no schema yet."""
    new = config.store.is_postgres or not config.database_path.exists()
    engine = open_store(config.store, create=True)
    try:
        new = new and migrate.current_revision(engine) is None
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return new
