"""Shared by every command: clear failures, and the instance's services."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from casefeedback.clock import system_clock
from casefeedback.config import Config, ConfigError
from casefeedback.instance import SecretError
from casefeedback.policy import PolicyError, load_policies
from casefeedback.services import Services, build_services
from casefeedback.storage.dialect import StoreOpenError

F = TypeVar("F", bound=Callable[..., Any])


class CommandError(Exception):
    """A command cannot do what was asked; the message says why and what to do."""


EXPECTED_ERRORS = (ConfigError, SecretError, PolicyError, StoreOpenError, CommandError)


def fail_clearly(command: F) -> F:
    """Turn expected failures into one line on stderr and exit status 1 — never a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except EXPECTED_ERRORS as error:
            click.echo(f"casefeedback: {error}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def instance_dir() -> Path:
    return Path(os.environ.get("CASEFEEDBACK_INSTANCE", "instance")).resolve()


def open_services() -> Services:
    """The instance's services, as the web app builds them (callers dispose of the engine)."""
    config = Config.from_environment()
    return build_services(config, load_policies(config.policies_dir), system_clock)
