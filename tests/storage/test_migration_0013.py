"""Migration 0013 (answers no longer cascade from their data key) runs up and down on a real encrypted
file and on PostgreSQL, keeps every answer, and leaves ciphertext for the sweep once its key is destroyed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData, delete, func, insert, inspect, select

from casefeedback.storage import migrate
from casefeedback.storage.engine import write

NOW = datetime(2026, 1, 2, 3, 4, 5)
ROWS = [
    ("policy_versions", {"version": "v1", "service_id": "svc", "source": "s", "document": "d", "first_loaded_at": NOW}),
    ("submissions", {"id": "sub-1", "service_id": "svc", "policy_version": "v1", "case_id": None, "language": "en",
                     "submitted_at": NOW, "receipt_hash": "c" * 64, "status": "active"}),
    ("data_keys", {"id": "dk-1", "submission_id": "sub-1", "field_class": "rating", "kek_id": "kek-1",
                   "wrapped": b"\x01" * 40, "created_at": NOW}),
    ("data_keys", {"id": "dk-2", "submission_id": "sub-1", "field_class": "narrative", "kek_id": "kek-1",
                   "wrapped": b"\x02" * 40, "created_at": NOW}),
    ("answers", {"id": "ans-1", "submission_id": "sub-1", "question_id": "q1", "field_class": "rating",
                 "data_key_id": "dk-1", "position": 0, "ciphertext": b"\x03" * 30}),
    ("answers", {"id": "ans-2", "submission_id": "sub-1", "question_id": "q2", "field_class": "narrative",
                 "data_key_id": "dk-2", "position": 1, "ciphertext": b"\x04" * 30}),
]


def _tables(engine):
    reflected = MetaData()
    with engine.connect() as connection:
        reflected.reflect(connection)
    return reflected.tables


def _answer_keys(engine, kept=("ix_answers_submission_id", "ix_answers_data_key_id")) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        found = inspect(connection).get_foreign_keys("answers")
        indexes = {i["name"] for i in inspect(connection).get_indexes("answers")}
    assert set(kept) <= indexes  # kept through the copy
    return sorted((fk["referred_table"], fk["options"].get("ondelete", "")) for fk in found)


def _answers(engine) -> list[str]:
    answers = _tables(engine)["answers"]
    with engine.connect() as connection:
        return sorted(connection.execute(select(answers.c.id)).scalars())


def test_0013_up_down_up_keeps_answers_and_lets_them_outlive_their_key(new_database):
    engine = new_database()
    migrate.upgrade(engine, "0012")
    tables = _tables(engine)
    with write(engine) as connection:
        for name, row in ROWS:
            connection.execute(insert(tables[name]).values(row))
    assert _answer_keys(engine) == [("data_keys", "CASCADE"), ("submissions", "CASCADE")]

    migrate.upgrade(engine, "0013")
    assert _answer_keys(engine) == [("submissions", "CASCADE")]
    assert _answers(engine) == ["ans-1", "ans-2"]
    data_keys = _tables(engine)["data_keys"]
    with write(engine) as connection:  # a key destroyed: its ciphertext stays, for the sweep
        connection.execute(delete(data_keys).where(data_keys.c.id == "dk-1"))
    assert _answers(engine) == ["ans-1", "ans-2"]

    migrate.downgrade(engine, "0012")
    # Back to the cascade: what it would never have allowed (ciphertext without its key) is gone.
    assert _answer_keys(engine) == [("data_keys", "CASCADE"), ("submissions", "CASCADE")]
    assert _answers(engine) == ["ans-2"]
    tables = _tables(engine)
    with write(engine) as connection:
        connection.execute(delete(tables["data_keys"]).where(tables["data_keys"].c.id == "dk-2"))
        assert connection.execute(select(func.count()).select_from(tables["answers"])).scalar_one() == 0

    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    # (0020 dropped ix_answers_submission_id: the unique (submission_id, question_id) serves its lookups.)
    assert _answer_keys(engine, kept=("ix_answers_data_key_id",)) == [("submissions", "CASCADE")]
    engine.dispose()
