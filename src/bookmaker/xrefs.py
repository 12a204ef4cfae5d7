"""Cross-references: numbered figures and tables, and links that print their target's label or page.

``[see page {page}](12-kingsoft.md#word-processor)`` and ``[](#fig-timeline)`` are ordinary
Markdown links.  ``mark_xrefs`` (before ``resolve_links``) notes which links are
cross-references; ``resolve_xrefs`` (after it) fills in what the model can know: the label
of the target ("Figure 3.1", "Chapter 4", a section title), ``{chapter}`` and ``{title}``.
``{page}`` becomes ``<span class="xref-page" data-target="ID" data-where="…">``, which each
builder fills: the PDF with the folio of its own layout, the EPUB with the same folio when
the PDF was built in this run, else with where the target is (never a made-up page).
A cross-reference whose target is missing prints "??" (``resolve_links`` has warned, BM401).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree

from bookmaker.errors import Report
from bookmaker.model import Book, Chapter

#: The placeholders a link text may hold.
PLACEHOLDER_RE = re.compile(r"\{(page|chapter|title)\}")
#: What a cross-reference prints when its target is missing (LaTeX's convention).
MISSING = "??"
_TABLE_CAPTION_RE = re.compile(r"^\s*Table:\s*(?P<text>.*?)\s*(?:\{#(?P<id>[A-Za-z][\w:.-]*)\})?\s*$", re.S)


@dataclass
class Target:
    """What a cross-reference can say about its target."""

    label: str
    title: str
    chapter: str
    #: Where the target is, for ebooks without print pages ("chapter 4", a title).
    where: str


def is_xref_text(a: etree._Element) -> bool:
    """An empty link text, or one with a placeholder, makes a link a cross-reference."""
    text = "".join(a.itertext())
    return not text.strip() and a.find(".//img") is None or bool(PLACEHOLDER_RE.search(text))


def mark_xrefs(book: Book, report: Report | None = None) -> None:
    """Flag the internal links that are cross-references (before their hrefs become placeholders)."""
    for chapter in book.chapters:
        for tree in [chapter.body] + [n.body for n in chapter.notes]:
            for a in tree.iter("a"):
                href = a.get("href")
                if href is None or urlsplit(href).scheme or href.startswith("//"):
                    continue
                if is_xref_text(a):
                    a.set("data-xref", "1")


def number_figures(book: Book, report: Report | None = None) -> None:
    """Number the figures and tables of each chapter that have an id or a caption ("Figure 3.1").

    The label goes on the element as ``data-label``; builders print it before the caption.
    A paragraph ``Table: caption {#id}`` right after a table becomes its caption (pandoc's syntax).
    """
    from bookmaker.labels import labels_for

    labels = labels_for(book.config)
    for chapter in book.chapters:
        _table_captions(chapter)
        prefix = f"{chapter.number}." if chapter.kind == "chapter" and chapter.number else ""
        figures = tables = 0
        for el in chapter.body.iter("figure", "table"):
            if el.tag == "figure":
                img = el.find(".//img")
                if el.get("id") or (img is not None and img.get("id")) or el.find("figcaption") is not None:
                    figures += 1
                    el.set("data-label", labels("figure", number=f"{prefix}{figures}"))
            elif el.get("id") or el.find("caption") is not None:
                tables += 1
                el.set("data-label", labels("table", number=f"{prefix}{tables}"))


def _table_captions(chapter: Chapter) -> None:
    for table in list(chapter.body.iter("table")):
        following = table.getnext()
        if following is None or following.tag != "p" or len(following):
            continue
        match = _TABLE_CAPTION_RE.match(following.text or "")
        if not match:
            continue
        caption = etree.Element("caption")
        caption.text = match.group("text")
        table.insert(0, caption)
        if match.group("id") and not table.get("id"):
            table.set("id", match.group("id"))
        table.tail = (table.tail or "") + (following.tail or "")
        following.getparent().remove(following)


def targets(book: Book) -> dict[tuple[str, str], Target]:
    """Every place a cross-reference can name, by (chapter id, anchor id); the chapter itself by (id, id)."""
    from bookmaker.builders import chapter_label
    from bookmaker.labels import labels_for

    labels = labels_for(book.config)
    out: dict[tuple[str, str], Target] = {}
    for chapter in book.chapters:
        # "Chapter 4" as the opener prints it (numbering style and language); else the title.
        label = (chapter_label(chapter, labels) if chapter.kind == "chapter" else None) or chapter.title
        number = getattr(chapter, "number_label", None)
        where = labels("xref_chapter", number=number) if chapter.kind == "chapter" and number else chapter.title
        out[(chapter.id, chapter.id)] = Target(label, chapter.title, chapter.id, where)
        for heading in chapter.headings:
            out[(chapter.id, heading.id)] = Target(heading.text, heading.text, chapter.id, where)
        for el in chapter.body.iter("figure", "table"):
            if not el.get("data-label"):
                continue
            ids = [el.get("id")] + [img.get("id") for img in el.iter("img")]
            caption = el.find("figcaption") if el.tag == "figure" else el.find("caption")
            title = " ".join("".join(caption.itertext()).split()) if caption is not None else el.get("data-label")
            for anchor in filter(None, ids):
                out[(chapter.id, anchor)] = Target(el.get("data-label"), title, chapter.id, where)
    return out


def resolve_xrefs(book: Book, report: Report | None = None) -> None:
    """Fill the cross-references flagged by ``mark_xrefs`` with what the model knows."""
    known = targets(book)
    chapters = {c.id: c for c in book.chapters}
    for chapter in book.chapters:
        for tree in [chapter.body] + [n.body for n in chapter.notes]:
            for a in tree.iter("a"):
                if a.attrib.pop("data-xref", None) is None:
                    continue
                target_chapter = a.get("data-chapter")
                if target_chapter is None:  # resolve_links found no target (BM401)
                    _fill(a, MISSING, MISSING, MISSING, None, None)
                    continue
                anchor = a.get("data-anchor") or target_chapter
                target = known.get((target_chapter, anchor))
                owner = chapters[target_chapter]
                if target is None:  # any other id: named by its chapter
                    base = known[(target_chapter, target_chapter)]
                    target = Target(base.label, owner.title, target_chapter, base.where)
                number = (getattr(owner, "number_label", None) or str(owner.number)) if owner.kind == "chapter" and owner.number \
                    else owner.title
                _fill(a, target.label, number, target.title, anchor, target.where)


def _fill(a: etree._Element, label: str, chapter: str, title: str, anchor: str | None, where: str | None) -> None:
    """Set an empty link's text to ``label``; replace the placeholders of any other."""
    if not "".join(a.itertext()).strip():
        for child in list(a):
            a.remove(child)
        a.text = label
        return
    values = {"chapter": chapter, "title": title}
    nodes: list[tuple[etree._Element, str]] = [(el, "text") for el in a.iter() if isinstance(el.tag, str)]
    nodes += [(el, "tail") for el in a.iter() if el is not a and isinstance(el.tag, str)]
    for el, attr in nodes:
        text = getattr(el, attr)
        if not text or not PLACEHOLDER_RE.search(text):
            continue
        pieces = PLACEHOLDER_RE.split(text)  # text, name, text, name, ..., text
        setattr(el, attr, pieces[0])
        last: etree._Element | None = None
        for name, after in zip(pieces[1::2], pieces[2::2]):
            if name == "page" and anchor is not None:
                span = etree.Element("span", {"class": "xref-page", "data-target": anchor, "data-where": where or ""})
                span.tail = after
                if attr == "text":
                    el.insert(0 if last is None else el.index(last) + 1, span)
                else:
                    parent = el.getparent()
                    parent.insert(parent.index(el if last is None else last) + 1, span)
                last = span
            else:
                value = MISSING if name == "page" else values[name]
                if last is None:
                    setattr(el, attr, (getattr(el, attr) or "") + value + after)
                else:
                    last.tail = (last.tail or "") + value + after


#: The lists ``lists:`` in book.yaml may ask for: (element, EPUB 3 nav type, label of the title).
LISTS = {"figures": ("figure", "loi", "list_of_figures"), "tables": ("table", "lot", "list_of_tables")}


@dataclass
class ListItem:
    """One line of a list of figures or tables."""

    label: str
    caption: str
    chapter: str
    anchor: str
    matter: str


def figure_lists(book: Book) -> list[tuple[str, str, str, list[ListItem]]]:
    """The lists of figures and tables ``lists:`` asks for: (name, nav type, title, items), in book order."""
    from bookmaker.labels import labels_for

    labels = labels_for(book.config)
    out = []
    for name in book.config.lists:
        tag, nav_type, title = LISTS[name]
        items = []
        for chapter in book.chapters:
            for el in chapter.body.iter(tag):
                if not el.get("data-label") or not el.get("id"):
                    continue
                caption = el.find("figcaption" if tag == "figure" else "caption")
                text = " ".join("".join(caption.itertext()).split()) if caption is not None else ""
                items.append(ListItem(el.get("data-label"), text, chapter.id, el.get("id"), chapter.matter))
        if items:
            out.append((name, nav_type, labels(title), items))
    return out
