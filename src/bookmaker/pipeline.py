"""``build()``: the whole job, from book.yaml to the written outputs, top to bottom."""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bookmaker.clock import build_datetime
from bookmaker.config import BookConfig, load_config
from bookmaker.errors import ConfigError, ManuscriptError, OutputError, Report
from bookmaker.limits import budget, check_chapter_size
from bookmaker.layoutcache import CACHE_NAME
from bookmaker.log import logger
from bookmaker.markup import ConvertedStore
from bookmaker.citations import Citations, load_citations
from bookmaker.model import Book, Chapter
from bookmaker.output import Staging, prepare_outdir
from bookmaker.passes import run_passes
from bookmaker.pool import LayoutPool, offer_theme
from bookmaker.reader import find_sources, read_chapter, read_source, settle_ids
from bookmaker.sandbox import require_inside
from bookmaker.transforms import chapter_id_for

if TYPE_CHECKING:
    from bookmaker.builders.epub import EpubBuilder
    from bookmaker.builders.pdf import PdfResult

FORMATS = ("pdf", "epub")
#: Every value ``--format`` accepts: the defaults, the cover wrap and the store editions (issue 13).
ALL_FORMATS = FORMATS + ("cover", "kepub", "kindle-epub")


@dataclass
class BuildResult:
    """What a build wrote, for the CLI's summary."""

    outputs: dict[str, Path] = field(default_factory=dict)
    pages: int | None = None
    seconds: float = 0.0


def read_book(manuscript: Path, config: BookConfig | None = None, report: Report | None = None) -> Book:
    """Load config and chapters, then run the book-wide passes: the model every builder gets.

    Every problem is collected; without a ``report`` of the caller's they are raised at the
    end (all of them), with one the caller gets the Book as far as it could be read.
    """
    config = config or load_config(manuscript)
    problems = report if report is not None else Report()
    with budget(config.limits, config.path):
        chapters, citations = read_manuscript(config, problems)
        book = Book(config=config, chapters=chapters, identifier="", build_date=build_datetime(), citations=citations)
        run_passes(book, problems)
    if report is None:
        problems.raise_errors()
    return book


def read_manuscript(config: BookConfig, report: Report) -> tuple[list[Chapter], Citations | None]:
    """The chapters as read, with their citations lifted out into the book's ``Citations``
    (None without a ``bibliography``), for the format_citations pass to fill in."""
    citations = None
    with report.collecting():
        citations = load_citations(config)
    return read_chapters(config, report, citations), citations


def read_chapters(config: BookConfig, report: Report, citations: Citations | None = None) -> list[Chapter]:
    """Every manuscript file as a Chapter, in reading order; a file that cannot be read is reported.

    With ``citations``, each file's citations are lifted out before its Markdown is read
    (the ``format_citations`` pass fills them in once the whole book is known).
    """
    sources = find_sources(config)
    if not sources:
        report.add(ManuscriptError("no .md files found: the manuscript is empty", config.root, code="BM200"))
        return []
    taken: set[str] = set()
    chapters = []
    for done, path in enumerate(sources, 1):
        # 'progress' feeds the progress line on a terminal (bookmaker.terminal); DEBUG keeps -v quiet.
        logger.debug("Reading %s", path.name, extra={"progress": (done, len(sources))})
        try:
            require_inside(path, config.root, "chapter", path, None)
            check_chapter_size(path, config.limits.max_chapter_bytes)
            source = read_source(path)
            if citations is not None:
                source.body = citations.extract(source.body, path, done)
            chapters.append(read_chapter(source, config, chapter_id_for(path, config.root, taken)))
        except ConfigError as exc:
            exc.code = exc.code or "BM103"
            report.add(exc)
        except ManuscriptError as exc:
            exc.code = exc.code or "BM200"
            report.add(exc)
    with report.collecting():
        chapters = settle_ids(chapters, config, taken)
    return chapters


def build(
    manuscript: Path,
    outdir: Path,
    formats: tuple[str, ...] | None = FORMATS,
    before_commit: Callable[[], None] | None = None,
    cache: bool = True,
    workers: int | None = None,
    printer: str | None = None,
    pool: LayoutPool | None = None,
) -> BuildResult:
    """Read the manuscript once, write every requested format, then commit them into ``outdir`` together.

    ``before_commit`` runs after every output is written and before any replaces an old one
    (``--strict`` fails there): a failed build leaves the previous outputs as they were.
    ``cache`` keeps laid-out sections in ``OUT/.bookmaker-cache`` for the next build;
    ``workers`` is the number of layout processes (default: one per core); ``pool`` gives
    worker processes that outlive the build (a watch session keeps them).
    ``formats`` None means the defaults: pdf and epub, and the cover when ``pdf.printer`` is set;
    ``printer`` overrides ``pdf.printer`` (``bookmaker package --for``).
    """
    start = time.monotonic()
    config = load_config(manuscript)
    if printer is not None:
        config.pdf.printer = printer
    if formats is None:
        formats = FORMATS + (("cover",) if config.pdf.printer not in (None, "none") else ())
    result = BuildResult()
    staging: Staging | None = None
    own_pool = None
    # The PDF standards are laid out as one document, in this process (PdfBuilder.sectioned).
    if "pdf" in formats and not config.pdf.standard:
        if pool is None:
            pool = own_pool = LayoutPool(workers)
        from bookmaker.builders.pdf import print_theme

        # The fork server parses the theme while this process reads the manuscript.
        offer_theme(print_theme(config) if pool.workers > 1 else None)
        # Started before the manuscript is read, so that the workers import WeasyPrint meanwhile.
        pool.start()
    else:
        offer_theme(None)
    try:
        # The budget (limits.max_seconds, max_memory_mb) covers reading and writing, not the commit.
        with budget(config.limits, config.path):
            cache_dir = outdir / CACHE_NAME if cache else None
            # The last build's Markdown conversions: a rebuild converts only the files that changed.
            conversions = ConvertedStore(cache_dir)
            with conversions.active():
                book = read_book(manuscript, config)
            prepare_outdir(outdir)
            staging = Staging(outdir)
            try:
                _write_outputs(book, staging.dir, formats, result, cache_dir, workers, pool)
            except OSError as exc:
                if exc.errno in _DISK_ERRORS:
                    raise OutputError(f"cannot write the outputs: {exc.strerror}; the previous outputs were left untouched", outdir) from None
                raise
        if before_commit is not None:
            before_commit()
        assert staging is not None
        committed = staging.commit([path.name for path in result.outputs.values()])
        result.outputs = dict(zip(result.outputs, committed))
        # Kept only by a build that succeeded: a failed one leaves the output folder as it was.
        conversions.save()
    except BaseException:
        if own_pool is not None:
            own_pool.close(abort=True)
        raise
    finally:
        if staging is not None:
            staging.close()
        if own_pool is not None:
            own_pool.close()
    result.seconds = time.monotonic() - start
    return result


#: Write failures the machine causes (a full disk, a quota, a file size limit, a read-only disk).
_DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


def _write_outputs(book: Book, folder: Path, formats: tuple[str, ...], result: BuildResult,
                   cache: Path | None = None, workers: int | None = None,
                   pool: LayoutPool | None = None) -> None:
    pdf = None
    ebook = None
    preparing: Future[None] | None = None
    if "epub" in formats:
        from bookmaker.builders.epub import EpubBuilder

        ebook = EpubBuilder(book)
        if "pdf" in formats and pool is not None and pool.workers > 1:
            # While the workers lay the print edition out, this process only waits for them.
            thread = ThreadPoolExecutor(1, thread_name_prefix="bookmaker-epub")
            preparing = thread.submit(ebook.prepare)
            thread.shutdown(wait=False)  # the thread ends with prepare; preparing.result() waits
    if "pdf" in formats:
        # Imported here so that an EPUB-only build never loads WeasyPrint.
        from bookmaker.builders.pdf import PdfBuilder

        logger.info("Laying out the print edition")
        # The sections are merged into the PDF by a worker while the other formats are written.
        pdf = PdfBuilder(book, cache=cache, workers=workers, pool=pool).build_pdf(folder, background=True)
        book.print_layout = pdf.layout
        result.outputs["pdf"] = pdf.path
        result.pages = pdf.pages
    try:
        if preparing is not None:
            preparing.result()  # its error (a theme's broken template) is the EPUB's, raised here
        _write_other_outputs(book, folder, formats, result, pdf, ebook)
        if pdf is not None:
            pdf.finish()
    except BaseException as error:
        if pdf is not None:
            pdf.abandon(error)
        raise


def _write_other_outputs(book: Book, folder: Path, formats: tuple[str, ...], result: BuildResult,
                         pdf: PdfResult | None, ebook: EpubBuilder | None) -> None:
    from bookmaker import press

    print_shop = press.book_printer(book)
    if pdf is not None and print_shop is not None:
        pdf.finish()  # the printer's steps read the written PDF
        result.pages = press.pad_to_even(result.outputs["pdf"])
    if "cover" in formats:
        pages = result.pages or press.interior_pages(book)
        result.outputs["cover"], result.outputs["cover-image"] = press.build_cover(book, folder, pages)
    if pdf is not None and print_shop is not None:
        logger.info("Checking the files against %s's rules", print_shop.label)
        reports = press.run_preflight(book, result.outputs["pdf"], result.outputs.get("cover"), print_shop, folder)
        result.outputs["preflight"], result.outputs["preflight-json"] = reports

    if ebook is not None:
        logger.info("Packaging the ebook")
        result.outputs["epub"] = ebook.build(folder)
    if "kepub" in formats:
        from bookmaker.builders.stores import KepubBuilder

        logger.info("Packaging the Kobo edition")
        result.outputs["kepub"] = KepubBuilder(book).build(folder)
    if "kindle-epub" in formats:
        from bookmaker.builders.stores import KindleEpubBuilder

        logger.info("Packaging the Kindle edition")
        result.outputs["kindle-epub"] = KindleEpubBuilder(book).build(folder)
