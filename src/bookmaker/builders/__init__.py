"""Builders turn the Book into an output; they own link targets, note markup and packaging."""

from __future__ import annotations

import copy
import re
from pathlib import Path

from lxml import etree

from bookmaker.config import ROLES
from bookmaker.images import size_style
from bookmaker.collation import OTHER
from bookmaker.index import DEFAULT_INDEX, IndexStyle, PageLabels, PlaceLabels, has_entries, render_index
from bookmaker.labels import ROLE_LABELS, Labels, labels_for
from bookmaker.model import Book, Chapter, Note
from bookmaker.xrefs import MISSING

_WS_RE = re.compile(r"[ \t\r\n]+")
#: The word before a page number, dropped when an ebook has no print pages to point to.
_PAGE_WORD_RE = re.compile(r"\b(?:pages?|pp?\.)\s*$", re.I)

assert set(ROLE_LABELS) == set(ROLES)


def part_label(chapter: Chapter, labels: Labels) -> tuple[str, str | None]:
    """A part's label and title: "Part One: The Programmer" -> ("Part One", "The Programmer"),
    "The Programmer" -> ("Part I", "The Programmer"); the label is in the book's language."""
    found = labels.match_prefix("part", chapter.title)
    if found:
        return found
    return labels("part", number=roman(chapter.number)), chapter.title


def chapter_label(chapter: Chapter, labels: Labels) -> str | None:
    """The label above an opener's title: "Chapter 3", "Kapitel III", "Chapter Three", "Part II" (None when
    the title carries its own number, as in "Part One: The Programmer", or ``numbering: none``)."""
    if chapter.kind == "chapter" and chapter.number_label:
        return labels("chapter", number=chapter.number_label)
    if chapter.kind == "part" and chapter.number and not labels.match_prefix("part", chapter.title):
        return labels("part", number=roman(chapter.number))
    return None


def toc_label(chapter: Chapter, labels: Labels) -> str:
    """A chapter's entry in the nav, the NCX and the PDF outline: 'Part I: Title', '1. Title', 'One: Title' or 'Title'."""
    if chapter.kind == "part":
        label, title = part_label(chapter, labels)
        return labels("toc_part", label=label, title=title) if title else label
    label = chapter.number_label if chapter.kind == "chapter" else None
    if label and not (label.isdigit() or re.fullmatch(r"[IVXLCDM]+", label)):
        # Number words (numbering: words) start the entry: "Three: Title", "Drei: Titel".
        return labels("toc_chapter_words", number=label[0].upper() + label[1:], title=chapter.title)
    if label:
        return labels("toc_chapter", number=label, title=chapter.title)
    return chapter.title


def role_labels(labels: Labels) -> dict[str, str]:
    """Each role's words without the name ("Edited by"), for theme templates that print them apart."""
    return {role: " ".join(part for part in labels.role_line(role, "") if part) for role in ROLE_LABELS}


def roman(number: int | None) -> str:
    """Upper-case roman numerals for part numbers."""
    if not number:
        return ""
    values = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
              (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = ""
    for value, letters in values:
        while number >= value:
            out, number = out + letters, number - value
    return out


#: The pages bookmaker makes itself, by the id they have when no author id takes it.
GENERATED_PAGES = ("half-title", "title-page", "copyright-page", "contents")


def generated_page_ids(book: Book) -> dict[str, str]:
    """The id of each generated page: its own name, unless the manuscript uses that id already.

    The author's id wins (a chapter ``contents.md``, a heading ``{#title-page}``): the
    generated page's id moves (``title-page-2``), so that no id is doubled in either output and
    the print pages are listed once (issue 14: the doubled page list, EPUBCheck RSC-005).
    """
    used = {c.id for c in book.chapters} | {n.id for c in book.chapters for n in c.notes}
    for chapter in book.chapters:
        for tree in [chapter.body] + [n.body for n in chapter.notes]:
            used |= {el.get("id") for el in tree.iter() if isinstance(el.tag, str) and el.get("id")}
    ids = {}
    for name in GENERATED_PAGES:
        candidate, n = name, 2
        while candidate in used:
            candidate, n = f"{name}-{n}", n + 1
        used.add(candidate)
        ids[name] = candidate
    return ids


class Builder:
    """The contract every output format follows (after Sphinx's Builder)."""

    #: The value of ``--format`` that selects this builder.
    name = ""
    #: The output file's suffix.
    suffix = ""
    #: The tallest an image may print at its intrinsic size, in CSS px (None: no limit).
    image_max_height: float | None = None

    def __init__(self, book: Book) -> None:
        self.book = book
        #: Ids of the generated pages, out of the way of the author's (generated_page_ids).
        self.page_ids = generated_page_ids(book)

    def get_target_uri(self, chapter_id: str, anchor: str | None = None) -> str:
        """The href of a place in the book, as seen from inside a chapter."""
        raise NotImplementedError

    def get_image_uri(self, name: str) -> str:
        """The src of a book image, as seen from inside a chapter."""
        raise NotImplementedError

    def make_noteref(self, chapter: Chapter, note: Note, ref_id: str) -> etree._Element:
        """The element that replaces a ``<noteref>`` placeholder."""
        raise NotImplementedError

    def make_pageref(self, chapter_id: str, anchor: str) -> etree._Element:
        """The element that replaces a ``<pageref>`` placeholder (a keyed note's page)."""
        raise NotImplementedError

    def build(self, outdir: Path) -> Path:
        """Write the output into ``outdir`` and return its path."""
        raise NotImplementedError

    def output_path(self, outdir: Path) -> Path:
        """``OUT/<slug>.<suffix>``."""
        return outdir / f"{self.book.slug}.{self.suffix}"

    def page_label(self, target: str) -> str | None:
        """The printed folio of an id when this run laid the print edition out, else None."""
        layout = self.book.print_layout
        return layout.page_map.get(target) if layout else None

    def index_labels(self) -> PageLabels | PlaceLabels:
        """How index locators are labelled: print folios of this run, else where the marker is."""
        layout = self.book.print_layout
        if layout is not None:
            return PageLabels(layout.page_map.get, list(layout.folios))
        return PlaceLabels(self.book)

    def index_continued(self) -> frozenset[str]:
        """Index entries that open a printed column under an earlier main entry (print only)."""
        return frozenset()

    def index_markup(self, chapter: Chapter) -> etree._Element | None:
        """The generated entries of the index that a ``kind: index`` file prints."""
        index = self.book.indexes.get(chapter.index or DEFAULT_INDEX)
        if not has_entries(index):
            return None
        labels = labels_for(self.book.config)
        style = IndexStyle(href=lambda marker: self.get_target_uri(marker.chapter, marker.id), epub=self.name == "epub",
                           labelled_by=f"{chapter.id}-title", continued=self.index_continued(),
                           group_names={"": labels("index_symbols"), OTHER: labels("index_other_scripts")},
                           see=labels("index_see"), see_also=labels("index_see_also"),
                           continued_label=labels("index_continued", term="{term}"))
        return render_index(index, self.index_labels(), style, self.book.config.language)

    def resolve_body(self, chapter: Chapter, tree: etree._Element | None = None) -> etree._Element:
        """A copy of a chapter body (or note body) with every placeholder resolved for this builder."""
        body = copy.deepcopy(chapter.body if tree is None else tree)
        if tree is None and chapter.kind == "index":
            generated = self.index_markup(chapter)
            if generated is not None:
                body.append(generated)
        notes = {n.id: n for n in chapter.notes}
        if chapter.generated or chapter.body.get("data-book-notes"):
            # The Notes section holds copies of other chapters' notes (and of notes they call).
            notes = {n.id: n for c in self.book.chapters for n in c.notes}
        for ref in list(body.iter("noteref")):
            replacement = self.make_noteref(chapter, notes[ref.get("note")], ref.get("id"))
            replacement.tail = ref.tail
            ref.getparent().replace(ref, replacement)
        for ref in list(body.iter("pageref")):
            replacement = self.make_pageref(ref.get("chapter"), ref.get("anchor"))
            replacement.tail = ref.tail
            ref.getparent().replace(ref, replacement)
        for a in body.iter("a"):
            target = a.attrib.pop("data-chapter", None)
            if target is not None:
                a.set("href", self.get_target_uri(target, a.attrib.pop("data-anchor", None)))
        for img in body.iter("img"):
            name = img.attrib.pop("data-asset", None)
            if name is not None:
                img.set("src", self.get_image_uri(name))
                size_style(img, self.book.images[name], self.image_max_height)
        for span in body.iter("span"):
            if span.get("class") == "xref-page":
                self._fill_page(span)
        for el in body.iter("figure", "table"):
            label = el.attrib.pop("data-label", None)
            caption = el.find("figcaption" if el.tag == "figure" else "caption")
            if label and caption is not None:
                number = etree.Element("span", {"class": "caption-label"})
                number.text = label
                number.tail = ". " + (caption.text or "")
                caption.text = None
                caption.insert(0, number)
        return body

    def _fill_page(self, span: etree._Element) -> None:
        """``{page}`` of a cross-reference: the target's folio; without print pages, where it is."""
        target = span.attrib.pop("data-target")
        where = span.attrib.pop("data-where", "")
        folio = self.page_label(target)
        if folio is not None:
            span.text = folio
            return
        # "see page {page}" -> "see chapter 4": no page number that this run did not lay out.
        span.text = where or MISSING
        previous = span.getprevious()
        owner, attr = (previous, "tail") if previous is not None else (span.getparent(), "text")
        before = getattr(owner, attr) or ""
        setattr(owner, attr, _PAGE_WORD_RE.sub("", before))


def inline_note_content(note: Note, builder: Builder, chapter: Chapter) -> etree._Element:
    """A note's content as phrasing content, for ``float: footnote`` at the call site.

    The floated element must be inline: a <div> inside <p> would make the HTML parser
    close the paragraph early (engine-notes 8.3).  Newlines inside a footnote make
    WeasyPrint 70 fail with "Got ' \\n' between two lines" (engine-notes 9).
    """
    body = builder.resolve_body(chapter, note.body)
    span = etree.Element("span")
    blocks = [child for child in body if child.tag in ("p", "blockquote", "ul", "ol", "div")]
    if len(blocks) == 1 and blocks[0].tag == "p" and not (body.text or "").strip():
        p = blocks[0]
        span.text = p.text
        for child in p:
            span.append(child)
    else:
        span.text = body.text
        for child in body:
            child.tag = "span"
            child.set("class", (child.get("class", "") + " fn-para").strip())
            span.append(child)
    for el in span.iter():
        if el.text:
            el.text = _WS_RE.sub(" ", el.text)
        if el.tail:
            el.tail = _WS_RE.sub(" ", el.tail)
    if span.text:
        span.text = span.text.lstrip()
    return span
