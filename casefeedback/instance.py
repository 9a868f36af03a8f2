"""Instance secrets: one secret per purpose, from files or the environment.

Why one per purpose: a leak of the session secret must not let anyone open the
database, forge the audit chain or unwrap a data key. Each secret lives in its
own file under ``<instance>/secrets/`` (mode 0600) or in its own environment
variable; nothing derives one secret from another.
"""

from __future__ import annotations

import os
import re
import secrets as token_source
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

Origin = Literal["development", "provisioned", "environment"]

# purpose -> (file name, environment variable, length in bytes)
SINGLE_SECRETS: dict[str, tuple[str, str, int]] = {
    "database": ("database.key", "CASEFEEDBACK_DATABASE_KEY", 32),
    "audit-chain": ("audit-chain.key", "CASEFEEDBACK_AUDIT_CHAIN_KEY", 32),
    "audit-signing": ("audit-signing.key", "CASEFEEDBACK_AUDIT_SIGNING_KEY", 32),
    "session": ("session.key", "CASEFEEDBACK_SESSION_SECRET", 32),
    "lookup": ("lookup.key", "CASEFEEDBACK_LOOKUP_KEY", 32),
    # Signs alert webhooks (HMAC-SHA256). Optional when loading, so an
    # instance made before it existed still starts; `casefeedback init` adds it.
    "webhook": ("webhook.key", "CASEFEEDBACK_WEBHOOK_SECRET", 32),
    # Signs shared insight exports (an Ed25519 seed). Its own key, never the
    # audit signing key: a partner agency trusting it can vouch for nothing in the audit chain.
    "insight-signing": ("insight-signing.key", "CASEFEEDBACK_INSIGHT_SIGNING_KEY", 32),
}
OPTIONAL_SECRETS = frozenset({"webhook", "insight-signing"})
KEK_LENGTH = 32
KEK_FILE = re.compile(r"^kek-([a-z0-9][a-z0-9-]{0,31})\.key$")
ACTIVE_KEK_FILE = "active-kek"
_ORIGIN_LINE = re.compile(r"^#\s*origin:\s*(development|provisioned)\b")


# Every file a casefeedback process creates is for the service account alone: the database and
# the write-ahead log SQLite makes beside it, logs, the erasure ledger, backups, locks, secrets.
PRIVATE_UMASK = 0o077


def keep_files_private() -> None:
    """From now on, this process creates files 0600 and directories 0700, whoever creates them.

    Called where a process starts (``create_app``, the ``casefeedback`` command). Files we open
    ourselves also give their mode; the umask covers the ones a library makes (a backup's copy, a
    re-keyed database) and any added later without thinking of it.
    """
    os.umask(PRIVATE_UMASK)


class SecretError(Exception):
    """A secret is missing, malformed or unsafe. The message names which and how to fix it."""


@dataclass(frozen=True)
class Secret:
    purpose: str
    value: bytes = field(repr=False)
    origin: Origin
    path: Path | None = None  # None when it came from the environment

    def __repr__(self) -> str:  # never print key material, even by accident
        return f"Secret({self.purpose!r}, origin={self.origin!r}, path={self.path!s})"


@dataclass(frozen=True)
class Secrets:
    database: Secret
    audit_chain: Secret
    audit_signing: Secret
    session: Secret
    lookup: Secret
    keks: Mapping[str, Secret]
    active_kek: str
    webhook: Secret | None = None  # None when not provisioned (webhooks then cannot be sent)
    insight_signing: Secret | None = None  # None when not provisioned (exports then cannot be signed)
    notify_api: Secret | None = None  # GOV.UK Notify's API key (its text); None: no SMS

    def all(self) -> list[Secret]:
        return [self.database, self.audit_chain, self.audit_signing, self.session, self.lookup,
                *self.keks.values(), *([self.webhook] if self.webhook else []),
                *([self.insight_signing] if self.insight_signing else []),
                *([self.notify_api] if self.notify_api else [])]


def secrets_dir(instance: Path) -> Path:
    return instance / "secrets"


def _parse_secret_file(path: Path, purpose: str, length: int) -> Secret:
    origin: Origin = "provisioned"
    value: bytes | None = None
    for line in path.read_text(encoding="ascii", errors="replace").splitlines():
        line = line.strip()
        match = _ORIGIN_LINE.match(line)
        if match:
            origin = "development" if match.group(1) == "development" else "provisioned"
        elif line and not line.startswith("#"):
            value = _decode_hex(line, f"{path}", length)
    if value is None:
        raise SecretError(f"{path} holds no key: expected {length * 2} hexadecimal characters")
    return Secret(purpose, value, origin, path)


def _decode_hex(text: str, where: str, length: int) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise SecretError(f"{where} is not hexadecimal: expected {length * 2} hex characters") from None
    if len(value) != length:
        raise SecretError(f"{where} is {len(value)} bytes long: expected {length}")
    return value


def _load_single(instance: Path, purpose: str, environ: Mapping[str, str]) -> Secret:
    file_name, env_name, length = SINGLE_SECRETS[purpose]
    if environ.get(env_name):
        return Secret(purpose, _decode_hex(environ[env_name], env_name, length), "environment")
    path = secrets_dir(instance) / file_name
    if not path.exists():
        raise SecretError(
            f"the {purpose} secret is missing: put it in {path} (mode 0600) or in {env_name}, "
            "or run `casefeedback init`"
        )
    return _parse_secret_file(path, purpose, length)


def _load_keks(instance: Path, environ: Mapping[str, str]) -> tuple[dict[str, Secret], str]:
    keks: dict[str, Secret] = {}
    if environ.get("CASEFEEDBACK_KEKS"):
        # "id1:hex,id2:hex" — for platforms that inject secrets as environment variables.
        for item in environ["CASEFEEDBACK_KEKS"].split(","):
            kek_id, _, hex_value = item.strip().partition(":")
            keks[kek_id] = Secret(f"kek {kek_id}", _decode_hex(hex_value, f"CASEFEEDBACK_KEKS[{kek_id}]",
                                                              KEK_LENGTH), "environment")
    else:
        directory = secrets_dir(instance)
        for path in sorted(directory.glob("kek-*.key")) if directory.exists() else []:
            match = KEK_FILE.match(path.name)
            if match:
                keks[match.group(1)] = _parse_secret_file(path, f"kek {match.group(1)}", KEK_LENGTH)
    active = environ.get("CASEFEEDBACK_ACTIVE_KEK") or _read_active_kek(instance)
    if not keks:
        raise SecretError(
            f"no key-encryption key found: put one in {secrets_dir(instance)}/kek-<id>.key (mode 0600) "
            "or in CASEFEEDBACK_KEKS, or run `casefeedback init`"
        )
    if active not in keks:
        raise SecretError(f"the active key-encryption key {active!r} is not among the loaded keys "
                          f"({', '.join(sorted(keks))})")
    return keks, active


def _read_active_kek(instance: Path) -> str:
    path = secrets_dir(instance) / ACTIVE_KEK_FILE
    if not path.exists():
        raise SecretError(f"{path} is missing: it names the active key-encryption key")
    return path.read_text(encoding="ascii").strip()


def load_secrets(instance: Path, environ: Mapping[str, str]) -> Secrets:
    keks, active = _load_keks(instance, environ)
    return Secrets(
        database=_load_single(instance, "database", environ),
        audit_chain=_load_single(instance, "audit-chain", environ),
        audit_signing=_load_single(instance, "audit-signing", environ),
        session=_load_single(instance, "session", environ),
        lookup=_load_single(instance, "lookup", environ),
        keks=keks,
        active_kek=active,
        webhook=_load_optional(instance, "webhook", environ),
        insight_signing=_load_optional(instance, "insight-signing", environ),
        notify_api=_load_notify_key(instance, environ),
    )


# GOV.UK Notify issues the key, so `casefeedback init` cannot make one: it is text, not hex —
# "<name>-<service id>-<secret>", two UUIDs at the end; the client signs each request with the secret.
NOTIFY_KEY_FILE, NOTIFY_KEY_ENV = "notify-api.key", "CASEFEEDBACK_NOTIFY_API_KEY"
_NOTIFY_KEY = re.compile(r"^[A-Za-z0-9_-]*?-?[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}"
                         r"-[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}$")


def _load_notify_key(instance: Path, environ: Mapping[str, str]) -> Secret | None:
    path = secrets_dir(instance) / NOTIFY_KEY_FILE
    if environ.get(NOTIFY_KEY_ENV):
        text, where, origin, source = environ[NOTIFY_KEY_ENV].strip(), NOTIFY_KEY_ENV, "environment", None
    elif path.exists():
        lines = [line.strip() for line in path.read_text(encoding="ascii", errors="replace").splitlines()
                 if line.strip() and not line.strip().startswith("#")]
        text, where, origin, source = (lines[-1] if lines else ""), str(path), "provisioned", path
    else:
        return None
    if not _NOTIFY_KEY.fullmatch(text):
        # Never repeat the text: it may be a real key pasted with a typo.
        raise SecretError(f"{where} is not a GOV.UK Notify API key: expected the key as Notify shows it, "
                          "a name then two ids (… -xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx-xxxxxxxx-…)")
    return Secret("notify-api", text.encode("ascii"), origin, source)  # type: ignore[arg-type]


def _load_optional(instance: Path, purpose: str, environ: Mapping[str, str]) -> Secret | None:
    file_name, env_name, _length = SINGLE_SECRETS[purpose]
    if not environ.get(env_name) and not (secrets_dir(instance) / file_name).exists():
        return None
    return _load_single(instance, purpose, environ)


def production_problems(loaded: Secrets) -> list[str]:
    """Why these secrets must not be used in production; empty when they may."""
    problems = []
    for secret in loaded.all():
        if secret.origin == "development":
            problems.append(f"the {secret.purpose} secret in {secret.path} was generated for development; "
                            "provision a new one (`casefeedback init --production` on the server)")
        if secret.path is not None:
            mode = stat.S_IMODE(secret.path.stat().st_mode)
            if mode & 0o077:
                problems.append(f"{secret.path} is readable by others (mode {mode:04o}); run chmod 600 on it")
    return problems


def write_secret_file(path: Path, purpose: str, value: bytes, origin: Literal["development", "provisioned"]) -> None:
    # O_EXCL: never overwrite a key that may already protect data.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    note = "never use in production" if origin == "development" else "keep secret; back up separately"
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(f"# casefeedback secret: {purpose}\n# origin: {origin} ({when}; {note})\n{value.hex()}\n")


def generate_missing_secrets(instance: Path, origin: Literal["development", "provisioned"]) -> list[Path]:
    """Create every missing secret file; return the files created. Existing ones are kept."""
    directory = secrets_dir(instance)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    created = []
    for purpose, (file_name, _env, length) in SINGLE_SECRETS.items():
        path = directory / file_name
        if not path.exists():
            write_secret_file(path, purpose, token_source.token_bytes(length), origin)
            created.append(path)
    if not any(directory.glob("kek-*.key")):
        kek_id = new_kek_id()
        path = directory / f"kek-{kek_id}.key"
        write_secret_file(path, f"kek {kek_id}", token_source.token_bytes(KEK_LENGTH), origin)
        fd = os.open(directory / ACTIVE_KEK_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(kek_id + "\n")
        created.append(path)
    return created


def new_kek_id() -> str:
    return datetime.now(UTC).strftime("k%Y%m%d") + "-" + token_source.token_hex(3)


def announce_generated(created: list[Path]) -> None:
    if not created:
        return
    bar = "!" * 78
    print(f"{bar}\n  casefeedback generated {len(created)} DEVELOPMENT secret(s):", file=sys.stderr)
    for path in created:
        print(f"    {path}", file=sys.stderr)
    print("  They are fine for trying casefeedback on this machine and NOTHING else.\n"
          "  Production refuses to start with them: see SECURITY.md, 'Keys'.\n" + bar, file=sys.stderr)
