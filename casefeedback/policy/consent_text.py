"""The exact consent text a member of staff reads out when taking feedback on a person's behalf."""

from __future__ import annotations

from casefeedback.policy.model import ServicePolicy


def consent_script(policy: ServicePolicy, language: str) -> str:
    """The exact consent text read out to a person, in their language: what is recorded with their choices.

    The service's ``[consent] read_out`` (or its ``intro``), then each choice
    as the question it is read out as. Built only from the policy, so the text
    recorded can always be checked against the policy version in force.
    """
    consent = policy.consent
    lines = [(consent.read_out or consent.intro)[language]]
    lines += [f"{n}. {choice.label[language]}" for n, choice in enumerate(consent.choices, start=1)]
    return "\n\n".join(lines)
