"""What a policy file got wrong: each problem names the file, the exact key and the reason.

Every problem in a file is collected, not just the first, so the person editing
the policy can fix them all in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["PolicyError", "PolicyProblem"]


@dataclass(frozen=True)
class PolicyProblem:
    file: str  # the path as given to the loader
    key: str  # dotted key, e.g. "questions[2].kind"; "(syntax)" for TOML errors
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}"


class PolicyError(Exception):
    """One or more policy files are unusable; ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[PolicyProblem]) -> None:
        self.problems: list[PolicyProblem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type[PolicyError], tuple[list[PolicyProblem]]]:
        # The default would call PolicyError(message); keep the structured problems.
        return (PolicyError, (self.problems,))
