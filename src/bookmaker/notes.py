"""Book-wide note pass: where each note stream goes, the marks it prints, and the generated Notes section."""

from __future__ import annotations

import copy

from lxml import etree

from bookmaker.labels import Labels, labels_for
from bookmaker.model import ENDNOTE, FOOTNOTE, Book, Chapter, Note

#: Marks of page footnotes when numbered endnotes are called in the same text (CMOS 14.26).
SYMBOLS = ("*", "\u2020", "\u2021", "\u00a7", "\u2016", "\u00b6")
#: The id of the generated Notes section when the manuscript has no ``kind: notes`` file.
NOTES_ID = "book-notes"
#: Kinds that the book-end notes come before (CMOS 1.4: notes, bibliography, index).
NOTES_BEFORE = ("bibliography", "index", "about-the-author", "colophon")
#: Places whose notes are printed in the Notes section at the back of the book.
BOOK_PLACES = ("book", "keyed")


def symbol(n: int) -> str:
    """The n-th (1-based) footnote symbol: *, †, ‡, §, ‖, ¶, then doubled."""
    return SYMBOLS[(n - 1) % len(SYMBOLS)] * ((n - 1) // len(SYMBOLS) + 1)


def place_notes(book: Book, report: object = None) -> None:
    """Set every note's place and mark, and gather the book-end notes into a Notes section."""
    options = book.config.notes
    notes = [n for c in book.chapters for n in c.notes]
    for note in notes:
        note.place = options.footnotes if note.stream == FOOTNOTE else options.endnotes
    shared = options.footnotes == options.endnotes
    called_endnotes = any(n.stream == ENDNOTE and n.place in ("chapter", "book") for n in notes)
    use_symbols = not shared and called_endnotes
    counters: dict[str, int] = {}
    for chapter in book.chapters:
        if options.numbering == "chapter":
            counters = {}
        counters.pop("symbol", None)  # symbols restart in every chapter
        for note in chapter.notes:
            if note.place == "keyed":
                note.mark = ""
                continue
            if note.stream == FOOTNOTE and use_symbols:
                counters["symbol"] = counters.get("symbol", 0) + 1
                note.mark = symbol(counters["symbol"])
                continue
            sequence = "shared" if shared else note.stream
            counters[sequence] = counters.get(sequence, 0) + 1
            note.mark = str(counters[sequence])
    _book_notes_section(book)


def notes_chapter(book: Book) -> Chapter | None:
    """The chapter that holds the book-end notes (a ``kind: notes`` file or the generated one)."""
    for chapter in book.chapters:
        if chapter.kind == "notes" and chapter.body.get("data-book-notes"):
            return chapter
    return None


def group_heading(chapter: Chapter, labels: Labels) -> str:
    """The heading of a chapter's notes: "3. A Bowl of Millet Porridge" (CMOS 14.43), as in the contents."""
    from bookmaker.builders import toc_label

    return toc_label(chapter, labels)


def _book_notes_section(book: Book) -> None:
    labels = labels_for(book.config)
    groups = [(c, [n for n in c.notes if n.place in BOOK_PLACES]) for c in book.chapters]
    groups = [(c, ns) for c, ns in groups if ns]
    if not groups:
        return
    holder = next((c for c in book.chapters if c.kind == "notes"), None)
    if holder is None:
        holder = Chapter(kind="notes", title=labels("notes"), id=NOTES_ID, source=book.config.path,
                         body=etree.Element("div"), generated=True)
        at = next((i for i, c in enumerate(book.chapters) if c.kind in NOTES_BEFORE), len(book.chapters))
        book.chapters.insert(at, holder)
    holder.body.set("data-book-notes", "1")
    for chapter, notes in groups:
        section = etree.SubElement(holder.body, "section", {"class": "notes-group", "id": f"{holder.id}-{chapter.id}"})
        heading = etree.SubElement(section, "h2", {"class": "notes-chapter"})
        heading.text = group_heading(chapter, labels)
        items = etree.SubElement(section, "ol", {"class": "endnote-list"})
        for note in notes:
            items.append(note_item(chapter, note))


def note_item(chapter: Chapter, note: Note) -> etree._Element:
    """A note as a list item, its number (or page and key phrase) linking back to the text.

    Page numbers are ``<pageref>`` placeholders that each builder fills: the PDF with the folio
    of the laid-out page, the EPUB with the same label (or the chapter when there is no print).
    """
    li = etree.Element("li", {"class": "endnote", "id": note.id, "data-source": chapter.id})
    body = copy.deepcopy(note.body)
    paragraphs = [el for el in body if el.tag == "p"]
    first = paragraphs[0] if paragraphs else etree.SubElement(body, "p")
    lead: list[etree._Element] = []
    if note.place == "keyed":
        # Without a phrase (a call opening a paragraph) the note is keyed to the page alone.
        anchor = note.key_id or note.ref_id
        li.set("class", "endnote keyed")
        li.set("data-anchor", anchor)
        page = etree.Element("pageref", {"chapter": chapter.id, "anchor": anchor})
        page.tail = " "
        lead = [page]
        if note.key:
            key = etree.Element("a", {"class": "note-key", "data-chapter": chapter.id, "data-anchor": anchor})
            em = etree.SubElement(key, "em")
            em.text = note.key
            key.tail = ": "
            lead.append(key)
    else:
        li.set("data-anchor", note.ref_id)
        number = etree.Element("a", {"class": "endnote-number", "data-chapter": chapter.id, "data-anchor": note.ref_id})
        number.text = note_number(note)
        number.tail = " "
        lead = [number]
    lead[-1].tail = (lead[-1].tail or "") + (first.text or "")
    first.text = None
    for index, element in enumerate(lead):
        first.insert(index, element)
    li.extend(list(body))
    return li


def note_number(note: Note) -> str:
    """How a note's number opens the note: "3." for numbers, "*" for symbols."""
    return f"{note.mark}." if note.mark.isdigit() else note.mark


def page_range(folios: list[str]) -> str:
    """``45–52`` from the folios of a notes page (Chicago 9.64 elision: 101–8, 321–28)."""
    values = [f for f in folios if f]
    if not values:
        return ""
    low, high = values[0], values[-1]
    if low == high:
        return low
    if low.isdigit() and high.isdigit() and len(low) == len(high) and int(low) >= 100 and int(low) % 100:
        # CMOS 9.64: 101–8, 321–28, 498–532, 1536–38 (keep at least two digits past 100s).
        common = 0
        while common < len(low) - 1 and low[common] == high[common]:
            common += 1
        keep = max(len(high) - common, 1 if int(low) % 100 < 10 else 2)
        high = high[-keep:]
    return f"{low}\u2013{high}"


def running_head(folios: list[str], labels: Labels) -> str:
    """"Notes to pages 45–52" (CMOS 14.42), or "Notes to page 45"."""
    span = page_range(folios)
    if not span:
        return labels("notes")
    return labels("notes_to_pages", pages=span) if "\u2013" in span else labels("notes_to_page", page=span)
