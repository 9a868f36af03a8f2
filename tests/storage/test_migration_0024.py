"""Migration 0024 stores drafts by their id and their saved answers by (draft, question): up, down and up again on a
real encrypted file and a real PostgreSQL database, every draft and saved answer kept with its ids and bytes, one
answer per question and one draft per resume code still enforced, the draft's cascade still in force, and
``draft_answers`` one b-tree with no index beside it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, MetaData, inspect, select, text
from sqlalchemy.exc import IntegrityError

from casefeedback.storage import migrate
from casefeedback.storage.engine import write
from casefeedback.storage.ids import grouped_id

DRAFTS = ("5f0c8a34-2b7e-4c61-9d3e-0a1b2c3d4e5f", "0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f")
SAVED = datetime(2026, 12, 3, 9, 15, tzinfo=UTC)
# Ids made as drafts.py makes them (grouped by draft), saved in an order unlike either key's.
ANSWERS = [(grouped_id(draft), draft, f"q{n}", b"wrapped-%d" % n, b"sealed-%d" % n)
           for n in (2, 0, 1) for draft in DRAFTS]


def _table(engine: Engine, name: str = "draft_answers"):  # type: ignore[no-untyped-def]
    reflected = MetaData()
    with engine.connect() as connection:
        reflected.reflect(connection, only=[name])
    return reflected.tables[name]


def _rows(engine: Engine) -> list[tuple[object, ...]]:
    table = _table(engine)
    with engine.connect() as connection:
        return sorted(tuple(row) for row in connection.execute(
            select(table.c.id, table.c.draft_id, table.c.question_id, table.c.wrapped, table.c.ciphertext)))


def _shape(engine: Engine) -> tuple[list[str], str | None, list[str], list[str]]:
    """(primary key columns, its name, indexes that are not constraints, unique constraints)."""
    with engine.connect() as connection:
        inspector = inspect(connection)
        key = inspector.get_pk_constraint("draft_answers")
        uniques = sorted(str(unique["name"]) for unique in inspector.get_unique_constraints("draft_answers"))
        indexes = sorted(str(index["name"]) for index in inspector.get_indexes("draft_answers")
                         if index["name"] not in uniques and not str(index["name"]).startswith("sqlite_autoindex"))
        return key["constrained_columns"], key.get("name"), indexes, uniques


def _sqlite_btrees(engine: Engine) -> tuple[bool, int]:
    """(stored WITHOUT ROWID, how many b-trees hold draft_answers: the table and every index of it)."""
    with engine.connect() as connection:
        sql = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = 'draft_answers'")).scalar_one()
        trees = connection.execute(text("SELECT count(*) FROM sqlite_master WHERE tbl_name = 'draft_answers' "
                                        "AND type IN ('table', 'index')")).scalar_one()
    return "WITHOUT ROWID" in str(sql), int(trees)


def _drafts(engine: Engine) -> list[tuple[object, ...]]:
    table = _table(engine, "drafts")
    with engine.connect() as connection:
        return sorted(tuple(row) for row in connection.execute(select(table.c.id, table.c.resume_hash)))


def _resume_codes(engine: Engine) -> tuple[list[str], list[str], bool]:
    """(unique constraints of drafts, its unique indexes, whether SQLite stores it WITHOUT ROWID)."""
    with engine.connect() as connection:
        inspector = inspect(connection)
        constraints = sorted(str(unique["column_names"]) for unique in inspector.get_unique_constraints("drafts"))
        indexes = sorted(str(index["name"]) for index in inspector.get_indexes("drafts") if index["unique"]
                         and not str(index["name"]).startswith("sqlite_autoindex")
                         and str(index["column_names"]) not in constraints)
        sql = (connection.execute(text("SELECT sql FROM sqlite_master WHERE name = 'drafts'")).scalar_one()
               if engine.dialect.name == "sqlite" else "")
    return constraints, indexes, "WITHOUT ROWID" in str(sql)


def _one_draft_per_resume_code(engine: Engine) -> None:
    """Two drafts may both have no code; no two may share one."""
    with write(engine) as connection:
        connection.execute(text("UPDATE drafts SET resume_hash = 'h1' WHERE id = :id"), {"id": DRAFTS[0]})
    with pytest.raises(IntegrityError), write(engine) as connection:
        connection.execute(text("UPDATE drafts SET resume_hash = 'h1' WHERE id = :id"), {"id": DRAFTS[1]})
    with write(engine) as connection:
        connection.execute(text("UPDATE drafts SET resume_hash = NULL"))


def _seed(engine: Engine) -> None:
    table = _table(engine)
    with write(engine) as connection:
        connection.execute(text("INSERT INTO policy_versions (version, service_id, source, document, "
                                "first_loaded_at) VALUES ('v1', 'victim-support', 'test', '{}', :at)"), {"at": SAVED})
        for draft in DRAFTS:
            connection.execute(text(
                "INSERT INTO drafts (id, service_id, policy_version, consent_version, consent_language, "
                "consent_choices, consent_given_at, created_at, updated_at, expires_at) VALUES (:id, "
                "'victim-support', 'v1', 1, 'en', '{}', :at, :at, :at, :at)"), {"id": draft, "at": SAVED})
        connection.execute(table.insert(), [
            {"id": row_id, "draft_id": draft, "question_id": question, "field_class": "free_text",
             "data_key_id": f"dk-{question}", "kek_id": "k1", "wrapped": wrapped, "ciphertext": sealed,
             "saved_at": SAVED} for row_id, draft, question, wrapped, sealed in ANSWERS])


def _searched_by_key(engine: Engine) -> None:
    """The lookups the app makes (answers by draft, and question; a draft by id, or resume code) search a key."""
    with engine.connect() as connection:
        for table, where, used in (
                ("draft_answers", "draft_id = 'd'", "USING PRIMARY KEY"),
                ("draft_answers", "draft_id = 'd' AND question_id IN ('a', 'b')", "USING PRIMARY KEY"),
                ("drafts", "id = 'd'", "USING PRIMARY KEY"),
                ("drafts", "resume_hash = 'h'", "USING INDEX ix_drafts_resume_hash")):
            plan = " ".join(str(row[-1]) for row in connection.execute(
                text(f"EXPLAIN QUERY PLAN SELECT * FROM {table} WHERE {where}")))  # noqa: S608 - constants
            assert used in plan, plan


def _second_answer_refused(engine: Engine) -> None:
    table = _table(engine)
    with pytest.raises(IntegrityError) as refused, write(engine) as connection:
        connection.execute(table.insert().values(
            id=grouped_id(DRAFTS[0]), draft_id=DRAFTS[0], question_id="q0", field_class="free_text",
            data_key_id="dk-x", kek_id="k1", wrapped=b"w", ciphertext=b"c", saved_at=SAVED))
    assert "sealed-" not in str(refused.value)  # the refusal names no stored bytes


def test_0024_up_down_up_keeps_every_saved_answer(new_database: Callable[[], Engine]) -> None:
    engine = new_database()
    sqlite = engine.dialect.name == "sqlite"
    migrate.upgrade(engine, "0023")
    _seed(engine)
    expected = sorted(ANSWERS)
    before = (["id"], ["ix_draft_answers_kek_id"], ["one_draft_answer_per_question"])
    assert (lambda shape: (shape[0], shape[2], shape[3]))(_shape(engine)) == before
    if sqlite:
        assert _sqlite_btrees(engine) == (True, 3)  # the table by id, the unique pair's index, kek_id's
    drafts = _drafts(engine)
    assert drafts == sorted((draft, None) for draft in DRAFTS)
    assert _resume_codes(engine) == (["['resume_hash']"], [], False)

    migrate.upgrade(engine, "0024")
    assert _rows(engine) == expected
    assert _drafts(engine) == drafts
    assert _resume_codes(engine) == ([], ["ix_drafts_resume_hash"], sqlite)
    _one_draft_per_resume_code(engine)
    columns, name, indexes, uniques = _shape(engine)
    assert columns == ["draft_id", "question_id"]
    assert indexes == [] and uniques == []
    if not sqlite:  # SQLite does not keep a primary key's name; PostgreSQL keeps the constraint's
        assert name == "one_draft_answer_per_question"
    if sqlite:
        assert _sqlite_btrees(engine) == (True, 1)  # the table is its one b-tree
        _searched_by_key(engine)
    _second_answer_refused(engine)  # still one answer per question of a draft

    migrate.downgrade(engine, "0023")
    assert _rows(engine) == expected
    assert _drafts(engine) == drafts
    assert _resume_codes(engine) == (["['resume_hash']"], [], False)
    _one_draft_per_resume_code(engine)
    assert (lambda shape: (shape[0], shape[2], shape[3]))(_shape(engine)) == before
    if sqlite:
        assert _sqlite_btrees(engine) == (True, 3)
    _second_answer_refused(engine)

    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert _rows(engine) == expected
    with write(engine) as connection:  # erasing a draft erases its answers (ON DELETE CASCADE), and only its
        connection.execute(text("DELETE FROM drafts WHERE id = :id"), {"id": DRAFTS[0]})
    assert _rows(engine) == sorted(row for row in ANSWERS if row[1] == DRAFTS[1])

