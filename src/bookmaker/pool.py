"""Worker processes for the section-by-section layout, started early and kept for a build or a watch session."""

from __future__ import annotations

import atexit
import heapq
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bookmaker.log import logger

if TYPE_CHECKING:
    from concurrent.futures import Future

    from bookmaker.engine import SectionJob, Theme


class LayoutPool:
    """Worker processes that lay sections out, started once and reused by every batch of a build
    (and of a watch session).  The fork server parses the book's theme before it forks them
    (``offer_theme``); a worker parses it only when it changed (``LayoutEngine._theme``)."""

    def __init__(self, workers: int | None = None, session: bool = False) -> None:
        #: Worker processes (default: one per core; 1 lays out in the build's process).
        self.workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
        #: The workers serve several builds (a watch session): they stay after a build's layout.
        self.session = session
        self._pool: Any = None
        self._broken = False
        #: One-process executors of work that outlives the layout workers (``submit(last=True)``).
        self._apart: list[Any] = []

    def start(self) -> None:
        """Start the fork server now, so that it imports WeasyPrint while the build renders HTML."""
        if self.workers <= 1 or self._pool is not None or self._broken:
            return
        try:
            self._pool = _executor(self.workers)
        except OSError as error:
            logger.debug("no worker processes (%s); laying out in this process", error)
            self._broken = True

    def run(self, jobs: Sequence[SectionJob],
            follow: Callable[[SectionJob, dict[str, Any]], Sequence[SectionJob]] | None = None) -> list[dict[str, Any]]:
        """Each job's layout report, in the order the jobs were given.

        Without ``follow`` the longest jobs are started first, so that no long one is left to
        run alone at the end.  With it, the sections are started in the order given, and
        ``follow(job, report)`` is told of each one done: the jobs it returns are run in the same
        batch, and their reports come after those of ``jobs`` in the order it gave them.  A
        section it adds is started before the documents of folios waiting (``SectionJob.keep``):
        those are short and fill the workers at the end.
        """
        from bookmaker.engine import lay_out_section

        every = list(jobs)

        def rank(index: int) -> tuple[int, int]:
            job = every[index]
            return (job.keep is not None, index) if follow is not None else (0, -len(job.html))

        waiting = [(rank(i), i) for i in range(len(every))]
        heapq.heapify(waiting)
        results: dict[int, dict[str, Any]] = {}
        pages = 0

        def finished(index: int, report: dict[str, Any]) -> None:
            nonlocal pages
            results[index] = report
            if every[index].keep is None:  # a section, not a document of folios
                pages += report["pages"]
                # The progress line (terminal.ProgressLine): pages laid out so far.
                logger.debug("Laying out the print edition", extra={"layout_pages": pages})
            for job in follow(every[index], report) if follow is not None else ():
                every.append(job)
                heapq.heappush(waiting, (rank(len(every) - 1), len(every) - 1))

        # One section is laid out here unless the workers are already running (a rebuild after
        # a one-chapter edit: the worker has WeasyPrint loaded; this process has not).
        if self.workers > 1 and every and (len(every) > 1 or self._pool is not None):
            from concurrent.futures import FIRST_COMPLETED, wait
            from concurrent.futures.process import BrokenProcessPool

            self.start()
            running: dict[Any, int] = {}
            try:
                while self._pool is not None and (waiting or running):
                    # One job queued beyond the busy workers, so that none waits for the next;
                    # no more, so that a section ``follow`` adds goes before what waits.
                    while waiting and len(running) <= self.workers:
                        index = heapq.heappop(waiting)[1]
                        running[self._pool.submit(lay_out_section, every[index])] = index
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    failed = [future for future in done if future.exception() is not None]
                    for future in done:
                        if future not in failed:
                            finished(running.pop(future), future.result())
                    if failed:  # its job stays in ``running``, to be laid out again below
                        failed[0].result()
            except (BrokenProcessPool, OSError) as error:
                logger.debug("worker processes failed (%s); laying out in this process", error)
                self.close()
                self._broken = True
                # What the workers had not finished is laid out below; what they had is kept.
                for index in running.values():
                    heapq.heappush(waiting, (rank(index), index))
        # Without workers (or after they failed), in this process.
        while waiting:
            index = heapq.heappop(waiting)[1]
            finished(index, lay_out_section(every[index]))
        return [results[i] for i in range(len(every))]

    def submit(self, fn: Callable[..., Any], *args: Any, last: bool = False) -> Future[Any] | None:
        """Run ``fn(*args)`` in a worker, beside whatever this process does next; None when
        there are no worker processes (the caller then runs it itself).

        ``last``: the build lays nothing out after this.  Unless the workers serve a session,
        they end now and ``fn`` runs in a process of its own: the layout workers' memory (a
        parsed theme, its fonts, WeasyPrint) is not held while the build writes the EPUB.
        """
        if self.workers <= 1 or self._broken:
            return None
        from concurrent.futures.process import BrokenProcessPool

        try:
            if last and not self.session:
                self.close()
                executor = _executor(1)
                self._apart.append(executor)
                return executor.submit(fn, *args)
            self.start()
            if self._pool is None:
                return None
            return self._pool.submit(fn, *args)
        except (BrokenProcessPool, RuntimeError, OSError) as error:
            logger.debug("worker processes failed (%s); running in this process", error)
            return None

    def close(self, abort: bool = False) -> None:
        """Stop the workers: after their current jobs, or at once if ``abort`` (an interrupted
        or failed build must not wait for layouts nobody will read)."""
        executors = [self._pool] if self._pool is not None else []
        executors += self._apart
        self._pool, self._apart = None, []
        for executor in executors:
            if abort:
                for process in list(getattr(executor, "_processes", {}).values()):
                    process.kill()
            executor.shutdown(wait=True, cancel_futures=True)


def _executor(workers: int) -> Any:
    """``workers`` processes from the fork server, each ending with the build (``_end_with_build``)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    start_server()
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"),
                               initializer=_end_with_build, initargs=_this_build())


@lru_cache(maxsize=1)
def _workers_tmp() -> str:
    """A temporary folder for the workers, removed when this process ends.

    A worker ends by ``os._exit`` (multiprocessing; the watchdog below), so no finaliser of
    its own runs: WeasyPrint's ``FontConfiguration`` copies every @font-face file into a
    ``weasyprint-*`` folder that only its ``__del__`` removes, and a build left megabytes
    of fonts behind in /tmp per worker.  The workers' TMPDIR points here instead.
    """
    folder = tempfile.mkdtemp(prefix="bookmaker-workers-")
    atexit.register(shutil.rmtree, folder, True)
    return folder


def start_server() -> None:
    """Start the fork server the workers come from, if it is not running yet.

    Called as early as the command line knows a PDF will be laid out, because the server's
    import of WeasyPrint and parse of the theme (about 0.5 s) are what the first section
    waits for in a rebuild.
    forkserver: workers fork from a clean server that never held this process's fontconfig
    or Pango state (a plain fork after WeasyPrint has run is unsafe).
    """
    import multiprocessing

    # What a worker imports for its first section, imported once in the server instead (in a
    # rebuild the one section to lay out waited about 0.1 s for these in its worker).
    # bookmaker.warmup loads WeasyPrint (engine.load_weasyprint) and parses the theme the build
    # offers (offer_theme), once for all workers.
    # pikepdf for the merge, which runs in a process of its own from this server (submit(last=True)).
    preload = ["bookmaker.warmup", "bookmaker.fonts", "bookmaker.sandbox", "bookmaker.resources", "json",
               "bookmaker.assemble", "pikepdf"]
    multiprocessing.get_context("forkserver").set_forkserver_preload(preload)
    _start_quiet_server()


def offer_theme(theme: Theme | None) -> None:
    """Tell the fork server which theme to parse before it forks any worker (``bookmaker.warmup``),
    or None when the build lays nothing out in workers (the server then stops waiting for it)."""
    import json

    if not _server_started:
        return  # no server of this process waits for it
    spec = None if theme is None else {"roots": [str(p) for p in theme.roots], "allow": list(theme.allow),
                                       "files": [str(p) for p in theme.files], "folder": str(theme.folder),
                                       "languages": list(theme.languages)}
    target = _offer_path()
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        partial.write_text(json.dumps(spec), encoding="utf-8")
        os.replace(partial, target)  # the server never reads half an offer
    except OSError as error:
        logger.debug("cannot offer the theme to the fork server (%s)", error)


def _offer_path() -> Path:
    return Path(_workers_tmp()) / "theme.json"


def _start_quiet_server() -> None:
    """Start the fork server with its standard error on /dev/null, which the workers inherit,
    and its TMPDIR in a folder this process removes (``_workers_tmp``).

    A worker has nothing to tell the terminal: its warnings travel back with its layout
    (``engine.replay_warnings``) and its exceptions with the job.  What it would print is
    multiprocessing's noise, such as the traceback of a worker still starting when an
    interrupted build removed its semaphores.  (``-j 1`` lays out in the build's process.)
    """
    from multiprocessing import forkserver

    global _server_started
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved_tmp = os.environ.get("TMPDIR")
    try:
        # The server is forked and executed within ensure_running, so the swap is brief.
        os.dup2(devnull, 2)
        os.environ["TMPDIR"] = _workers_tmp()
        os.environ[OFFER] = str(_offer_path())
        forkserver.ensure_running()
        _server_started = True
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
        os.environ.pop(OFFER, None)
        if saved_tmp is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_tmp


#: The variable naming, in the fork server, the file where the build offers its theme
#: (``offer_theme``, read by ``bookmaker.warmup``).
OFFER = "BOOKMAKER_WARM_THEME"
#: Whether this process started a fork server (``ensure_running`` starts it once).
_server_started = False


def _this_build() -> tuple[int, str]:
    me = os.getpid()
    state = _stat(me)
    return me, state[1] if state else ""


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process from /proc, or None if it is gone (or there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return fields[0].decode(), fields[19].decode()


def _end_with_build(build: int, started: str) -> None:
    """Run first in each worker: end the worker when the build's process ends, even killed.

    A worker of ``ProcessPoolExecutor`` holds both ends of its job queue and the fork server's
    "alive" pipe, so a worker orphaned by a killed build would wait for work for ever and keep
    the build's stderr open (whoever reads it hangs).  A killed process stays a zombie until
    its parent waits, hence the state check; the start time tells a reused process id.
    """
    import signal
    import threading
    import time

    # Ctrl-C reaches every process of the terminal's group: the build's process handles it
    # (and ends the workers); a worker would only print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _stat(build) is None:  # no /proc: nothing to watch
        return

    def watch() -> None:
        while True:
            time.sleep(0.5)
            state = _stat(build)
            if state is None or state[0] in ("Z", "X") or state[1] != started:
                os._exit(1)

    threading.Thread(target=watch, name="bookmaker-end-with-build", daemon=True).start()
