"""The print run's last steps: an even page count, the cover wrap, the ebook cover image and the printer's preflight."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bookmaker.log import logger, warn
from bookmaker.model import Book
from bookmaker.output import atomic_output
from bookmaker.printers import DEFAULT_PRINTER, Printer, printer_named


def book_printer(book: Book, override: str | None = None) -> Printer | None:
    """The printer named by ``--printer``/``--for`` or by ``pdf.printer`` (None when none)."""
    return printer_named(override if override is not None else book.config.pdf.printer)


def pad_to_even(path: Path) -> int:
    """Append a blank page when the PDF has an odd number of pages (printers bind leaves); returns the count.

    The blank page gets the last page's boxes.  It carries no folio and no content, so the
    ebook's page list (which lists the pages that carry text) is unchanged.
    """
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(path))
    count = len(writer.pages)
    if count % 2 == 0:
        return count
    last = writer.pages[-1]
    page = writer.add_blank_page(width=float(last.mediabox.width), height=float(last.mediabox.height))
    page.mediabox = last.mediabox
    page.trimbox = last.trimbox
    page.bleedbox = last.bleedbox
    with atomic_output(path) as tmp:
        writer.write(str(tmp))
    return count + 1


def interior_pages(book: Book) -> int:
    """The interior's page count (its PrintLayout's) when the PDF is not among the outputs: lay it out in a temporary folder."""
    from bookmaker.builders.pdf import PdfBuilder

    with tempfile.TemporaryDirectory(prefix="bookmaker-pages-") as tmp:
        result = PdfBuilder(book).build_pdf(Path(tmp))
        pages = result.layout.page_count
    return pages


def build_cover(book: Book, outdir: Path, pages: int, printer: str | None = None) -> tuple[Path, Path]:
    """``OUT/<slug>-cover.pdf`` for ``pages`` pages and ``OUT/<slug>-cover.jpg`` for the stores."""
    from bookmaker.builders.coverwrap import CoverWrapBuilder, write_ebook_cover

    if printer is not None and printer != book.config.pdf.printer:
        book.config.pdf.printer = printer
    # Printers bind leaves: an odd count is printed with a blank page at the end, and the spine is that thick.
    pages += pages % 2
    logger.info("Making the cover wrap for %d pages", pages)
    cover = CoverWrapBuilder(book, pages).build_cover(outdir)
    return cover.path, write_ebook_cover(book, outdir)


def run_preflight(book: Book, interior: Path, cover: Path | None, printer: Printer, outdir: Path) -> tuple[Path, Path]:
    """The printer's rules on the written files; each finding is logged as a warning (``--strict`` fails on it).

    Returns the report's text and JSON files, written to ``outdir``.
    """
    from bookmaker.preflight import preflight

    report = preflight(printer, book.config.pdf.paper, interior, cover)
    for found in report.findings:
        warn(f"page {found.page}: {found.message}" if found.page else found.message, found.file, code=found.code)
    return report.write(outdir, book.slug)


__all__ = ["DEFAULT_PRINTER", "book_printer", "build_cover", "interior_pages", "pad_to_even", "run_preflight"]


def check_print(manuscript: Path, printer_name: str):  # type: ignore[no-untyped-def]
    """``bookmaker check --printer``: build the interior and cover in a temporary folder and preflight them.

    Returns the findings (as ``lint.Finding``, located in the PDF with the page in the message)
    and the report of what was checked.
    """
    from bookmaker.lint import finding
    from bookmaker.pipeline import build
    from bookmaker.preflight import preflight

    printer = printer_named(printer_name)
    if printer is None:
        return [], None
    with tempfile.TemporaryDirectory(prefix="bookmaker-preflight-") as tmp:
        result = build(manuscript, Path(tmp), ("pdf", "cover"), printer=printer_name)
        from bookmaker.config import load_config

        paper = load_config(manuscript).pdf.paper
        report = preflight(printer, paper, result.outputs["pdf"], result.outputs.get("cover"))
    found = [finding(f.code, f"page {f.page}: {f.message}" if f.page else f.message, f.file) for f in report.findings]
    return found, report


def configured_printer(manuscript: Path) -> str | None:
    """``pdf.printer`` of the manuscript's book.yaml, or None."""
    from bookmaker.config import load_config
    from bookmaker.errors import BookmakerError

    try:
        name = load_config(manuscript).pdf.printer
    except BookmakerError:
        return None
    return name if name not in (None, "none") else None
