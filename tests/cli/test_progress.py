"""The one progress helper of the long commands: counts and time left at a terminal, plain lines otherwise."""

from __future__ import annotations

import io
import os
import pty
import re
import select

import pytest
from click.testing import CliRunner

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.backup.archive import Manifest
from casefeedback.cli import main
from casefeedback.cli.progress import Progress, after
from casefeedback.policy import load_policies
from casefeedback.retention.erasure import erase
from casefeedback.services import build_services
from casefeedback.storage.dialect import open_readonly
from casefeedback.storage.engine import write
from tests.retention.conftest import seed_submission


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now



def read_lines(controller: int, lines: int) -> str:
    """What the terminal shows up to its ``lines``-th line end: a pty hands over what it holds, maybe in pieces."""
    written = ""
    while written.count("\n") < lines:
        ready, _, _ = select.select([controller], [], [], 5)
        assert ready, f"the bar never ended its line: {written!r}"
        written += os.read(controller, 10_000).decode()
    return written

def test_not_a_terminal_writes_plain_lines_with_counts_about_every_tenth():
    out, clock = io.StringIO(), FakeClock()
    with Progress("re-wrapped", out, clock=clock) as bar:
        for done in range(0, 101, 5):
            clock.now += 2  # two seconds per five
            bar(done, 100)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and "\033" not in out.getvalue()
    assert lines[0] == "re-wrapped 0 of 100 (0%)"
    assert lines[1] == "re-wrapped 10 of 100 (10%), about 54 s left"  # 6 s for 10, so 54 s for the other 90
    assert lines[-1] == "re-wrapped 100 of 100 (100%)"
    assert len(lines) == 11  # one a tenth, not one a call


def test_at_a_terminal_one_bar_redrawn_in_place_with_time_left():
    controller, terminal = pty.openpty()
    try:
        stream = os.fdopen(terminal, "w", encoding="utf-8", closefd=False)
        clock = FakeClock()
        with Progress("purge: submissions", stream, clock=clock) as bar:
            assert bar.tty
            clock.now += 30
            bar(25, 100)
            clock.now += 30
            bar(50, 100)
            clock.now += 60
            bar(100, 100)
        stream.flush()
        written = read_lines(controller, 1)
    finally:
        os.close(controller)
        os.close(terminal)
    frames = [f for f in re.split(r"\r", written) if f.strip()]
    assert "purge: submissions [######------------------] 25 of 100 (25%) about 1 min 30 s left" in frames[0]
    assert "50 of 100 (50%) about 1 min 00 s left" in frames[1]
    assert "100 of 100 (100%)" in frames[2] and "left" not in frames[2]
    assert written.count("\n") == 1  # one line in all, ended when the work is


def test_nothing_done_yet_promises_no_time():
    bar = Progress("x", io.StringIO(), clock=FakeClock())
    assert bar.time_left(0, 10) is None and bar.time_left(10, 10) is None


@pytest.fixture
def found(config, clock):
    """The services alone, as the commands build them: no web app holding the instance."""
    services = build_services(config, load_policies(config.policies_dir), clock)
    yield services
    services.engine.dispose()


@pytest.fixture
def cli(found, monkeypatch):
    monkeypatch.setenv("CASEFEEDBACK_INSTANCE", str(found.config.instance_dir))
    monkeypatch.setenv("CASEFEEDBACK_POLICIES", str(found.config.policies_dir))
    return CliRunner()


def test_the_commands_report_their_counts(found, cli):
    for _ in range(3):
        seed_submission(found, {"treated": "2", "listened": "yes"}, at=found.clock().replace(year=2020))
    found.engine.dispose()
    purged = cli.invoke(main, ["purge"])
    assert purged.exit_code == 0, purged.output
    assert re.search(r"^purge: submissions \d+ of \d+ \(100%\)$", purged.output, re.MULTILINE), purged.output
    rotated = cli.invoke(main, ["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    verified = cli.invoke(main, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert re.search(r"^audit verify: events (\d+) of \1 \(100%\)$", verified.output, re.MULTILINE), verified.output
    backed = cli.invoke(main, ["backup"])
    assert backed.exit_code == 0, backed.output
    assert re.search(r"^backup: rows copied (\d+) of \1 \(100%\)$", backed.output, re.MULTILINE), backed.output


def lines_of(output: str, what: str) -> list[tuple[int, int]]:
    """The (done, total) of every plain progress line of ``what``, in order."""
    return [(int(m[1]), int(m[2])) for m in re.finditer(rf"^{re.escape(what)} (\d+) of (\d+) \(\d+%\)",
                                                          output, re.MULTILINE)]


def test_audit_verify_counts_the_events_as_it_walks_them(found, cli):
    with write(found.engine) as connection:  # enough for a report mid-walk: one a 10,000 events, not one each
        found.audit.append_many(connection, [AuditEvent(action=Action.FIELD_OPEN, outcome="allowed", detail={"i": i})
                                             for i in range(12_000)])
        events = connection.exec_driver_sql("SELECT count(*) FROM audit_events").scalar_one()
    found.engine.dispose()
    verified = cli.invoke(main, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert lines_of(verified.output, "audit verify: events") == [(0, events), (10_000, events), (events, events)]
    assert f"audit log intact: {events} events verified" in verified.output


def test_backup_counts_the_rows_it_copies_and_the_events_it_verifies(found, cli):
    for _ in range(3):
        seed_submission(found, {"treated": "2", "listened": "yes"})
    found.engine.dispose()
    backed = cli.invoke(main, ["backup"])
    assert backed.exit_code == 0, backed.output
    copy = next((found.config.instance_dir / "backups").iterdir()) / "casefeedback.db"
    connection = open_readonly(copy, found.config.secrets.database.value)
    try:  # what the copy holds, counted apart from the export
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                   "AND name != 'sqlite_sequence'")]
        rows = sum(connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)  # noqa: S608
        events = connection.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    finally:
        connection.close()
    copied = lines_of(backed.output, "backup: rows copied")
    assert copied[0] == (0, rows) and copied[-1] == (rows, rows) and len(copied) > 2  # a table at a time
    assert [done for done, _ in copied] == sorted(done for done, _ in copied)
    walked = lines_of(backed.output, "backup: audit events verified in the copy")
    assert walked == [(0, events), (events, events)]
    assert f"({events} audit events, chain intact)" in backed.output
    # The stages in order, each on its own line, before what the command says at the end.
    assert backed.output.index("backup: rows copied") < backed.output.index("backup: audit events") < \
        backed.output.index("Backup written and verified")


def test_restore_counts_the_events_it_verifies_and_the_erasures_it_reapplies(found, cli):
    erased_id = seed_submission(found, {"treated": "2", "listened": "yes"})
    seed_submission(found, {"treated": "3"})
    found.engine.dispose()
    assert cli.invoke(main, ["backup"]).exit_code == 0
    directory = next((found.config.instance_dir / "backups").iterdir())
    with write(found.engine) as connection:
        erase(connection, found.audit, submission_id=erased_id, reason="consent_withdrawn")
        erased = connection.exec_driver_sql("SELECT count(*) FROM erased_keys").scalar_one()  # one a data key
    found.engine.dispose()
    assert erased >= 1
    restored = cli.invoke(main, ["restore", str(directory), "--yes"])
    assert restored.exit_code == 0, restored.output
    events = Manifest.from_json((directory / "manifest.json").read_text()).audit_seq
    assert lines_of(restored.output, "restore: audit events verified in the backup") == [(0, events),
                                                                                         (events, events)]
    assert lines_of(restored.output, "restore: erasures re-applied") == [(0, erased), (erased, erased)]
    assert f"({events} audit events, chain intact)" in restored.output
    assert f"({erased} ledger entries)" in restored.output


def test_stages_in_one_call_keep_a_line_each_at_a_terminal():
    controller, terminal = pty.openpty()
    try:
        stream = os.fdopen(terminal, "w", encoding="utf-8", closefd=False)
        with Progress("first", stream, clock=FakeClock()) as first, Progress("then", stream,
                                                                              clock=FakeClock()) as then:
            first(5, 5)
            second = after(first, then)
            second(1, 2)
            second(2, 2)
        stream.flush()
        written = read_lines(controller, 2)
    finally:
        os.close(controller)
        os.close(terminal)
    first_line, second_line = written.split("\n")[:2]
    assert "first" in first_line and "5 of 5" in first_line and "then" not in first_line
    assert "then" in second_line and "2 of 2" in second_line and "first" not in second_line
