"""Watch the manuscript and style files and report saves, for ``preview`` and ``build --watch``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from bookmaker.config import load_config
from bookmaker.errors import BookmakerError
from bookmaker.resources import default_styles, styles_dir

#: Milliseconds of quiet before a batch of changes is reported: editors save in several
#: steps (temporary file, rename), and the preview must still follow within a second.
DEBOUNCE_MS = 150


def watched_folders(manuscript: Path) -> list[Path]:
    """The manuscript folder and the theme folder in use (the default theme when none is set)."""
    folders = [manuscript.resolve()]
    try:
        theme = styles_dir(load_config(manuscript))
    except BookmakerError:
        theme = default_styles()
    if theme.is_dir() and not any(theme.resolve().is_relative_to(f) for f in folders):
        folders.append(theme.resolve())
    return folders


def iter_changes(folders: list[Path], stop: threading.Event | None = None, ignore: list[Path] | None = None) -> Iterator[set[Path]]:
    """Yield the set of changed files each time some are saved, until ``stop`` is set.

    watchfiles (inotify on Linux, FSEvents on macOS) is used rather than polling mtimes:
    it sees renames, which is how most editors save, and costs nothing while idle.
    """
    from watchfiles import DefaultFilter, watch

    # Outputs written below a watched folder must not trigger the next build.
    watch_filter = DefaultFilter(ignore_paths=[str(p.resolve()) for p in ignore or []])
    for changes in watch(*folders, watch_filter=watch_filter, debounce=DEBOUNCE_MS, step=50, stop_event=stop, raise_interrupt=False):
        yield {Path(path) for _, path in changes}
