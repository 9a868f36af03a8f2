"""Fail closed, fail clearly: a request that finds the database gone gets a calm 503, never a 500 or a trace.

The database is really gone (dropped with its connections ended, as a failed server or failover looks to the
app), on PostgreSQL; on the SQLCipher file a writer that cannot get the file within its busy timeout is the same
"not just now". Either way the page says nothing was half-saved and asks the person to try again, with
Retry-After for a browser, an API client and a load balancer.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from casefeedback import create_app
from casefeedback.storage.engine import unavailable
from tests.conftest import canary, csrf_token
from tests.helpers import ServiceUser
from tests.stores import instance_config


def test_a_database_gone_mid_journey_is_a_calm_503_for_a_person_and_for_the_api(tmp_path: Path) -> None:
    with instance_config("postgresql", tmp_path) as config:
        app = create_app(config)
        client = app.test_client()
        person = ServiceUser(client)
        assert person.consent("store").status_code == 303
        question = f"{person.base}/q/anything_else"
        token = csrf_token(person.page(question))
    # Leaving the block dropped the database and ended every connection to it.
    secret = canary()
    for response in (client.get(question),
                     client.post(question, data={"answer": secret, "action": "continue", "csrf_token": token})):
        page = response.get_data(as_text=True)
        assert response.status_code == 503 and response.headers["Retry-After"] == "30"
        assert "briefly unavailable" in page and "nothing was half-saved" in page
        assert "Traceback" not in page and secret not in page and "psycopg" not in page
    api = app.test_client().get("/api/v1/alerts", headers={"Authorization": "Bearer cf_nothing"})
    assert api.status_code == 503 and api.headers["Retry-After"] == "30"
    assert api.get_json()["status"] == 503 and "nothing was changed" in api.get_json()["detail"]
    log = config.log_path.read_text(encoding="utf-8")
    assert "database unavailable (OperationalError)" in log and secret not in log
    app.extensions["casefeedback"].engine.dispose()


@pytest.mark.parametrize(("error", "expected"), [
    (OperationalError("SELECT 1", {}, Exception("server closed the connection")), True),
    (ValueError("a bug of ours"), False),
    (OperationalError("SELECT 1", {}, Exception("no such table: rate_limits")), False),  # a schema fault
])
def test_only_the_store_being_unreachable_is_called_unavailable(error: Exception, expected: bool) -> None:
    assert unavailable(error) is expected
