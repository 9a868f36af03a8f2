"""Working with the audit log: verify it, write and export signed checkpoints."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from casefeedback.audit.actions import Action
from casefeedback.cli.common import CommandError, fail_clearly
from casefeedback.cli.progress import Progress
from casefeedback.clock import system_clock
from casefeedback.config import Config

if TYPE_CHECKING:
    from casefeedback.audit.watch import Signed


@click.group()
def audit() -> None:
    """Work with the audit log."""


@audit.command("verify")
@click.option("--from-checkpoint", "checkpoint_file", type=click.Path(path_type=Path, dir_okay=False),
              help="A checkpoint exported earlier and kept elsewhere: prove the log still agrees with it.")
@click.option("--no-witness", is_flag=True,
              help="Do not compare with the witness file (only to look at a copy of the database elsewhere).")
@fail_clearly
def audit_verify(checkpoint_file: Path | None, no_witness: bool) -> None:
    """Walk the whole chain, every signed checkpoint and the witness; exit 1 naming the first break."""
    from casefeedback.audit.checkpoints import Checkpoint, CheckpointError
    from casefeedback.audit.verify import verify_log
    from casefeedback.audit.witness import Witness
    from casefeedback.storage.engine import open_store, read

    external = None
    if checkpoint_file is not None:
        try:
            external = Checkpoint.from_json(checkpoint_file.read_text(encoding="utf-8"), str(checkpoint_file))
        except OSError as error:
            raise CommandError(f"cannot read {checkpoint_file}: {error.strerror}") from None
        except (CheckpointError, UnicodeDecodeError) as error:
            raise CommandError(str(error)) from None
    config = Config.from_environment()
    engine = open_store(config.store)
    try:
        with Progress("audit verify: events") as bar, read(engine) as connection:
            report = verify_log(connection, config.secrets.audit_chain.value, config.secrets.audit_signing.value,
                                external, None if no_witness else Witness(config.witness_path),
                                # Walked in parallel processes that each open the SQLCipher file; on PostgreSQL in one.
                                None if config.store.is_postgres
                                else (config.database_path, config.secrets.database.value), progress=bar)
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
    witnessed = (" (NOT compared with the witness: --no-witness)" if no_witness
                 else f"; consistent with the witness {config.witness_path}")
    click.echo(f"audit log intact: {report.checked} events verified{anchored}{witnessed}")


@audit.command("checkpoint")
@click.option("--export", "export_to", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the newest checkpoint to this file (keep it somewhere else).")
@fail_clearly
def audit_checkpoint(export_to: Path | None) -> None:
    """Sign a checkpoint of the log as it is now and append it to the witness (the worker does this too)."""
    if export_to is not None and export_to.exists():
        _write_new(export_to, "")  # refuses, before anything is signed
    signed, config = _sign(start=False)
    checkpoint = signed.checkpoint
    if checkpoint is None:
        click.echo("The audit log is empty: there is nothing to sign yet.")
        return
    if export_to is not None:
        _write_new(export_to, checkpoint.to_json())
        _record_export(config, checkpoint.seq)
    click.echo(f"Checkpoint at event {checkpoint.seq} signed ({checkpoint.at}) and witnessed in {config.witness_path}"
               + (f"; exported to {export_to}" if export_to else ""))


@audit.group("witness")
def witness() -> None:
    """The witness file of signed checkpoints, kept outside the database's directory."""


@witness.command("start")
@fail_clearly
def witness_start() -> None:
    """Begin a new witness when the old one is lost (after you have looked into why): signs the log as it is."""
    signed, config = _sign(start=True)
    if signed.checkpoint is None:
        click.echo("The audit log is empty: the witness starts with its first checkpoint.")
        return
    click.echo(f"Witness started at {config.witness_path} from the checkpoint at event {signed.checkpoint.seq}. "
               "Anything cut from the log before now can no longer be detected by it.")


def _sign(*, start: bool) -> tuple[Signed, Config]:
    from casefeedback.audit import AuditLog
    from casefeedback.audit.checkpoints import CheckpointError, Signer
    from casefeedback.audit.watch import WitnessRefused, sign_and_witness
    from casefeedback.audit.witness import Witness, WitnessError
    from casefeedback.storage.engine import open_store

    config = Config.from_environment()
    engine = open_store(config.store)
    try:
        signed = sign_and_witness(engine, AuditLog(config.secrets.audit_chain.value, system_clock),
                                  Signer(config.secrets.audit_signing.value), Witness(config.witness_path),
                                  start=start)
    except WitnessRefused as refused:
        raise CommandError(f"no checkpoint was signed: {refused}. Run `casefeedback audit verify` and tell "
                           "your auditors") from None
    except (CheckpointError, WitnessError) as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()
    return signed, config


def _record_export(config: Config, seq: int) -> None:
    from casefeedback.audit import AuditEvent, AuditLog
    from casefeedback.storage.engine import open_store, write

    engine = open_store(config.store)
    try:
        with write(engine) as connection:
            AuditLog(config.secrets.audit_chain.value, system_clock).append(connection, AuditEvent(
                action=Action.AUDIT_CHECKPOINT_EXPORT, outcome="success", actor_role="cli",
                object_type="checkpoint", object_id=str(seq)))
    finally:
        engine.dispose()


def _write_new(path: Path, text: str) -> None:
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise CommandError(f"{path} already exists: choose a new file name (an old checkpoint is evidence; "
                           "it is never overwritten)") from None
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror}") from None
