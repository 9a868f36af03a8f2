"""Leaving no trace: nothing personal in a URL, a header, a title or the session; no IP, no user agent."""

from __future__ import annotations

import re

from sqlalchemy import select

from casefeedback.storage.engine import read
from casefeedback.storage.tables import (
    answers,
    consent_receipts,
    data_keys,
    draft_answers,
    drafts,
    metadata,
    submissions,
)
from tests.conftest import canary
from tests.helpers import ServiceUser

BASE = "/feedback/victim-support"


class Recorder:
    """Wraps a test client and keeps every response, to look through afterwards."""

    def __init__(self, client) -> None:
        self.client = client
        self.responses: list = []
        for name in ("get", "post"):
            setattr(self, name, self._recording(getattr(client, name)))

    def _recording(self, method):
        def call(*args, **kwargs):
            response = method(*args, **kwargs)
            self.responses.append((args[0] if args else kwargs.get("path", ""), response))
            return response
        return call

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_what_is_written_never_reaches_a_url_a_header_a_title_or_the_session(app, client):
    recorder = Recorder(client)
    secrets = [canary(), canary()]
    user = ServiceUser(recorder)  # type: ignore[arg-type]
    user.consent("store")
    user.answer_all({"safer": secrets[0], "anything_else": f"I want to die {secrets[1]}", "safe_now": "no"})
    user.back("anything_else", secrets[1])
    user.keep_resume_code()
    user.send()
    serializer = app.session_interface.get_signing_serializer(app)
    for path, response in recorder.responses:
        body = response.get_data(as_text=True)
        title = re.search(r"<title>(.*?)</title>", body, re.S)
        for secret in secrets:
            assert secret not in path
            assert all(secret not in value for _name, value in response.headers.items()), path
            assert title is None or secret not in title.group(1), path
        assert title is None or title.group(1) in ("Feedback", "Error: Feedback"), path
        assert response.headers["Cache-Control"].startswith("no-store"), path
    session = serializer.loads(client.get_cookie("casefeedback").value)
    assert set(session) <= {"intake", "csrf_token", "language"}
    assert all(secret not in str(session) for secret in secrets)


def test_anonymous_feedback_stores_no_address_no_user_agent_and_no_case(app, found, config):
    agent = f"Mozilla/5.0 {canary()}"
    address = "203.0.113.77"
    person = app.test_client()
    person.environ_base.update({"REMOTE_ADDR": address, "HTTP_USER_AGENT": agent})
    ServiceUser(person).give_feedback({"treated": "4", "anything_else": "thank you"})
    with read(found.engine) as connection:
        sub = connection.execute(select(submissions)).one()
        everything = [str(tuple(row)) for table in metadata.sorted_tables
                      for row in connection.execute(select(table)).all()]
    assert sub.case_id is None
    for table in (submissions, consent_receipts, answers, data_keys, drafts, draft_answers):  # nowhere to put them
        assert not [c.name for c in table.columns if re.search(r"(^|_)(ip|address|addr|agent)($|_)", c.name)], table
    for row in everything:
        assert address not in row and agent not in row
    for path in (config.instance_dir / "logs").glob("*"):
        data = path.read_text(errors="replace")
        assert address not in data and agent not in data
