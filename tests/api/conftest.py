"""Every API test may use ``caller``: a registered client holding every scope."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.api.support import Caller, register


@pytest.fixture
def caller(app: Flask) -> Caller:
    """A client holding every scope."""
    return register(app, "everything system")
