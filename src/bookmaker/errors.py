"""Errors an author can act on, each with its documented exit code."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
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

    def __init__(
        self, message: str, path: Path | str | None = None, line: int | None = None, *, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        #: The finding code ``bookmaker check`` reports it under (see ``lint``), when it has one.
        self.code = code

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


class ProblemList(BookmakerError):
    """Several problems found in one reading of the book, reported together in reading order."""

    def __init__(self, errors: list[BookmakerError]) -> None:
        first = errors[0]
        super().__init__(first.message, first.path, first.line, code=first.code)
        self.errors = errors
        # The first problem decides the exit code, as it would if it were alone.
        self.exit_code = first.exit_code
        self.category = first.category

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)


class Report:
    """Collects the errors of the reading stage and of every pass, so that one run names them all."""

    def __init__(self) -> None:
        self.errors: list[BookmakerError] = []

    def add(self, error: BookmakerError) -> None:
        """Keep ``error`` (the problems of a ProblemList one by one)."""
        self.errors.extend(error.errors if isinstance(error, ProblemList) else [error])

    @contextlib.contextmanager
    def collecting(self) -> Iterator[None]:
        """Run a block; an expected error it raises is kept and the caller goes on."""
        try:
            yield
        except BookmakerError as exc:
            self.add(exc)

    def raise_errors(self) -> None:
        """Raise what was collected: the error itself if there is one, a ProblemList if there are more."""
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise ProblemList(self.errors)


class OutputError(BookmakerError):
    """An output cannot be written where it was asked for."""

    exit_code = EXIT_OUTPUT
    category = "output"


class UsageError(BookmakerError):
    """The command or its environment (such as SOURCE_DATE_EPOCH) is wrong."""

    exit_code = EXIT_USAGE
    category = "usage"


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
