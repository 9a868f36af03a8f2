"""Storage tests that hold on both engines take ``store_kind`` (one of tests/stores.py STORES) as a parameter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.stores import STORES, empty_store


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def new_database(store_kind: str, tmp_path: Path) -> Iterator[Callable[[], Engine]]:
    """Each call: an engine on another new, empty database of this test's store; all dropped afterwards."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(empty_store(store_kind, tmp_path))
