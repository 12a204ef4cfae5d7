"""Load WeasyPrint and parse the book's theme in the fork server, before any layout worker is forked from it (``pool.start_server``)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

#: How long the server waits for the offer: the build writes it once book.yaml is read
#: (about 0.1 s after starting the server), or "null" when it lays nothing out in sections.
WAIT = 2.0


def _offer(path: Path) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            time.sleep(0.01)
    return None


def _warm() -> None:
    from bookmaker.pool import OFFER

    offer = os.environ.get(OFFER)
    if not offer:
        return  # not the fork server of a build
    from bookmaker.engine import Theme, load_weasyprint, warm_theme

    load_weasyprint()
    spec = _offer(Path(offer))
    if not spec:
        return

    warm_theme(Theme(tuple(map(Path, spec["roots"])), tuple(spec["allow"]), tuple(map(Path, spec["files"])),
                     Path(spec["folder"]), tuple(spec.get("languages", ()))))
    _single_threaded()
    _settle_heap()


#: The collector's thresholds in the workers (CPython's default: 700, 10, 10).
GC_THRESHOLDS = (50_000, 20, 100)


def _settle_heap() -> None:
    """Keep the collector off what the workers inherit, and run it less often in them.

    A worker's collections would walk every object the server made (WeasyPrint, the parsed
    theme) and write to the pages holding them, so the kernel copied those pages into each
    worker (copy on write); ``gc.freeze`` leaves them out.  And a layout makes boxes by the
    hundred thousand, nearly all alive until the section is written: at CPython's default
    thresholds the collector ran 0.6 s of a 40-chapter book's 11 s of layouts, 0.26 s at
    these (measured in one process; frozen and raised, the workers' layouts took 4 % less
    CPU), for some 20 MB more per worker.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _single_threaded(seconds: float = 2.0) -> None:
    """Wait until this process runs one thread again.

    Pango 1.50 initialises fontconfig in a thread of its own when a font map is made (the
    FontConfiguration above); the thread ends within milliseconds.  A worker forked while it
    ran would inherit its locks but not the thread, and could wait for it for ever.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if len(os.listdir(f"/proc/{os.getpid()}/task")) <= 1:
                return
        except OSError:
            return  # no /proc: nothing to wait on
        time.sleep(0.002)


try:
    _warm()
except Exception:  # noqa: BLE001 - the server must start whatever happens; a worker then parses the theme itself
    pass
