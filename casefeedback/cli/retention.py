"""Retention from the command line: `casefeedback purge`, `casefeedback legal-hold` and `casefeedback erasures`."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from casefeedback.cli.common import CommandError, fail_clearly, open_services
from casefeedback.cli.progress import Progress

if TYPE_CHECKING:
    from casefeedback.services import Services

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_as_of(text: str) -> datetime:
    """A day (its first moment, UTC: never later than meant) or an ISO-8601 time with a zone."""
    try:
        if _DATE.match(text):
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"--as-of {text!r} is not a date: write it as YYYY-MM-DD "
                           "(or YYYY-MM-DDTHH:MM:SSZ)") from None
    if moment.tzinfo is None:
        raise CommandError(f"--as-of {text!r} has no time zone: add Z for UTC (e.g. 2026-01-31T12:00:00Z)")
    return moment.astimezone(UTC)


@click.command()
@click.option("--dry-run", is_flag=True, help="Only count what would be erased; change nothing.")
@click.option("--as-of", "as_of_text", metavar="DATE",
              help="Purge as if it were DATE (YYYY-MM-DD, start of day UTC). Not in the future unless --dry-run; "
                   "not before the last purge.")
@fail_clearly
def purge(dry_run: bool, as_of_text: str | None) -> None:
    """Erase every answer whose retention period is over (cases on legal hold are kept)."""
    from casefeedback.retention.hold_keeping import kept_by_holds, report_lines
    from casefeedback.retention.purge import PurgeRefused, check_as_of, plan
    from casefeedback.retention.purge import purge as run_purge

    found = open_services()
    try:
        as_of = parse_as_of(as_of_text) if as_of_text else found.clock()
        try:
            check_as_of(found, as_of, dry_run=dry_run)
            if dry_run:
                report = plan(found, as_of)
            else:
                with Progress("purge: submissions") as bar:
                    report = run_purge(found, as_of, trigger="command", progress=bar)
        except PurgeRefused as error:
            raise CommandError(str(error)) from None
        # Per hold, what it keeps past its retention (counts only), so releasing one is an informed choice.
        held_lines = report_lines(kept_by_holds(found, as_of))
    finally:
        found.engine.dispose()
    when = as_of.strftime("%Y-%m-%dT%H:%M:%SZ")
    click.echo(f"Purge as of {when}" + (" (dry run: nothing was erased)" if dry_run else ""))
    click.echo(_table(report.counts))
    verb = "would be" if dry_run else "were"
    click.echo(f"{report.fields} answer(s) under {report.data_keys} data key(s) of {report.submissions} "
               f"submission(s) {verb} erased; {report.contributions} de-identified contribution(s) kept.")
    if report.held:
        click.echo(f"Kept because of legal hold: {sum(report.held.values())} data key(s) on "
                   f"{len(report.held_cases)} case(s).")
    for line in held_lines:
        click.echo(line)
    if report.drafts is not None:
        click.echo(f"Expired drafts erased: {report.drafts}")
    if report.outcomes:
        click.echo(f"Case outcomes erased: {report.outcomes}")
    for warning in report.warnings:
        click.echo(f"note: {warning}", err=True)


def _table(counts: dict[tuple[str, str], list[int]]) -> str:
    if not counts:
        return "Nothing is due."
    lines = [f"{'service':<24} {'class':<16} {'data keys':>9} {'answers':>8}"]
    for (service, field_class), (keys, fields) in sorted(counts.items()):
        lines.append(f"{service:<24} {field_class:<16} {keys:>9} {fields:>8}")
    lines.append(f"{'total':<41} {sum(c[0] for c in counts.values()):>9} {sum(c[1] for c in counts.values()):>8}")
    return "\n".join(lines)


@click.group(name="legal-hold")
def legal_hold() -> None:
    """Suspend retention for a case (and lift it), always with a reason and a review date.

    The same service as the records officer's screen (/records): the same checks, the same audit events."""


_REVIEW_HELP = ("YYYY-MM-DD: the day by which someone looks at the hold again; after today and within the "
                "organisation policy's [legal_hold] review_within.")


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--review-by {text!r} is not a date: write it as YYYY-MM-DD") from None


@legal_hold.command("set")
@click.argument("case")
@click.option("--reason", required=True, help="Why the case must be kept (e.g. a court order's reference).")
@click.option("--review-by", "review_by", metavar="DATE", help=_REVIEW_HELP + " Default: as late as allowed.")
@fail_clearly
def hold_set(case: str, reason: str, review_by: str | None) -> None:
    """Put CASE (its reference or id) on legal hold: retention erases nothing of it until the hold is released."""
    from casefeedback.retention.holds import COMMAND_LINE, default_review, place

    def act(found: Services) -> str:
        day = _day(review_by) or default_review(found.clock(), found.policies.organisation.legal_hold.review_within)
        place(found, case_key=case, reason=reason, review_day=day, by=COMMAND_LINE)
        return f"Case {case} is on legal hold until it is released; review it by {day:%Y-%m-%d}."

    click.echo(_change(act))


@legal_hold.command("review")
@click.argument("case")
@click.option("--review-by", "review_by", metavar="DATE", required=True, help=_REVIEW_HELP)
@click.option("--note", required=True, help="Why the hold is still needed.")
@fail_clearly
def hold_review(case: str, review_by: str, note: str) -> None:
    """Keep the hold on CASE, with a new review date and a note."""
    from casefeedback.retention.holds import COMMAND_LINE, active_hold_of, review

    def act(found: Services) -> str:
        review(found, active_hold_of(found, case), note=note, review_day=_day(review_by), by=COMMAND_LINE)
        return f"The hold on case {case} is reviewed: next review by {review_by}."

    click.echo(_change(act))


@legal_hold.command("release")
@click.argument("case")
@click.option("--reason", required=True, help="Why the hold is no longer needed.")
@fail_clearly
def hold_release(case: str, reason: str) -> None:
    """Lift the legal hold on CASE: retention applies again from the next purge."""
    from casefeedback.retention.holds import COMMAND_LINE, active_hold_of, release

    def act(found: Services) -> str:
        release(found, active_hold_of(found, case), reason=reason, by=COMMAND_LINE)
        return f"The legal hold on case {case} is lifted; what is due goes at the next purge."

    click.echo(_change(act))


def _change(act: Callable[[Services], str]) -> str:
    from casefeedback.retention.holds import HoldError

    found = open_services()
    try:
        return act(found)
    except HoldError as error:
        raise CommandError(str(error)) from None
    finally:
        found.engine.dispose()


@legal_hold.command("list")
@fail_clearly
def hold_list() -> None:
    """List the cases on legal hold, due for review first (what a hold says is read on the records screen)."""
    from casefeedback.retention.hold_reading import listing

    found = open_services()
    try:
        active, _released = listing(found)
    finally:
        found.engine.dispose()
    if not active:
        click.echo("No case is on legal hold.")
    for hold in active:
        due = "  DUE FOR REVIEW" if hold.due else ""
        kept = hold.kept
        keeping = f"  keeping {kept.answers} answer(s), {kept.outcomes} outcome(s) past retention" if kept else ""
        click.echo(f"{hold.case_reference}  since {hold.set_at:%Y-%m-%d}  review by {hold.review_by:%Y-%m-%d}"
                   f"{due}{keeping}")


@click.group()
def erasures() -> None:
    """The erasure ledger: keys destroyed, kept outside the database so no restore brings them back."""


@erasures.command("reapply")
@click.option("--from", "extra", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Another ledger file to read as well (e.g. another node's erasure-witness.jsonl, or what "
                   "the remote witness received). Repeatable.")
@fail_clearly
def erasures_reapply(extra: tuple[Path, ...]) -> None:
    """After restoring the database by other means (a PostgreSQL dump or point-in-time recovery), destroy
    again every key the ledger files record as erased. Safe to run at any time: it only ever erases."""
    from casefeedback.audit import AuditEvent
    from casefeedback.audit.actions import Action
    from casefeedback.retention import ledger
    from casefeedback.storage.engine import write

    found = open_services()
    try:
        config = found.config
        sources = [ledger.ledger_path(config.database_path), ledger.witness_copy_path(config.witness_path),
                   *extra]
        for path in extra:
            if not path.is_file():
                raise CommandError(f"{path} is not a file: give the path of an erasure ledger (.jsonl). "
                                   "Nothing was changed.")
        entries = {e.data_key_id: e for path in sources for e in ledger.read_file(path)}
        with write(found.engine) as connection:
            applied = ledger.apply(connection, entries.values())
            found.audit.append(connection, AuditEvent(
                action=Action.ERASURES_REAPPLY, outcome="success", actor_role="cli", object_type="database",
                detail={"entries": len(entries), "data_keys": applied.data_keys, "fields": applied.fields,
                        "restored_entries": applied.entries_added}))
    finally:
        found.engine.dispose()
    read_from = ", ".join(str(p) for p in sources if p.exists()) or "no ledger file yet"
    click.echo(f"Read {len(entries)} erasure(s) from {read_from}.")
    click.echo(f"Destroyed again: {applied.data_keys} data key(s) and {applied.fields} sealed field(s); "
               f"{applied.entries_added} erasure(s) added back to the database's own record.")
