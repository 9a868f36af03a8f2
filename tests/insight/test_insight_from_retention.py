"""Insight comes from what retention keeps: consenting people's option answers, never free text."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import select

from casefeedback.retention.purge import purge
from casefeedback.storage.engine import read
from casefeedback.storage.tables import insight_contributions, insight_counts
from tests.conftest import canary, csrf_token
from tests.retention.conftest import seed_case, seed_submission


def test_trends_survive_purge_and_free_text_never_enters_insight(client, found, clock, staff_factory, auth):
    secret = canary()
    case_id = seed_case(found, team="North")
    for _ in range(12):
        seed_submission(found, {"treated": "4", "listened": "yes", "anything_else": secret, "safer": secret},
                        case_id=case_id, share_insight=True)
    for _ in range(12):  # no consent to share: counted nowhere in insight answers
        seed_submission(found, {"treated": "1", "listened": "no"}, case_id=case_id, share_insight=False)
    clock.advance(days=2 * 366)
    purge(found, clock.now)
    with read(found.engine) as connection:
        counts = {(r.question_id, r.answer): r.n for r in connection.execute(select(insight_counts))}
        teams = {r.team_id for r in connection.execute(select(insight_counts))}
        contributions = connection.execute(select(insight_contributions)).all()
    assert counts == {("treated", "4"): 12, ("listened", "yes"): 12}
    assert len(teams) == 1 and "" not in teams  # the case's team is counted
    assert len(contributions) == 24  # the counts stay in step with the contributions

    _id, username, password = staff_factory(role="analyst")
    auth.sign_in(username, password)
    page = client.get("/insight/?from=2026-11&to=2026-11").get_data(as_text=True)
    assert ">12<" in page and secret not in page
    exported = client.post("/insight/export", data={"csrf_token": csrf_token(page), "from": "2026-11",
                                                    "to": "2026-11"})
    with zipfile.ZipFile(io.BytesIO(exported.data)) as archive:
        blob = b"".join(archive.read(name) for name in archive.namelist())
        figures = archive.read("insight.csv")
    assert b"listened,yes,12" in blob and secret.encode() not in blob
    # The people who did not agree to share are not in the figures: the grid has a
    # cell for every answer, and theirs ("treated" 1, twelve of them) counts nobody.
    treated_1 = [line for line in figures.decode().splitlines() if ",treated,1," in line]
    assert treated_1 and all(line.endswith(",suppressed") for line in treated_1)
    assert any(line.endswith(",treated,4,12") for line in figures.decode().splitlines())
    assert all(secret not in str(tuple(row)) for row in contributions)
