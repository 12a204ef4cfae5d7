"""Write outputs atomically: a temporary file in the output folder, renamed when complete."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bookmaker.errors import OutputError

#: A temporary output (``.<name>.<8 random characters>.tmp``, see atomic_output) older than this
#: was left by a killed build (SIGKILL, power loss): no running build is that slow.
STALE_SECONDS = 24 * 3600
_TEMPORARY_RE = re.compile(r"^\.[^/]+\.[A-Za-z0-9_]{8}\.tmp$")


def prepare_outdir(outdir: Path) -> None:
    """Create the output folder, or fail with a clear message when it cannot be used."""
    if outdir.exists() and not outdir.is_dir():
        raise OutputError("cannot write outputs here: it is a file, not a folder", outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder ({exc.strerror})", outdir) from None
    if not os.access(outdir, os.W_OK):
        raise OutputError("the output folder is not writable", outdir)
    remove_stale_temporaries(outdir)


def remove_stale_temporaries(outdir: Path, now: float | None = None) -> list[Path]:
    """Delete temporary outputs a killed build left behind; a recent one may belong to a running build."""
    now = time.time() if now is None else now
    removed = []
    for path in outdir.iterdir():
        if _TEMPORARY_RE.match(path.name) and path.is_file():
            with contextlib.suppress(FileNotFoundError):
                if now - path.stat().st_mtime > STALE_SECONDS:
                    path.unlink()
                    removed.append(path)
    return removed


@contextlib.contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it over ``target`` only on success.

    The temporary name is unique (mkstemp), so two builds into the same folder never
    write the same file; each rename is atomic, so a reader sees one whole output or the other.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        # Flush to disk before the rename, or a crash right after it can leave an empty file
        # under the final name (the classic ext4 rename-without-fsync problem).
        with open(tmp, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(tmp, target)
    finally:
        # Runs on errors and on KeyboardInterrupt alike: the old output stays untouched.
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
