"""``build()``: the whole job, from book.yaml to the written outputs, top to bottom."""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bookmaker.anchors import anchor_blocks
from bookmaker.clock import build_datetime
from bookmaker.config import BookConfig, load_config
from bookmaker.errors import ManuscriptError, OutputError
from bookmaker.limits import budget, check_chapter_size
from bookmaker.log import logger
from bookmaker.model import Book
from bookmaker.output import Staging, prepare_outdir
from bookmaker.reader import find_sources, read_chapter, read_source
from bookmaker.sandbox import require_inside
from bookmaker.transforms import (
    build_toc,
    chapter_id_for,
    check_ids,
    collect_images,
    derive_identifier,
    number_chapters,
    resolve_links,
)

FORMATS = ("pdf", "epub")


@dataclass
class BuildResult:
    """What a build wrote, for the CLI's summary."""

    outputs: dict[str, Path] = field(default_factory=dict)
    pages: int | None = None
    seconds: float = 0.0


def read_book(manuscript: Path, config: BookConfig | None = None) -> Book:
    """Load config and chapters, then run the book-wide transforms: the model both builders get."""
    config = config or load_config(manuscript)
    with budget(config.limits, config.path):
        return _read_book(config)


def _read_book(config: BookConfig) -> Book:
    sources = find_sources(config)
    if not sources:
        raise ManuscriptError("no .md files found: the manuscript is empty", config.root)
    for path in sources:
        require_inside(path, config.root, "chapter", path, None)
        check_chapter_size(path, config.limits.max_chapter_bytes)
    taken: set[str] = set()
    chapters = []
    for done, path in enumerate(sources, 1):
        # 'progress' feeds the progress line on a terminal (bookmaker.terminal); DEBUG keeps -v quiet.
        logger.debug("Reading %s", path.name, extra={"progress": (done, len(sources))})
        chapters.append(read_chapter(read_source(path), config, chapter_id_for(path, config.root, taken)))
    book = Book(config=config, chapters=chapters, identifier="", build_date=build_datetime())
    book.identifier = derive_identifier(book)
    number_chapters(book)
    build_toc(book)
    anchor_blocks(book)
    resolve_links(book, check_ids(book))
    collect_images(book)
    return book


def build(
    manuscript: Path,
    outdir: Path,
    formats: tuple[str, ...] = FORMATS,
    before_commit: Callable[[], None] | None = None,
) -> BuildResult:
    """Read the manuscript once, write every requested format, then commit them into ``outdir`` together.

    ``before_commit`` runs after every output is written and before any replaces an old one
    (``--strict`` fails there): a failed build leaves the previous outputs as they were.
    """
    start = time.monotonic()
    config = load_config(manuscript)
    result = BuildResult()
    staging: Staging | None = None
    try:
        # The budget (limits.max_seconds, max_memory_mb) covers reading and writing, not the commit.
        with budget(config.limits, config.path):
            book = read_book(manuscript, config)
            prepare_outdir(outdir)
            staging = Staging(outdir)
            try:
                _write_outputs(book, staging.dir, formats, result)
            except OSError as exc:
                if exc.errno in _DISK_ERRORS:
                    raise OutputError(f"cannot write the outputs: {exc.strerror}; the previous outputs were left untouched", outdir) from None
                raise
        if before_commit is not None:
            before_commit()
        assert staging is not None
        committed = staging.commit([path.name for path in result.outputs.values()])
        result.outputs = dict(zip(result.outputs, committed))
    finally:
        if staging is not None:
            staging.close()
    result.seconds = time.monotonic() - start
    return result


#: Write failures the machine causes (a full disk, a quota, a file size limit, a read-only disk).
_DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


def _write_outputs(book: Book, folder: Path, formats: tuple[str, ...], result: BuildResult) -> None:
    if "pdf" in formats:
        # Imported here so that an EPUB-only build never loads WeasyPrint.
        from bookmaker.builders.pdf import PdfBuilder

        logger.info("Laying out the print edition")
        pdf = PdfBuilder(book).build_pdf(folder)
        book.page_map = pdf.page_map
        book.page_starts = pdf.page_starts
        book.print_pages = pdf.page_labels
        result.outputs["pdf"] = pdf.path
        result.pages = pdf.pages

    if "epub" in formats:
        from bookmaker.builders.epub import EpubBuilder

        logger.info("Packaging the ebook")
        result.outputs["epub"] = EpubBuilder(book).build(folder)
