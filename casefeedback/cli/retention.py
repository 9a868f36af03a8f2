"""Retention from the command line: `casefeedback purge` and `casefeedback legal-hold`."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import click

from casefeedback.cli.common import CommandError, fail_clearly, open_services

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
    from casefeedback.retention.purge import PurgeRefused, check_as_of, plan
    from casefeedback.retention.purge import purge as run_purge

    found = open_services()
    try:
        as_of = parse_as_of(as_of_text) if as_of_text else found.clock()
        try:
            check_as_of(found, as_of, dry_run=dry_run)
            report = plan(found, as_of) if dry_run else run_purge(found, as_of, trigger="command")
        except PurgeRefused as error:
            raise CommandError(str(error)) from None
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
    """Suspend retention for a case (and lift it), always with a reason."""


@legal_hold.command("set")
@click.argument("case_id")
@click.option("--reason", required=True, help="Why the case must be kept (e.g. a court order's reference).")
@fail_clearly
def hold_set(case_id: str, reason: str) -> None:
    """Put CASE_ID on legal hold: retention erases nothing of it until the hold is lifted."""
    _change_hold("set", case_id, reason)
    click.echo(f"Case {case_id} is on legal hold: retention will erase nothing of it until it is lifted.")


@legal_hold.command("release")
@click.argument("case_id")
@click.option("--reason", required=True, help="Why the hold is no longer needed.")
@fail_clearly
def hold_release(case_id: str, reason: str) -> None:
    """Lift the legal hold on CASE_ID: retention applies again from the next purge."""
    _change_hold("release", case_id, reason)
    click.echo(f"The legal hold on case {case_id} is lifted; what is due goes at the next purge.")


def _change_hold(change: str, case_id: str, reason: str) -> None:
    from casefeedback.retention.holds import HoldError, release_hold, set_hold
    from casefeedback.storage.engine import write

    found = open_services()
    action = set_hold if change == "set" else release_hold
    try:
        with write(found.engine) as connection:
            action(connection, found.audit, case_id=case_id, reason=reason, now=found.clock(), actor_role="cli")
    except HoldError as error:
        raise CommandError(str(error)) from None
    finally:
        found.engine.dispose()


@legal_hold.command("list")
@fail_clearly
def hold_list() -> None:
    """List the cases on legal hold."""
    from casefeedback.retention.holds import holds
    from casefeedback.storage.engine import read

    found = open_services()
    try:
        with read(found.engine) as connection:
            active = holds(connection)
    finally:
        found.engine.dispose()
    if not active:
        click.echo("No case is on legal hold.")
    for hold in active:
        click.echo(f"{hold.case_id}  since {hold.set_at:%Y-%m-%d %H:%M}Z  {hold.reason}")
