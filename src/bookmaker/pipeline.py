"""``build()``: the whole job, from book.yaml to the written outputs, top to bottom."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from bookmaker.anchors import anchor_blocks
from bookmaker.clock import build_datetime
from bookmaker.config import BookConfig, load_config
from bookmaker.errors import ManuscriptError
from bookmaker.limits import check_chapter_size
from bookmaker.log import logger
from bookmaker.model import Book
from bookmaker.output import prepare_outdir
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
#: Every value ``--format`` accepts: the defaults, the cover wrap and the store editions (issue 13).
ALL_FORMATS = FORMATS + ("cover", "kepub", "kindle-epub")


@dataclass
class BuildResult:
    """What a build wrote, for the CLI's summary."""

    outputs: dict[str, Path] = field(default_factory=dict)
    pages: int | None = None
    seconds: float = 0.0


def read_book(manuscript: Path, config: BookConfig | None = None) -> Book:
    """Load config and chapters, then run the book-wide transforms: the model both builders get."""
    config = config or load_config(manuscript)
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


def build(manuscript: Path, outdir: Path, formats: tuple[str, ...] | None = None, printer: str | None = None) -> BuildResult:
    """Read the manuscript once and write every requested format into ``outdir``.

    ``formats`` None means the defaults: pdf and epub, and the cover when ``pdf.printer`` is set.
    ``printer`` overrides ``pdf.printer`` (``bookmaker package --for``).
    """
    start = time.monotonic()
    book = read_book(manuscript)
    if printer is not None:
        book.config.pdf.printer = printer
    if formats is None:
        formats = FORMATS + (("cover",) if book.config.pdf.printer not in (None, "none") else ())
    prepare_outdir(outdir)
    result = BuildResult()

    if "pdf" in formats:
        # Imported here so that an EPUB-only build never loads WeasyPrint.
        from bookmaker.builders.pdf import PdfBuilder

        logger.info("Laying out the print edition")
        pdf = PdfBuilder(book).build_pdf(outdir)
        book.page_map = pdf.page_map
        book.page_starts = pdf.page_starts
        book.print_pages = pdf.page_labels
        result.outputs["pdf"] = pdf.path
        result.pages = pdf.pages

    from bookmaker import press

    print_shop = press.book_printer(book)
    if "pdf" in formats and print_shop is not None:
        result.pages = press.pad_to_even(result.outputs["pdf"])
    if "cover" in formats:
        pages = result.pages or press.interior_pages(book)
        result.outputs["cover"], result.outputs["cover-image"] = press.build_cover(book, outdir, pages)
    if "pdf" in formats and print_shop is not None:
        logger.info("Checking the files against %s's rules", print_shop.label)
        press.run_preflight(book, result.outputs["pdf"], result.outputs.get("cover"), print_shop, outdir)

    if "epub" in formats:
        from bookmaker.builders.epub import EpubBuilder

        logger.info("Packaging the ebook")
        result.outputs["epub"] = EpubBuilder(book).build(outdir)
    if "kepub" in formats:
        from bookmaker.builders.stores import KepubBuilder

        logger.info("Packaging the Kobo edition")
        result.outputs["kepub"] = KepubBuilder(book).build(outdir)
    if "kindle-epub" in formats:
        from bookmaker.builders.stores import KindleEpubBuilder

        logger.info("Packaging the Kindle edition")
        result.outputs["kindle-epub"] = KindleEpubBuilder(book).build(outdir)

    result.seconds = time.monotonic() - start
    return result
