"""Issue 2: everything SQLite-specific is in storage/dialect.py, so PostgreSQL can come without touching services."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "casefeedback"
# Where SQLite specifics may live: the dialect module, the engine that picks
# the driver, and migrations (history, written once for the store they made).
ALLOWED = {PACKAGE / "storage" / "dialect.py", PACKAGE / "storage" / "engine.py",
           # The online re-key: which generation file is live, and copying one into the next.
           PACKAGE / "storage" / "generations.py", PACKAGE / "storage" / "live_copy.py"}
# In code: the SQLite driver and SQLAlchemy's SQLite constructs.
SPECIFIC_NAMES = re.compile(r"^(sqlcipher3|pysqlcipher|dialects|on_conflict_do_\w+|json_extract|exec_driver_sql)$")
# In a string: SQL that only SQLite understands (messages that merely name a pragma are fine).
SPECIFIC_SQL = re.compile(r"""^[rbfRBF]*["']+\s*(PRAGMA\b|.*\bsqlite_master\b|.*\bjson_extract\()""")


def offenders_in(path: Path) -> list[str]:
    found = []
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    for token in tokens:
        if (token.type == tokenize.NAME and SPECIFIC_NAMES.match(token.string)) or \
                (token.type == tokenize.STRING and SPECIFIC_SQL.match(token.string)):
            shown = path.relative_to(PACKAGE.parent) if path.is_relative_to(PACKAGE.parent) else path.name
            found.append(f"{shown}:{token.start[0]}: {token.line.strip()}")
    return found


def offenders() -> list[str]:
    return [line for path in sorted(PACKAGE.rglob("*.py"))
            if path not in ALLOWED and "migrations" not in path.parts
            for line in offenders_in(path)]


def test_no_sqlite_specific_code_outside_the_dialect_module() -> None:
    assert offenders() == []


def test_the_check_would_see_a_pragma_an_upsert_or_the_driver(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('import sqlcipher3\nc.execute("PRAGMA application_id")\n'
                      "s = insert(t).on_conflict_do_update()\n# PRAGMA in a comment is fine\n", encoding="utf-8")
    assert [line.split(":")[1] for line in offenders_in(sample)] == ["1", "2", "3"]
