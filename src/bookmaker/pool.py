"""Worker processes for the section-by-section layout, started early and kept for a build or a watch session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bookmaker.log import logger

if TYPE_CHECKING:
    from bookmaker.engine import SectionJob


class LayoutPool:
    """Worker processes that lay sections out, started once and reused by every batch of a build
    (and of a watch session): each worker parses the theme once (``LayoutEngine._theme``)."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._pool: Any = None
        self._broken = False

    def start(self) -> None:
        """Start the fork server now, so that it imports WeasyPrint while the build renders HTML."""
        if self.workers <= 1 or self._pool is not None or self._broken:
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # forkserver: workers fork from a clean server that never held this process's
        # fontconfig or Pango state (a plain fork after WeasyPrint has run is unsafe).
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["bookmaker.engine", "weasyprint"])
        try:
            from multiprocessing import forkserver

            forkserver.ensure_running()
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        except OSError as error:
            logger.debug("no worker processes (%s); laying out in this process", error)
            self._broken = True

    def run(self, jobs: Sequence[SectionJob]) -> list[dict[str, Any]]:
        """Each job's layout report, in the order of ``jobs``; the longest are started first."""
        from bookmaker.engine import lay_out_section

        if self.workers <= 1 or len(jobs) <= 1:
            return [lay_out_section(job) for job in jobs]
        from concurrent.futures.process import BrokenProcessPool

        self.start()
        if self._pool is not None:
            try:
                # Longest first, so that no long section is left to run alone at the end.
                order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i].html))
                futures = {i: self._pool.submit(lay_out_section, jobs[i]) for i in order}
                return [futures[i].result() for i in range(len(jobs))]
            except (BrokenProcessPool, OSError) as error:
                logger.debug("worker processes failed (%s); laying out in this process", error)
                self.close()
                self._broken = True
        return [lay_out_section(job) for job in jobs]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
