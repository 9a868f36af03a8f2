"""Operations tests run on both engines: readiness and the scrape-time counts read the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from casefeedback.config import Config
from tests.conftest import make_config
from tests.stores import STORES, fresh_postgres_database

TOKEN = "metrics-token-for-tests-0123456789abcdef"


@pytest.fixture(params=STORES)
def config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Config]:
    settings = {"metrics_token": TOKEN}
    if request.param == "sqlcipher":
        yield make_config(tmp_path / "instance", **settings)
        return
    with fresh_postgres_database() as url:
        yield make_config(tmp_path / "instance", database_url=url, **settings)
