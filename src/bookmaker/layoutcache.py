"""The layout cache: each section's PDF and layout report under a key made of everything its layout depends on."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

#: Default bound on the cache's size; the least recently used entries go first.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
#: An entry used this recently may belong to a build running now: never removed.
IN_USE_SECONDS = 600
#: The cache's folder inside the output folder.
CACHE_NAME = ".bookmaker-cache"


def digest(*parts: str | bytes) -> str:
    """A key from the parts (each length-prefixed, so that no two lists of parts collide)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()[:40]


@lru_cache(maxsize=1)
def code_digest() -> str:
    """One key for bookmaker's own code, every .py file of the package: a layout or a Markdown
    conversion made by other code is never reused, even where the version number did not move
    (an editable install, a patched copy).  About 120 files, read once per process."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts):
        data = path.read_bytes()
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()[:24]


def tree_digest(folders: list[Path]) -> str:
    """One key for every file under ``folders`` (names and contents): a theme, its fonts."""
    h = hashlib.sha256()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(path.relative_to(folder).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def file_digest(path: Path) -> str:
    """The key of one file's contents (an image), or of its absence."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


class LayoutCache:
    """A folder of ``<key>.pdf`` + ``<key>.json``; with ``folder=None`` a private folder that
    ``close`` removes (``--no-cache``)."""

    def __init__(self, folder: Path | None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.private = folder is None
        self.folder = Path(tempfile.mkdtemp(prefix="bookmaker-layout-")) if folder is None else folder
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> dict[str, Any] | None:
        """What a section's layout reported, if its PDF is in the cache."""
        pdf, info = self.folder / f"{key}.pdf", self.folder / f"{key}.json"
        try:
            data = json.loads(info.read_text(encoding="utf-8")) if pdf.is_file() else None
        except (OSError, ValueError):
            data = None
        if data is None:
            self.misses += 1
            return None
        self.hits += 1
        now = time.time()
        with contextlib.suppress(OSError):
            os.utime(pdf, (now, now))
            os.utime(info, (now, now))
        return data

    def has_pdf(self, key: str) -> bool:
        path = self.folder / f"{key}.pdf"
        if path.is_file():
            with contextlib.suppress(OSError):
                os.utime(path)
            return True
        return False

    def pdf(self, key: str) -> Path:
        return self.folder / f"{key}.pdf"

    def prune(self) -> None:
        """Remove the least recently used entries until the cache is within its bound."""
        if self.private or not self.folder.is_dir():
            return
        # Each file stat'ed once (scandir): a build's close walks a thousand of them.
        entries: dict[str, list[tuple[str, float, int]]] = {}
        with os.scandir(self.folder) as found:
            for entry in found:
                stem, _dot, suffix = entry.name.rpartition(".")
                # A section's PDF and report, and the whole fonts the merge cuts (engine.embedded_fonts).
                if not stem or suffix not in ("pdf", "json", "font"):
                    continue
                with contextlib.suppress(OSError):  # removed meanwhile by another build's prune
                    stat = entry.stat()
                    entries.setdefault(stem, []).append((entry.path, stat.st_mtime, stat.st_size))
        sized = sorted(((max(mtime for _p, mtime, _s in files), key, files) for key, files in entries.items()),
                       key=lambda e: (e[0], e[1]))
        total = sum(size for _u, _k, files in sized for _p, _m, size in files)
        now = time.time()
        for last_used, _key, files in sized:
            if total <= self.max_bytes or now - last_used < IN_USE_SECONDS:
                break
            for path, _mtime, size in files:
                with contextlib.suppress(OSError):
                    os.unlink(path)
                    total -= size

    def close(self) -> None:
        if self.private:
            shutil.rmtree(self.folder, ignore_errors=True)
        else:
            self.prune()
