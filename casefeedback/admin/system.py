"""What the instance runs under, for the administrator: its keys and the policy versions in force — read only.

Changing either is done on the server, at the command line, where the key
files are (SECURITY.md, "Key procedures"): a stolen administrator session must
not be able to rotate, retire or read a key. So this overview names each key by
its id and says which command changes it; it never holds key material — the
dataclasses below have no field a key's bytes could reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from casefeedback.backup.horizon import HorizonReport, compute
from casefeedback.crypto.rotation import (
    ACTIVE,
    RETIRABLE,
    RETIRABLE_LATER,
    KeyOperationError,
    kek_state,
    kek_usage,
    keks_now,
    retirable_from,
    retirable_when,
    retired,
)
from casefeedback.instance import Secret
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import policy_versions

ROTATE = "casefeedback keys rotate"
RETIRE = "casefeedback keys retire {kek_id}"
REKEY_DB = "casefeedback keys rekey-db"
STATUS = "casefeedback keys status"
HORIZON = "casefeedback keys horizon"
POLICY_CHECK = "casefeedback policy check"
# Shown as plain text beside what each changes or checks.
COMMANDS = {"rotate": ROTATE, "rekey_db": REKEY_DB, "status": STATUS, "policy_check": POLICY_CHECK,
            "horizon": HORIZON}


@dataclass(frozen=True)
class KekRow:
    kek_id: str
    state: str  # active, can be retired, can be retired later, old, retired
    created: date | None  # from the id (``instance.new_kek_id`` stamps the day it was made)
    data_keys: int
    origin: str  # development, provisioned, environment, or "" once retired / missing
    command: str  # what changes this key


@dataclass(frozen=True)
class PolicyRow:
    service_id: str
    version: str  # SHA-256 of the policy file
    source: str
    first_loaded_at: datetime | None


@dataclass(frozen=True)
class SystemOverview:
    keks: list[KekRow]
    rewrap_left: int  # data keys still under an older KEK: an unfinished rotation
    secrets_from: dict[str, str]  # the other secrets' purpose -> origin, never their value
    policies: list[PolicyRow]
    organisation_source: str | None  # None: no organisation file, the defaults apply
    horizon: HorizonReport  # how long an erased answer can survive in a kept copy, and what holds that back


def overview(found: Services) -> SystemOverview:
    """The keys as ``casefeedback keys status`` lists them, and each service policy's version in force."""
    # Re-read the keys first: the worker rotates and retires them, and this process's keyring
    # otherwise learns of that only at its next new answer.
    found.keyring.refresh()
    usage = kek_usage(found.engine, found.keyring)
    gone = retired(found.engine)
    retire_from = retirable_from(found.engine, found.keyring.current_active_id)
    secrets = found.config.secrets
    try:
        on_disk = keks_now(found.config)  # a key the worker made since this process started has its origin too
    except KeyOperationError:
        on_disk = secrets.keks  # unreadable now: `keys status` says why; the page shows what it started with
    keks = []
    for use in usage:
        secret = on_disk.get(use.kek_id)
        state = kek_state(use, retire_from, found.clock())
        if state == ACTIVE:
            command = ROTATE
        elif state == RETIRABLE:
            command = RETIRE.format(kek_id=use.kek_id)
        elif state == RETIRABLE_LATER and retire_from is not None:
            # A running process may still wrap under it for a moment after the rotation (crypto/rotation.py).
            command = f"{retirable_when(retire_from)}: " + RETIRE.format(kek_id=use.kek_id)
        else:
            state, command = (state, ROTATE) if use.kek_id not in gone else ("retired", "")
        keks.append(KekRow(use.kek_id, state, _created(use.kek_id), use.data_keys,
                           _origin(secret) if secret is not None else "", command))
    keks += [KekRow(kek_id, f"retired {when}", _created(kek_id), 0, "", "")
             for kek_id, when in sorted(gone.items()) if kek_id not in {u.kek_id for u in usage}]
    in_force = {p.version: p for p in found.policies.services.values()}
    with read(found.engine) as connection:
        loaded = {r.version: r.first_loaded_at for r in connection.execute(
            select(policy_versions.c.version, policy_versions.c.first_loaded_at)
            .where(policy_versions.c.version.in_(list(in_force))))}
    policies = [PolicyRow(p.id, p.version, p.source, loaded.get(p.version))
                for p in sorted(in_force.values(), key=lambda p: p.id)]
    return SystemOverview(keks=keks, rewrap_left=sum(u.data_keys for u in usage if not u.active),
                          secrets_from={"database": _origin(secrets.database),
                                        "audit chain": _origin(secrets.audit_chain),
                                        "audit signing": _origin(secrets.audit_signing)},
                          policies=policies, organisation_source=found.policies.organisation.source,
                          horizon=compute(found))


def _origin(secret: Secret) -> str:
    return secret.origin if secret.path is not None else f"environment ({secret.origin})"


def _created(kek_id: str) -> date | None:
    try:
        return datetime.strptime(kek_id[1:9], "%Y%m%d").date() if kek_id.startswith("k") else None
    except ValueError:
        return None
