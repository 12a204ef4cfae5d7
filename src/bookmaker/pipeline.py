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
from bookmaker.citations import add_citations, load_citations
from bookmaker.notes import place_notes
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
    citations = load_citations(config)
    for done, path in enumerate(sources, 1):
        # 'progress' feeds the progress line on a terminal (bookmaker.terminal); DEBUG keeps -v quiet.
        logger.debug("Reading %s", path.name, extra={"progress": (done, len(sources))})
        source = read_source(path)
        if citations is not None:
            source.body = citations.extract(source.body, path, done)
        chapters.append(read_chapter(source, config, chapter_id_for(path, config.root, taken)))
    book = Book(config=config, chapters=chapters, identifier="", build_date=build_datetime())
    if citations is not None:
        add_citations(book, citations)
    book.identifier = derive_identifier(book)
    number_chapters(book)
    build_toc(book)
    anchor_blocks(book)
    resolve_links(book, check_ids(book))
    collect_images(book)
    # The Notes section joins the contents once the notes know their places.
    place_notes(book)
    build_toc(book)
    return book


def build(manuscript: Path, outdir: Path, formats: tuple[str, ...] = FORMATS) -> BuildResult:
    """Read the manuscript once and write every requested format into ``outdir``."""
    start = time.monotonic()
    book = read_book(manuscript)
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

    if "epub" in formats:
        from bookmaker.builders.epub import EpubBuilder

        logger.info("Packaging the ebook")
        result.outputs["epub"] = EpubBuilder(book).build(outdir)

    result.seconds = time.monotonic() - start
    return result
