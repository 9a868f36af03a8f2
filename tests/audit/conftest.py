"""Audit tests need the services (engine, audit log, keys), not the web app — except the auditor view's."""

from __future__ import annotations

import pytest

from casefeedback.policy import load_policies
from casefeedback.services import build_services
from tests.stores import config_on_each_engine  # noqa: F401 - every test here runs on both engines


@pytest.fixture
def found(request, config, clock):
    if "app" in request.fixturenames:  # the auditor view's tests: the app's own services
        services = request.getfixturevalue("app").extensions["casefeedback"]
        yield services
        return
    services = build_services(config, load_policies(config.policies_dir), clock)
    yield services
    services.engine.dispose()
