"""Recipe problems: where (file, line, key path), what is wrong, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ganforge.errors import GanforgeError

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Location:
    """Where a value came from: a file and line, or a command-line override."""

    file: str | None = None
    line: int | None = None
    override: str | None = None

    def __str__(self) -> str:
        if self.override:
            return f"--set {self.override}"
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or "<recipe>"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a recipe."""

    location: Location
    path: KeyPath
    message: str

    def __str__(self) -> str:
        key = format_path(self.path)
        return f"{self.location}: {key + ': ' if key else ''}{self.message}"


def format_path(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class RecipeError(GanforgeError):
    """All problems found in a recipe, reported together."""

    def __init__(self, problems: list[Problem], subject: str = "the recipe"):
        self.problems, self.subject = problems, subject
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in {self.subject}:"
        return "\n".join([head] + [f"  {p}" for p in self.problems])
