"""Load policy files (TOML) into the frozen model, refusing anything doubtful.

A policy decides who may read a victim's words and when they are erased, so a
typo must never be guessed at or silently ignored. Every problem in a file is
collected (not just the first), each naming the file and the exact key, so the
person editing the policy can fix them all in one pass. The language itself is
documented in ``policies/README.md``.

This module finds the files and assembles a ``ServicePolicy`` from its tables;
each table is checked by its own loader (``service_loader``, ``classes_loader``,
``questions_loader``, ``alerts_loader``), all reading through one ``Reader``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from casefeedback.policy.alerts_loader import read_alerts
from casefeedback.policy.changes_loader import read_changes
from casefeedback.policy.classes_loader import read_classes, read_sections
from casefeedback.policy.model import ORGANISATION_FILE, OrganisationPolicy, PolicySet, ServicePolicy
from casefeedback.policy.organisation_loader import load_organisation_file, parse_organisation
from casefeedback.policy.problems import PolicyError, PolicyProblem
from casefeedback.policy.questions_loader import read_questions
from casefeedback.policy.reader import Declared, Reader, Table, parse_toml, quote, read_bytes
from casefeedback.policy.rota_loader import check_rota_services
from casefeedback.policy.service_loader import read_consent, read_service

__all__ = [
    "PolicyError",
    "PolicyProblem",
    "load_organisation_file",
    "load_policies",
    "load_policy_file",
    "parse_organisation",
    "parse_policy",
]

_TOP_KEYS = ("service", "consent", "classes", "sections", "questions", "alerts", "changes")


def load_policies(directory: Path) -> PolicySet:
    """Load every ``*.toml`` in ``directory`` (sorted by name), or raise PolicyError with every problem."""
    files = _policy_files(directory)
    problems: list[PolicyProblem] = []
    services: dict[str, ServicePolicy] = {}
    # organisation.toml is not a service: it holds organisation-wide rules (staff sessions, break-glass).
    organisation = OrganisationPolicy()
    if any(path.name == ORGANISATION_FILE for path in files):
        try:
            organisation = load_organisation_file(directory / ORGANISATION_FILE)
        except PolicyError as error:
            problems.extend(error.problems)
        files = [path for path in files if path.name != ORGANISATION_FILE]
        if not files:
            problems.append(PolicyProblem(str(directory), "(directory)",
                                          f"contains no service policy files (*.toml besides {ORGANISATION_FILE})"))
    for path in files:
        try:
            policy = load_policy_file(path)
        except PolicyError as error:
            problems.extend(error.problems)
            continue
        if policy.id in services:
            problems.append(
                PolicyProblem(
                    str(path),
                    "service.id",
                    f"{quote(policy.id)} is already declared in {services[policy.id].source}",
                )
            )
            continue
        services[policy.id] = policy
    problems.extend(check_rota_services(organisation, set(services)))
    if problems:
        raise PolicyError(problems)
    return PolicySet(services=services, organisation=organisation)


def _policy_files(directory: Path) -> list[Path]:
    def fail(message: str) -> PolicyError:
        return PolicyError([PolicyProblem(str(directory), "(directory)", message)])

    if not directory.exists():
        raise fail("no such directory")
    if not directory.is_dir():
        raise fail("is not a directory")
    # Hidden files are editor locks or macOS "._name.toml" droppings, never policies.
    files = sorted(p for p in directory.glob("*.toml") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise fail("contains no policy files (*.toml)")
    return files


def load_policy_file(path: Path) -> ServicePolicy:
    """Load one policy file, or raise PolicyError listing every problem in it."""
    data = read_bytes(path)
    return parse_policy(data, str(path))


def parse_policy(data: bytes, source: str) -> ServicePolicy:
    """Check a policy file's bytes; ``source`` names it in problems and in ``ServicePolicy.source``."""
    reader = Reader(source)
    tree = parse_toml(data, source)
    policy = _policy(reader, tree, hashlib.sha256(data).hexdigest())
    if reader.problems or policy is None:
        raise PolicyError(reader.problems)
    return policy


def _policy(r: Reader, tree: Table, version: str) -> ServicePolicy | None:
    r.keys(tree, "", _TOP_KEYS)
    # The order matters: [service] sets the languages every later text is checked
    # against, and questions may only name the classes and sections declared above.
    service = read_service(r, tree)
    consent = read_consent(r, tree)
    declared = Declared()
    classes = read_classes(r, tree, declared)
    sections = read_sections(r, tree, declared)
    questions = read_questions(r, tree, declared)
    alerts = read_alerts(r, tree, declared)
    changes = read_changes(r, tree)
    if r.problems or service is None or consent is None:
        return None
    return ServicePolicy(
        id=service.id,
        name=service.name,
        languages=service.languages,
        exit_url=service.exit_url,
        draft_keep=service.draft_keep,
        helplines=service.helplines,
        consent=consent,
        classes=classes,
        sections=sections,
        questions=questions,
        alerts=alerts,
        suppress_below=service.suppress_below,
        version=version,
        source=r.file,
        changes=changes,
    )
