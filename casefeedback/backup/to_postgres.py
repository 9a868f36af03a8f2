"""Moving an instance from its SQLCipher file to PostgreSQL: ``casefeedback export-to-postgres URL``.

The instance is stopped (the same exclusive lock a restore takes), the file is read in one snapshot and the
target written in ONE PostgreSQL transaction, schema included (PostgreSQL's DDL is transactional): the
migrations, every row (storage/transfer.py), the sequences set past what was copied, and the audit event
saying it was done, appended to the copied log. A refusal or failure anywhere leaves the target as it was.
No key is used but the file's own: sealed fields are copied as ciphertext, never opened.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.actions import Action
from casefeedback.backup.lock import exclusive
from casefeedback.clock import Clock
from casefeedback.config import POSTGRES_DRIVERS, Config
from casefeedback.storage import migrate
from casefeedback.storage.engine import open_postgres, open_store, read
from casefeedback.storage.transfer import TransferRefused, copy_tables, prepare_empty_target

UNCHANGED = "Nothing was written to PostgreSQL."


@dataclass(frozen=True)
class Exported:
    source: str  # the store in words (its file)
    target: str  # the PostgreSQL database in words (name and host, never the password)
    rows: dict[str, int]  # table → rows copied

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def export_to_postgres(config: Config, url: str, clock: Clock) -> Exported:
    """Copy the instance's SQLCipher database into the empty PostgreSQL database at ``url``.

    Raises TransferRefused (the target or the URL will not do), InstanceBusy (the instance is running)
    or StoreOpenError (either database cannot be opened), each with a sentence to act on.
    """
    if config.store.is_postgres:
        raise TransferRefused("this instance already uses PostgreSQL (CASEFEEDBACK_DATABASE_URL is set): "
                              "export-to-postgres copies the SQLCipher file, so unset it to export that. " + UNCHANGED)
    target_url = _postgres_url(url)
    with exclusive(config.instance_dir, "exporting its database"):
        source = open_store(config.store)
        try:
            head, at = migrate.head_revision(), migrate.current_revision(source)
            if at != head:
                raise TransferRefused(f"the {config.store.described} is at schema {at}, not {head}: run "
                                      "`casefeedback migrate` first. " + UNCHANGED)
            target = open_postgres(target_url, statement_timeout_ms=config.store.statement_timeout_ms,
                                   lock_timeout_ms=config.store.lock_timeout_ms, pool_size=1,
                                   url_from="the URL given", then="export again")
            described = replace(config.store, url=target_url).described
            try:
                rows = _copy(config, source, target, described, clock)
            finally:
                target.dispose()
        finally:
            source.dispose()
    return Exported(config.store.described, described, rows)


def _copy(config: Config, source: Engine, target: Engine, described: str, clock: Clock) -> dict[str, int]:
    try:
        with read(source) as reading, target.connect() as writing, writing.begin():
            prepare_empty_target(writing, f"the {described}")
            rows = copy_tables(reading, writing)
            AuditLog(config.secrets.audit_chain.value, clock).append(writing, AuditEvent(
                action=Action.DATABASE_EXPORT_TO_POSTGRES, outcome="success", actor_role="cli",
                object_type="database", detail={"tables": len(rows), "rows": sum(rows.values()),
                                                "audit_events": rows.get("audit_events", 0)}))
    except TransferRefused as refused:
        raise TransferRefused(f"{refused} {UNCHANGED}") from None
    except DBAPIError as error:
        reason = failure_of(error)
        raise TransferRefused(f"the copy into the {described} failed ({reason}); it was rolled back. {UNCHANGED}"
                              ) from None
    return rows


def failure_of(error: DBAPIError) -> str:
    """What went wrong, in words that never quote a value: the error's class, its SQLSTATE and where.

    Not the server's message: even its first line may quote the offending value ("invalid input syntax for
    type integer: \"…\""), and a value here may be a plaintext column of the source."""
    orig = error.orig
    diag = getattr(orig, "diag", None)
    parts = [type(orig or error).__name__]
    if (sqlstate := getattr(orig, "sqlstate", None)):
        parts.append(f"SQLSTATE {sqlstate}")
    for label, name in (("table", "table_name"), ("column", "column_name"), ("constraint", "constraint_name")):
        if diag is not None and (value := getattr(diag, name, None)):
            parts.append(f"{label} {value}")
    return ", ".join(parts)


def _postgres_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise TransferRefused("the URL is not a database URL: write it as postgresql://user@host:5432/database "
                              "(the password may be left out and given in PGPASSWORD or ~/.pgpass). "
                              + UNCHANGED) from None
    if parsed.drivername not in POSTGRES_DRIVERS:
        raise TransferRefused(f"the URL names {parsed.drivername!r}, not PostgreSQL: write it as "
                              "postgresql://user@host:5432/database. " + UNCHANGED)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)

