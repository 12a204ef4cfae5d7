"""Write outputs atomically: staged in the output folder, committed all together when the build succeeded."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from bookmaker.errors import OutputError, display_path
from bookmaker.log import warn

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
    for message in recover_commits(outdir):
        warn(message, outdir, code="BM610")


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


# -- committing a build's outputs together ---------------------------------------------------------
#
# A build writes every output into a staging folder inside the output folder (same file system,
# so a rename moves a file without copying it).  Only when everything succeeded, the strict
# check included, are the staged files committed:
#
#   1. the output folder is locked (flock on the folder itself), so two builds never commit at once;
#   2. every old output is hard-linked into ``STAGING/old/`` (the way back);
#   3. a journal ``STAGING/journal.json`` names the files, and is fsynced: from here on, the commit
#      can always be completed, because every new file is already whole on disk;
#   4. each staged file is renamed over its target, in a fixed order (a reader always finds a
#      whole file under each name, old or new);
#   5. the journal and the staging folder are removed.
#
# Ctrl-C and SIGTERM are held back during steps 2-5 and reported afterwards.  A build killed
# outright (SIGKILL, power loss) in the middle leaves the journal: the next build into the
# folder completes that commit first (or, when a staged file is missing, rolls it back from
# ``old/``) and says which.  Each running build holds a lock on its own staging folder, so a
# later build removes only the staging folders of builds that are gone.

STAGING_PREFIX = ".bookmaker-staging-"
JOURNAL_NAME = "journal.json"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, with what the output folder holds now."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@contextlib.contextmanager
def _locked(folder: Path, blocking: bool = True) -> Iterator[bool]:
    """Hold an exclusive flock on ``folder`` (yields False when ``blocking`` is off and it is taken)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@contextlib.contextmanager
def _signals_held() -> Iterator[list[int]]:
    """Hold back SIGINT and SIGTERM (main thread only); yields the list of signals that arrived."""
    arrived: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield arrived
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in saved:
        signal.signal(sig, lambda number, _frame: arrived.append(number))
    try:
        yield arrived
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Staging:
    """A build's staging folder inside the output folder; ``commit`` moves its files into place together."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        # Made and locked under the output folder's lock, which recover_commits holds while it
        # drops unlocked staging folders: otherwise a build starting beside this one could
        # remove the folder between mkdtemp and flock.
        try:
            with _locked(outdir):
                self.dir = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=outdir))
                # Held until the build ends: tells other builds that this staging folder is alive.
                self._fd: int | None = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError as exc:
            raise OutputError(f"cannot write into the output folder ({exc.strerror})", outdir) from None

    def close(self) -> None:
        """Remove the staging folder (whatever is left in it is discarded)."""
        shutil.rmtree(self.dir, ignore_errors=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def commit(self, names: list[str]) -> list[Path]:
        """Move the staged files ``names`` over their targets in the output folder, all or none."""
        for name in names:
            target = self.outdir / name
            if target.is_dir() and not target.is_symlink():
                raise OutputError("cannot write the output: a folder has this name", target)
        with _signals_held() as arrived, _locked(self.outdir):
            old = self.dir / "old"
            old.mkdir()
            for name in names:
                if (self.outdir / name).is_file():
                    os.link(self.outdir / name, old / name)
            _write_journal(self.dir, names)
            try:
                for name in names:
                    os.replace(self.dir / name, self.outdir / name)
                _fsync_dir(self.outdir)
            except OSError as exc:
                _roll_back(self.outdir, self.dir, names)
                raise OutputError(f"cannot replace the outputs ({exc.strerror}); the previous ones were restored", self.outdir) from None
            (self.dir / JOURNAL_NAME).unlink()
        if arrived:
            raise Interrupted(f"interrupted after the build was complete; {display_path(self.outdir)} holds the new outputs")
        return [self.outdir / name for name in names]


def _write_journal(staging: Path, names: list[str]) -> None:
    journal = staging / JOURNAL_NAME
    with open(journal.with_suffix(".tmp"), "w", encoding="utf-8") as handle:
        json.dump({"files": names}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(journal.with_suffix(".tmp"), journal)
    _fsync_dir(staging)


def _roll_back(outdir: Path, staging: Path, names: list[str]) -> None:
    """Put the old outputs back (from ``old/``); a new output that had no old one is removed."""
    for name in names:
        saved = staging / "old" / name
        if saved.exists():
            os.replace(saved, outdir / name)
        elif not (staging / name).exists():
            # Moved in by this commit, and no old file to restore: remove it.
            with contextlib.suppress(FileNotFoundError):
                (outdir / name).unlink()


def recover_commits(outdir: Path) -> list[str]:
    """Finish what builds that died left in ``outdir``: complete (or undo) a half-done commit, drop staging folders.

    Returns one message per commit found, saying which outputs the folder now holds.
    """
    messages = []
    with _locked(outdir):
        for staging in sorted(outdir.glob(STAGING_PREFIX + "*")):
            if not staging.is_dir() or staging.is_symlink():
                continue
            with _locked(staging, blocking=False) as free:
                if not free:
                    continue  # a running build's
                journal = staging / JOURNAL_NAME
                if journal.is_file():
                    messages.append(_finish(outdir, staging, journal))
                shutil.rmtree(staging, ignore_errors=True)
    return messages


def _finish(outdir: Path, staging: Path, journal: Path) -> str:
    try:
        names = [str(n) for n in json.loads(journal.read_text(encoding="utf-8"))["files"]]
    except (OSError, ValueError, KeyError, TypeError):
        return f"a build that was stopped while committing left an unreadable journal in {staging.name}; check the outputs"
    names = [n for n in names if "/" not in n and n not in ("", ".", "..")]
    missing = [n for n in names if not (staging / n).exists() and not (outdir / n).exists()]
    if missing:
        _roll_back(outdir, staging, names)
        return f"a build was stopped while replacing its outputs; restored the previous {', '.join(names)}"
    for name in names:
        if (staging / name).exists():
            os.replace(staging / name, outdir / name)
    _fsync_dir(outdir)
    return f"a build was stopped while replacing its outputs; completed it: {', '.join(names)} are the new ones"
