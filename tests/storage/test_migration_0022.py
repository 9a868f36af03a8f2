"""Migration 0022 stores a draft's saved answers in key order (WITHOUT ROWID on SQLite): up, down and up again on a
real encrypted file and a real PostgreSQL database, every saved answer kept with its id and bytes, its constraints
and its draft's cascade still in force."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, MetaData, inspect, select, text
from sqlalchemy.exc import IntegrityError

from casefeedback.storage import migrate
from casefeedback.storage.engine import write
from casefeedback.storage.ids import grouped_id

DRAFT = "5f0c8a34-2b7e-4c61-9d3e-0a1b2c3d4e5f"
SAVED = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
ANSWERS = [(f"00000000-0000-7000-8000-00000000000{n}", f"q{n}", b"wrapped-%d" % n, b"sealed-%d" % n)
           for n in range(3)]


def _table(engine: Engine, name: str):  # type: ignore[no-untyped-def]
    reflected = MetaData()
    with engine.connect() as connection:
        reflected.reflect(connection, only=[name])
    return reflected.tables[name]


def _rows(engine: Engine) -> list[tuple[object, ...]]:
    table = _table(engine, "draft_answers")
    with engine.connect() as connection:
        return sorted(tuple(row) for row in connection.execute(
            select(table.c.id, table.c.draft_id, table.c.question_id, table.c.wrapped, table.c.ciphertext)))


def _without_rowid(engine: Engine) -> bool:
    with engine.connect() as connection:
        sql = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = 'draft_answers'")).scalar_one()
    return "WITHOUT ROWID" in str(sql)


def _shape(engine: Engine) -> tuple[list[str], list[str], list[str]]:
    with engine.connect() as connection:
        inspector = inspect(connection)
        uniques = sorted(str(unique["name"]) for unique in inspector.get_unique_constraints("draft_answers"))
        return (inspector.get_pk_constraint("draft_answers")["constrained_columns"],
                sorted(str(index["name"]) for index in inspector.get_indexes("draft_answers")
                       if index["name"] not in uniques and not str(index["name"]).startswith("sqlite_autoindex")),
                uniques)


def _seed(engine: Engine) -> None:
    table = _table(engine, "draft_answers")
    with write(engine) as connection:
        connection.execute(text("INSERT INTO policy_versions (version, service_id, source, document, "
                                "first_loaded_at) VALUES ('v1', 'victim-support', 'test', '{}', :at)"), {"at": SAVED})
        connection.execute(text(
            "INSERT INTO drafts (id, service_id, policy_version, consent_version, consent_language, consent_choices, "
            "consent_given_at, created_at, updated_at, expires_at) VALUES (:id, 'victim-support', 'v1', 1, 'en', "
            "'{}', :at, :at, :at, :at)"), {"id": DRAFT, "at": SAVED})
        connection.execute(table.insert(), [
            {"id": row_id, "draft_id": DRAFT, "question_id": question, "field_class": "free_text",
             "data_key_id": f"dk-{question}", "kek_id": "k1", "wrapped": wrapped, "ciphertext": sealed,
             "saved_at": SAVED} for row_id, question, wrapped, sealed in ANSWERS])


def test_0022_up_down_up_keeps_every_saved_answer(new_database: Callable[[], Engine]) -> None:
    engine = new_database()
    migrate.upgrade(engine, "0021")
    _seed(engine)
    expected = sorted((row_id, DRAFT, question, wrapped, sealed) for row_id, question, wrapped, sealed in ANSWERS)
    shape = (["id"], ["ix_draft_answers_kek_id"], ["one_draft_answer_per_question"])
    assert _shape(engine) == shape

    migrate.upgrade(engine, "0022")
    assert _rows(engine) == expected
    assert _shape(engine) == shape
    if engine.dialect.name == "sqlite":
        assert _without_rowid(engine)

    table = _table(engine, "draft_answers")
    with pytest.raises(IntegrityError), write(engine) as connection:  # still one answer per question
        connection.execute(table.insert().values(
            id=grouped_id(DRAFT), draft_id=DRAFT, question_id="q0", field_class="free_text", data_key_id="dk-x",
            kek_id="k1", wrapped=b"w", ciphertext=b"c", saved_at=SAVED))

    migrate.downgrade(engine, "0021")
    assert _rows(engine) == expected
    assert _shape(engine) == shape
    if engine.dialect.name == "sqlite":
        assert not _without_rowid(engine)

    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert _rows(engine) == expected
    with write(engine) as connection:  # erasing the draft erases its answers (ON DELETE CASCADE), as before
        connection.execute(text("DELETE FROM drafts WHERE id = :id"), {"id": DRAFT})
    assert _rows(engine) == []


def test_a_drafts_saved_answers_get_ids_beside_each_other() -> None:
    ids = [grouped_id(DRAFT) for _ in range(8)]
    assert len(set(ids)) == 8
    assert {row_id[:18] for row_id in ids} == {DRAFT[:18]}  # the draft's first 64 bits, then 62 random ones
