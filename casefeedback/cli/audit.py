"""Working with the audit log: verify it, write and export signed checkpoints."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from casefeedback.audit.actions import Action
from casefeedback.cli.common import CommandError, fail_clearly
from casefeedback.clock import system_clock
from casefeedback.config import Config


@click.group()
def audit() -> None:
    """Work with the audit log."""


@audit.command("verify")
@click.option("--from-checkpoint", "checkpoint_file", type=click.Path(path_type=Path, dir_okay=False),
              help="A checkpoint exported earlier and kept elsewhere: prove the log still agrees with it.")
@fail_clearly
def audit_verify(checkpoint_file: Path | None) -> None:
    """Walk the whole chain and every signed checkpoint; exit 1 naming the first break."""
    from casefeedback.audit.checkpoints import Checkpoint, CheckpointError
    from casefeedback.audit.verify import verify_log
    from casefeedback.storage.engine import open_engine, read

    external = None
    if checkpoint_file is not None:
        try:
            external = Checkpoint.from_json(checkpoint_file.read_text(encoding="utf-8"), str(checkpoint_file))
        except OSError as error:
            raise CommandError(f"cannot read {checkpoint_file}: {error.strerror}") from None
        except (CheckpointError, UnicodeDecodeError) as error:
            raise CommandError(str(error)) from None
    config = Config.from_environment()
    engine = open_engine(config.database_path, config.secrets.database.value)
    try:
        with read(engine) as connection:
            report = verify_log(connection, config.secrets.audit_chain.value, config.secrets.audit_signing.value,
                                external)
    except CheckpointError as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()
    if report.kind == "wrong_key":
        raise CommandError(str(report.problem))
    if not report.ok:
        click.echo(f"casefeedback: audit log is NOT intact: {report.problem} "
                   f"({report.checked} events verified before it)", err=True)
        sys.exit(1)
    anchored = f"; consistent with the checkpoint at event {external.seq}" if external else ""
    click.echo(f"audit log intact: {report.checked} events verified{anchored}")


@audit.command("checkpoint")
@click.option("--export", "export_to", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the newest checkpoint to this file (keep it somewhere else).")
@fail_clearly
def audit_checkpoint(export_to: Path | None) -> None:
    """Sign a checkpoint of the log as it is now (the worker also does this hourly)."""
    from casefeedback.audit import AuditEvent, AuditLog
    from casefeedback.audit.checkpoints import CheckpointError, Signer, write_checkpoint
    from casefeedback.storage.engine import open_engine, write

    config = Config.from_environment()
    engine = open_engine(config.database_path, config.secrets.database.value)
    audit_log = AuditLog(config.secrets.audit_chain.value, system_clock)
    try:
        with write(engine) as connection:
            checkpoint = write_checkpoint(connection, audit_log, Signer(config.secrets.audit_signing.value))
            if checkpoint is not None and export_to is not None:
                _write_new(export_to, checkpoint.to_json())
                audit_log.append(connection, AuditEvent(action=Action.AUDIT_CHECKPOINT_EXPORT, outcome="success",
                                                        actor_role="cli", object_type="checkpoint",
                                                        object_id=str(checkpoint.seq)))
    except CheckpointError as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()
    if checkpoint is None:
        click.echo("The audit log is empty: there is nothing to sign yet.")
        return
    click.echo(f"Checkpoint at event {checkpoint.seq} signed ({checkpoint.at})"
               + (f"; exported to {export_to}" if export_to else ""))


def _write_new(path: Path, text: str) -> None:
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise CommandError(f"{path} already exists: choose a new file name (an old checkpoint is evidence; "
                           "it is never overwritten)") from None
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror}") from None
