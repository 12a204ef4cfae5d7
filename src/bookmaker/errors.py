"""Errors an author can act on, each with its documented exit code."""

from __future__ import annotations

import os
from pathlib import Path

# Exit codes are part of the user contract (README, "Exit codes").
EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_MANUSCRIPT = 4
EXIT_OUTPUT = 5
EXIT_STRICT = 6


class BookmakerError(Exception):
    """An expected failure: printed as one line, never as a traceback."""

    exit_code = EXIT_UNEXPECTED
    category = "error"

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        return format_location(self.path, self.line, self.message)


class ConfigError(BookmakerError):
    """book.yaml is missing, malformed or invalid; ``problems`` holds every problem found."""

    exit_code = EXIT_CONFIG
    category = "config"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(self.problems)


class ManuscriptError(BookmakerError):
    """A manuscript file (chapter, image, front matter) cannot be used."""

    exit_code = EXIT_MANUSCRIPT
    category = "manuscript"


class OutputError(BookmakerError):
    """An output cannot be written where it was asked for."""

    exit_code = EXIT_OUTPUT
    category = "output"


class StrictModeError(BookmakerError):
    """Warnings were reported and ``--strict`` turns them into a failure."""

    exit_code = EXIT_STRICT
    category = "strict"


def format_location(path: Path | str | None, line: int | None, message: str) -> str:
    """Format ``path:line: message`` the way editors and compilers do."""
    if path is None:
        return message
    where = display_path(path)
    if line is not None:
        where = f"{where}:{line}"
    return f"{where}: {message}"


def display_path(path: Path | str) -> str:
    """Show a path relative to the working directory when it lies below it."""
    p = Path(path)
    # abspath, not resolve(): a symlinked chapter is named by its own name, not its target's.
    absolute = Path(os.path.abspath(p))
    for base in (Path.cwd(), Path.cwd().resolve()):
        if absolute.is_relative_to(base):
            return str(absolute.relative_to(base))
    return str(p)


#: The most characters of an author's value a message repeats (a value can be megabytes long).
SHOWN_CHARACTERS = 80


def shorten(text: str, limit: int = SHOWN_CHARACTERS) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, so that no message repeats a huge value."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def shown(value: object) -> str:
    """``repr(value)`` for a message, at most SHOWN_CHARACTERS long."""
    return shorten(repr(value))
