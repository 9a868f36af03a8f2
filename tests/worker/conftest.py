"""Worker tests work on the services alone (no web app, which would hold the instance's running lock)."""

from tests.retention.conftest import found  # noqa: F401  (the services-only fixture)
