"""The services an application instance is built from, and how views reach them."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import Engine, select

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.actions import Action
from casefeedback.clock import Clock
from casefeedback.config import Config
from casefeedback.crypto.keyring import Keyring
from casefeedback.crypto.rotation import kek_source
from casefeedback.policy import PolicySet
from casefeedback.retention import ledger
from casefeedback.storage import dialect, migrate
from casefeedback.storage.engine import StoreOpenError, open_store, write
from casefeedback.storage.tables import policy_versions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    config: Config
    engine: Engine
    keyring: Keyring
    policies: PolicySet
    audit: AuditLog
    clock: Clock


def build_services(config: Config, policies: PolicySet, clock: Clock) -> Services:
    from casefeedback.backup.rekey import recover

    if not config.store.is_postgres:
        recover(config, clock)  # an interrupted `keys rekey-db` is finished or rolled back before anything opens
    # follow_rekey: a long-running process follows an online re-key to the new file and key (storage/generations.py).
    engine = open_store(config.store, follow_rekey=True)
    current, head = migrate.current_revision(engine), migrate.head_revision()
    if current != head:
        engine.dispose()
        raise StoreOpenError(f"the database schema is at revision {current or 'none'} but this version "
                             f"needs {head}: run `casefeedback migrate`.")
    # source: re-read the KEKs when a rotation has re-wrapped a data key under a new one.
    keyring = Keyring({kek_id: s.value for kek_id, s in config.secrets.keks.items()},
                      config.secrets.active_kek, source=kek_source(config.instance_dir))
    built = Services(config, engine, keyring, policies, AuditLog(config.secrets.audit_chain.value, clock), clock)
    # Every erasure's key ids also go beside the audit witness: they must outlive the database directory.
    ledger.keep_copy(config.database_path, config.witness_path)
    ledger.write_file_for(engine, ledger.ledger_path(config.database_path))
    record_policy_versions(built)
    return built


def record_policy_versions(services: Services) -> None:
    """Keep every policy text a submission may refer to; audit each newly seen version."""
    with write(services.engine) as connection:
        known = set(connection.execute(select(policy_versions.c.version)).scalars())
        for policy in services.policies.services.values():
            if policy.version in known:
                continue
            document = _document_of(policy.source, policy.version)
            # Another instance or the worker starting at the same moment may record it first: then it is theirs
            # to audit, and this start goes on (it would otherwise end in a unique-key error).
            made = connection.execute(dialect.insert_if_absent(
                policy_versions, ("version",), dialect_name=connection.dialect.name).values(
                version=policy.version, service_id=policy.id, source=policy.source,
                document=document, first_loaded_at=services.clock()))
            if made.rowcount != 1:
                continue
            services.audit.append(connection, AuditEvent(
                action=Action.POLICY_LOAD, outcome="recorded", object_type="policy", object_id=policy.version[:36],
                detail={"service": policy.id, "version": policy.version}))
            log.info("recorded policy %s version %s", policy.id, policy.version[:12])


def _document_of(source: str, version: str) -> str:
    raw = Path(source).read_bytes()
    if hashlib.sha256(raw).hexdigest() != version:
        raise PolicyChangedError(f"{source} changed while casefeedback was starting; start again.")
    return raw.decode("utf-8")


class PolicyChangedError(Exception):
    pass


def services() -> Services:
    found: Services = current_app.extensions["casefeedback"]
    return found
