"""``dialect.execute_plain``: statements on the transaction's own cursor, with SQLAlchemy's errors, on both engines.

The hot write statements (a send's inserts, the draft's erase, the audit append, the purge's) bypass
SQLAlchemy's execution context for speed; what callers rely on must not change: the rows, the row count,
the error classes (a duplicate is an IntegrityError, whatever the driver), parameters kept out of error
messages, the transaction's all-or-nothing, and observers of every statement still seeing them.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from casefeedback.storage.dialect import PlainResult, execute_plain
from casefeedback.storage.engine import read, write

SECRET = "PLAINCANARY-a-value-that-must-not-reach-a-message"


@pytest.fixture
def engine(new_database):
    engine = new_database()
    with write(engine) as connection:
        connection.execute(text("CREATE TABLE plain_test (id VARCHAR(40) PRIMARY KEY, n INTEGER NOT NULL, note TEXT)"))
    return engine


def test_rows_counts_and_results(engine):
    with write(engine) as connection:
        inserted = execute_plain(connection, "INSERT INTO plain_test (id, n) VALUES (?, ?)",
                                 [("a", 1), ("b", 2), ("c", 3)])
        assert isinstance(inserted, PlainResult)  # nobody observing: the cursor's own path
        assert execute_plain(connection, "UPDATE plain_test SET n = n + 10 WHERE n >= ?", (2,)).rowcount == 2
        assert execute_plain(connection, "SELECT id, n FROM plain_test WHERE id = ?", ("b",)).first() == ("b", 12)
        assert execute_plain(connection, "SELECT id FROM plain_test WHERE id = ?", ("zz",)).first() is None
        gone = execute_plain(connection, "DELETE FROM plain_test WHERE id IN (?, ?) RETURNING id", ("a", "c"))
        assert sorted(gone.scalars()) == ["a", "c"]
    with read(engine) as connection:
        assert connection.execute(text("SELECT id, n FROM plain_test")).all() == [("b", 12)]


def test_a_duplicate_is_sqlalchemys_integrity_error_without_its_values_and_nothing_is_kept(engine):
    with pytest.raises(IntegrityError) as raised, write(engine) as connection:
        execute_plain(connection, "INSERT INTO plain_test (id, n) VALUES (?, ?)", ("x", 1))
        execute_plain(connection, "INSERT INTO plain_test (id, n, note) VALUES (?, ?, ?)", ("y", 1, SECRET))
        execute_plain(connection, "INSERT INTO plain_test (id, n, note) VALUES (?, ?, ?)", ("y", 2, SECRET))
    # The values bound are never in the message (PostgreSQL's own detail names only the duplicate key).
    assert SECRET not in str(raised.value) and "[parameters" not in str(raised.value)
    with read(engine) as connection:  # the transaction rolled back whole: not even the first row
        assert connection.execute(text("SELECT count(*) FROM plain_test")).scalar_one() == 0


def test_a_statement_the_database_refuses_is_sqlalchemys_error(engine):
    # SQLite says OperationalError ("no such column"), PostgreSQL ProgrammingError (an undefined column).
    with pytest.raises((OperationalError, ProgrammingError)) as raised, write(engine) as connection:
        execute_plain(connection, "SELECT no_such_column FROM plain_test WHERE id = ?", (SECRET,))
    assert SECRET not in str(raised.value)


def test_observers_of_every_statement_still_see_them(engine):
    seen: list[str] = []

    def observe(_conn, _cursor, statement, *_rest) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", observe)
    try:
        with write(engine) as connection:
            execute_plain(connection, "INSERT INTO plain_test (id, n) VALUES (?, ?)", ("seen", 1))
            found = execute_plain(connection, "SELECT n FROM plain_test WHERE id = ?", ("seen",)).first()
    finally:
        event.remove(engine, "before_cursor_execute", observe)
    assert found is not None and found[0] == 1
    assert any(statement.startswith("INSERT INTO plain_test") for statement in seen)
