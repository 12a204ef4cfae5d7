"""The bookmaker logger: warnings with file locations, counted for ``--strict``.

Level policy: ERROR is only used by the CLI for the failure that stops a build;
WARNING is something the author should fix but the book still builds (an unknown
key, an unresolved link, an image without alt text); INFO is progress and the
summary of what was written; DEBUG is for developers.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bookmaker.errors import format_location

logger = logging.getLogger("bookmaker")


class WarningCounter(logging.Handler):
    """Count (and remember) warnings so ``--strict`` can fail at the end of a build."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def warn(message: str, path: Path | str | None = None, line: int | None = None, *, code: str | None = None) -> None:
    """Log a warning located at ``path:line``.

    ``code`` is the stable finding code ``bookmaker check`` reports (see ``lint``); it and
    the unformatted location ride on the record so the checker need not parse messages.
    """
    extra = {"code": code, "location": (path, line), "bare_message": message}
    logger.warning(format_location(path, line, message), extra=extra)
