"""The format-neutral Book model that every builder receives.

Chapter bodies are lxml trees of plain HTML with three placeholders that each
builder resolves in its own way (Sphinx ``get_target_uri``):

- ``<noteref note="ID" id="REF" number="N"/>`` marks a note call;
- ``<a data-chapter="CID" data-anchor="AID">`` is an internal link (no href yet);
- ``<img data-asset="NAME">`` is an image whose file is ``Book.images[NAME]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree

from bookmaker.config import BookConfig

#: Kinds set before the body matter, in print order (Chicago Manual of Style 1.4).
FRONT_KINDS = ("dedication", "epigraph", "foreword", "preface", "introduction")
#: Kinds that form the body matter; arabic page numbering starts with the first of them.
BODY_KINDS = ("prologue", "part", "chapter", "epilogue")
#: Kinds that follow the body matter.
BACK_KINDS = (
    "afterword",
    "acknowledgments",
    "appendix",
    "chronology",
    "bibliography",
    "notes",
    "about-the-author",
    "colophon",
    "index",
)
KINDS = FRONT_KINDS + BODY_KINDS + BACK_KINDS

#: Kinds whose pages carry no visible title by default (their text is the point).
UNTITLED_KINDS = ("dedication", "epigraph")
#: Kinds printed before the contents page when they open the book (Chicago Manual of Style 1.4).
OPENING_KINDS = ("dedication", "epigraph")


#: The two note streams: ``[^label]`` and ``[^^label]`` (issue 12).
FOOTNOTE, ENDNOTE = "foot", "end"


@dataclass
class Note:
    """A note: its order of call within the chapter, its ids and its block content.

    ``stream`` is the author's choice (``[^x]`` or ``[^^x]``); ``place`` (page, chapter,
    book or keyed) and ``mark`` (the printed number or symbol) are set by ``notes.place_notes``.
    """

    number: int
    id: str
    ref_id: str
    body: etree._Element
    stream: str = FOOTNOTE
    #: The label as written, for messages.
    label: str = ""
    #: Where the note is printed: page, chapter, book or keyed.
    place: str = "page"
    #: The call and the note's number as printed ('' for keyed notes).
    mark: str = ""
    #: Keyed notes: the phrase of the text the note is keyed to, and the id of that phrase.
    key: str | None = None
    key_id: str | None = None


@dataclass
class Heading:
    """A section heading inside a chapter (h2 to h6)."""

    level: int
    text: str
    id: str


@dataclass
class Image:
    """An image file used by the book, under a unique package name."""

    name: str
    source: Path
    media_type: str
    width: int
    height: int
    #: The size it prints at unless told otherwise, in CSS px (bookmaker.images); 0 if unknown.
    css_width: float = 0.0
    css_height: float = 0.0


@dataclass
class Chapter:
    """One manuscript file: a chapter, a part opener, or front or back matter."""

    kind: str
    title: str
    id: str
    source: Path
    body: etree._Element
    notes: list[Note] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    running_head: str | None = None
    #: Chapter number (chapters only, counted through the book) or part number (parts only).
    number: int | None = None
    #: The number as printed ("3", "IV", "Three"; ``numbering:`` in book.yaml), None if it prints none.
    number_label: str | None = None
    #: The id of the part this chapter belongs to, if any.
    part: str | None = None
    #: The line in ``source`` where the Markdown body starts (after front matter).
    body_line: int = 1
    #: Made by bookmaker (the Notes or the Bibliography), not read from a file.
    generated: bool = False
    #: Ids the author wrote in the file (and the chapter's own id, if the author chose it).
    author_ids: frozenset[str] = frozenset()
    #: ``body`` for front-matter kinds placed after the body matter began (an epigraph before
    #: a part); set by ``transforms.place_matter`` from the reading order.
    placed_matter: str | None = None
    #: Ids made up while reading (the chapter's id from its path, notes, headings without an id).
    made_ids: frozenset[str] = frozenset()
    #: For ``kind: index``: which index prints here (None: the default, ``subject``).
    index: str | None = None

    @property
    def matter(self) -> str:
        """``front``, ``body`` or ``back``."""
        if self.placed_matter:
            return self.placed_matter
        if self.kind in FRONT_KINDS:
            return "front"
        if self.kind in BODY_KINDS:
            return "body"
        return "back"

    @property
    def show_title(self) -> bool:
        """Whether the title is printed at the head of the chapter."""
        return self.kind not in UNTITLED_KINDS


@dataclass
class TocEntry:
    """An entry of the table of contents: a part with its chapters, or a single chapter."""

    chapter: Chapter
    children: list[TocEntry] = field(default_factory=list)


@dataclass(frozen=True)
class PrintLayout:
    """What the print layout tells the other outputs: the folio of every page and of every id.

    The PDF builder makes one; the EPUB's page list, a printed index or notes section and
    the cover's spine read page numbers from it, never from WeasyPrint.
    """

    #: The folio of every printed page, in order (blank pages included): "i", "ii", ..., "1", ...
    folios: tuple[str, ...]
    #: The folio of the page where each element id starts.
    page_map: dict[str, str] = field(default_factory=dict)
    #: Pages that begin inside a block: folio -> (block id, words of the block printed on
    #: earlier pages); lets the EPUB mark such pages at the word.
    page_starts: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def page_count(self) -> int:
        """How many pages the printed book has."""
        return len(self.folios)

    def folio_of(self, chapter_id: str, anchor: str | None = None) -> str | None:
        """The folio where ``anchor`` (or the chapter itself) is printed, or None if it is not."""
        return self.page_map.get(anchor or chapter_id)

    def page_of(self, chapter_id: str, anchor: str | None = None) -> int | None:
        """The 1-based physical page where ``anchor`` (or the chapter) is printed, or None."""
        folio = self.folio_of(chapter_id, anchor)
        if folio is None:
            return None
        return self.folios.index(folio) + 1


@dataclass
class Book:
    """Everything the builders need: metadata, chapters in reading order, assets."""

    config: BookConfig
    chapters: list[Chapter]
    identifier: str
    build_date: datetime
    images: dict[str, Image] = field(default_factory=dict)
    toc: list[TocEntry] = field(default_factory=list)
    #: Where the print edition put everything: set when the PDF is laid out (None until then).
    print_layout: PrintLayout | None = None
    #: The citations met while reading (``citations.Citations``), formatted by a pass; None without a bibliography.
    citations: Any = None

    @property
    def opening(self) -> list[Chapter]:
        """The chapters printed before the contents: the dedication and epigraph pages that open the book.

        Everything else follows the contents in the reading order the author gave
        (``contents``, else path order); every output uses this one order.
        """
        opening = []
        for chapter in self.chapters:
            if chapter.kind not in OPENING_KINDS:
                break
            opening.append(chapter)
        return opening
    #: The book's indexes by name (``bookmaker.index``), filled by ``collect_index``.
    indexes: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        """The base name of the output files."""
        from bookmaker.transforms import slugify

        return self.config.slug or slugify(self.config.title_as_written or self.config.title) or "book"

    def chapter(self, chapter_id: str) -> Chapter:
        """Look a chapter up by id."""
        for chapter in self.chapters:
            if chapter.id == chapter_id:
                return chapter
        raise KeyError(chapter_id)
