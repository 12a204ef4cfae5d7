"""The ordered book-wide passes that ``build``, ``check`` and ``preview`` all run over the Book."""

from __future__ import annotations

from collections.abc import Callable

from bookmaker.anchors import anchor_blocks
from bookmaker.citations import format_citations
from bookmaker.errors import Report
from bookmaker.images import size_images
from bookmaker.index import collect_index
from bookmaker.log import logger
from bookmaker.model import Book
from bookmaker.notes import place_notes
from bookmaker.numbering import label_chapters
from bookmaker.transforms import (
    build_toc,
    check_ids,
    collect_images,
    number_chapters,
    place_matter,
    resolve_links,
    set_identifier,
)
from bookmaker.xrefs import mark_xrefs, number_figures, resolve_xrefs

#: A pass changes the Book in place and adds what it cannot accept to the Report (never raises
#: for a manuscript problem, so that one run names every problem); warnings go to ``log.warn``.
Pass = Callable[[Book, Report], None]

#: Every book-wide pass, in the order they run.  A new pass (index terms, citations, ...) is one
#: entry here; ``build``, ``check`` and ``preview`` pick it up alike.  Order matters where
#: a pass reads what another made: links need every id (so they follow ``check_ids`` and
#: ``anchor_blocks``), the contents need the numbers.
PASSES: tuple[Pass, ...] = (
    # Citations first: a generated bibliography is a chapter the other passes must see.
    format_citations,
    set_identifier,
    place_matter,
    number_chapters,
    label_chapters,
    build_toc,
    collect_index,  # marker ids, before ids are checked
    number_figures,  # needs the chapter numbers; gives captioned tables their ids
    check_ids,
    anchor_blocks,
    mark_xrefs,  # before resolve_links turns hrefs into (chapter, anchor)
    resolve_links,
    resolve_xrefs,
    collect_images,
    size_images,
    # Notes know their places (and the Notes section joins the contents) once links are resolved.
    place_notes,
    build_toc,
)


def run_passes(book: Book, report: Report, passes: tuple[Pass, ...] | None = None) -> None:
    """Run every pass over ``book`` in order (``PASSES`` unless told), collecting problems in ``report``."""
    for each in PASSES if passes is None else passes:
        logger.debug("Pass %s", each.__name__)
        with report.collecting():
            each(book, report)
