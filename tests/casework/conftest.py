"""The casework suite must hold on both engines: every test here runs on the SQLCipher file and on PostgreSQL."""

from tests.stores import config_on_each_engine  # noqa: F401 - the suite's ``config`` fixture
