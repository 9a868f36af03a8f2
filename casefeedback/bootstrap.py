"""Creating an instance: secrets, then the encrypted database at the current schema."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from casefeedback.config import Config
from casefeedback.instance import generate_missing_secrets
from casefeedback.storage import migrate
from casefeedback.storage.engine import open_engine


def create_secrets(instance: Path, origin: Literal["development", "provisioned"]) -> list[Path]:
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    return generate_missing_secrets(instance, origin)


def create_or_upgrade_database(config: Config) -> bool:
    """Return True if the database file was new."""
    new = not config.database_path.exists()
    engine = open_engine(config.database_path, config.secrets.database.value, create=True)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return new
