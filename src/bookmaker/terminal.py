"""Terminal conventions: colour only on a terminal without NO_COLOR, a progress line only on a terminal."""

from __future__ import annotations

import logging
import os
import re
import shutil
from typing import TextIO

_PAGE_RE = re.compile(r"Creating layout - Page (\d+)")
#: WeasyPrint's progress steps, as an author would name them.
_STEPS = {
    "Step 1": "Reading the book HTML",
    "Step 2": "Reading the stylesheets",
    "Step 3": "Applying the styles",
    "Step 4": "Building the page boxes",
    "Step 6": "Writing the PDF",
    "Step 7": "Adding PDF metadata",
}


def use_color(stream: TextIO) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return bool(stream.isatty()) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def wants_progress(stream: TextIO) -> bool:
    """A progress line only on an interactive terminal: never when piped, in CI or on a dumb terminal."""
    return bool(stream.isatty()) and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"


class ProgressLine(logging.Handler):
    """Show the current stage on one line of the terminal, rewritten in place.

    It listens to the ``bookmaker`` logger (INFO stages; DEBUG records that carry
    ``progress=(done, total)`` for chapters) and to ``weasyprint.progress`` (layout pages).
    Any warning first clears the line, so messages are never written over it.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(level=logging.DEBUG)
        self.stream = stream
        self.shown = False

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.clear()
            return
        text = self._describe(record)
        if text is None:
            return
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        self.stream.write("\r\x1b[2K" + text[:width])
        self.stream.flush()
        self.shown = True

    def _describe(self, record: logging.LogRecord) -> str | None:
        message = record.getMessage()
        if record.name == "weasyprint.progress":
            page = _PAGE_RE.search(message)
            if page:
                return f"Laying out the print edition: page {page.group(1)}"
            return _STEPS.get(message.split(" -")[0])
        laid = getattr(record, "layout_pages", None)
        if laid is not None:  # sections laid out by worker processes (bookmaker.pool)
            return f"Laying out the print edition: page {laid}"
        progress = getattr(record, "progress", None)
        if progress:
            done, total = progress
            filled = round(20 * done / total) if total else 20
            return f"{message:<40.40} [{'#' * filled}{'.' * (20 - filled)}] {done}/{total}"
        if record.levelno == logging.INFO:
            return message
        return None

    def clear(self) -> None:
        """Remove the progress line (before a message, and at the end)."""
        if self.shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self.shown = False
