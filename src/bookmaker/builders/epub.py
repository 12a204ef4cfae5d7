"""The ebook: one XHTML file per chapter, our own nav and NCX, packaged by ebooklib."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from html import escape
from pathlib import Path

from lxml import etree

from bookmaker.builders import Builder, chapter_label, role_labels, roman, toc_label
from bookmaker.cover import generate_cover
from bookmaker.errors import BookmakerError
from bookmaker.fields import field_text
from bookmaker.fontsubset import epub_fonts, fonts_css, mark_cjk_runs
from bookmaker.labels import labels_for
from bookmaker.model import Book, Chapter, Image, Note, TocEntry
from bookmaker.notes import BOOK_PLACES, notes_chapter
from bookmaker.output import atomic_output
from bookmaker.pagination import (
    insert_breaks,
    insert_word_breaks,
    page_sequence,
    pagebreak_xml,
    place_breaks,
    roman_value,
)
from bookmaker.render import template_env
from bookmaker.xrefs import figure_lists
from bookmaker.sanitize import checked_stylesheet, svg_for_package
from bookmaker.resources import style_file, styles_dir

OPS_NS = "http://www.idpf.org/2007/ops"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XHTML_MEDIA = "application/xhtml+xml"
#: The generated pages (cover, title, copyright) live apart from the chapters in text/, so that
#: a chapter file called cover.md or copyright.md cannot overwrite them.
PAGES_DIR = "pages"
etree.register_namespace("epub", OPS_NS)

#: epub:type and DPUB-ARIA role for each kind (EPUB 3 Structural Semantics Vocabulary, DPUB-ARIA 1.1).
SEMANTICS: dict[str, tuple[str | None, str | None]] = {
    "chapter": ("chapter", "doc-chapter"),
    "part": ("part", "doc-part"),
    "dedication": ("dedication", "doc-dedication"),
    "epigraph": ("epigraph", "doc-epigraph"),
    "foreword": ("foreword", "doc-foreword"),
    "preface": ("preface", "doc-preface"),
    "introduction": ("introduction", "doc-introduction"),
    "prologue": ("prologue", "doc-prologue"),
    "epilogue": ("epilogue", "doc-epilogue"),
    "afterword": ("afterword", "doc-afterword"),
    "acknowledgments": ("acknowledgments", "doc-acknowledgments"),
    "appendix": ("appendix", "doc-appendix"),
    "chronology": ("appendix", "doc-appendix"),
    "bibliography": ("bibliography", "doc-bibliography"),
    "notes": ("endnotes", "doc-endnotes"),
    "about-the-author": ("contributors", None),
    "colophon": ("colophon", "doc-colophon"),
    # The generated entries carry epub:type="index" and role="doc-index" (EPUB Indexes 1.0):
    # the chapter around them keeps its title outside, so that the index holds one entry list.
    "index": (None, None),
}

#: The claim made when it is true (EPUB Accessibility 1.1, section 2.1; Ace accepts this spelling).
CONFORMS_TO = "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"

#: Back-matter kinds that get a landmark of their own (EPUB 3 Structural Semantics).
LANDMARK_KINDS = ("acknowledgments", "bibliography", "colophon", "index")

#: The back link after a note: U+FE0E keeps iOS from drawing U+21A9 as an emoji (pandoc #5469).
BACKLINK = "\u21a9\ufe0e"


@dataclass
class Document:
    """An XHTML document of the spine before it is wrapped in its page."""

    uid: str
    #: Path inside the package, e.g. ``text/early-life.xhtml``.
    name: str
    title: str
    content: str
    matter: str
    body_class: str = ""
    #: Manifest properties of the item ("index" for an index document, EPUB Indexes 2.3.2.1).
    properties: tuple[str, ...] = ()


class EpubBuilder(Builder):
    """Write an EPUB 3 with an NCX, reproducibly."""

    name = "epub"
    suffix = "epub"

    def __init__(self, book: Book) -> None:
        super().__init__(book)
        self.env = template_env(styles_dir(book.config))
        self.labels = labels_for(book.config)
        self.env.globals.update(roman=roman, label=self.labels)
        #: Print folios to mark before each id, from this run's PDF layout.
        self.breaks: dict[str, list[str]] = {}
        #: Pages that begin inside a block, marked at their first word (PrintLayout.page_starts).
        self.starts: dict[str, tuple[str, int]] = {}
        self.folio_order: dict[str, int] = {}
        #: (folio, href from the package root) in reading order: the page list.
        self.pages: list[tuple[str, str]] = []
        self.stylesheets = ["css/epub.css"]
        #: Whether CJK runs are wrapped for the embedded CJK subset (set once the fonts are known).
        self.mark_cjk = False
        #: Whether the package carries fonts (then Apple Books needs its display options).
        self.fonts_embedded = False

    def prepare(self) -> None:
        """Do what no print layout changes: compile the templates and make the cover image.

        The pipeline runs this in a thread while the workers lay the print edition out, which
        the rest of ``build`` waits for (its page numbers); ``build`` does it itself otherwise.
        """
        for name in _TEMPLATES:
            self.env.get_template(name)
        _ = self.cover_image

    # -- link targets -------------------------------------------------------------
    def file_name(self, chapter_id: str) -> str:
        return f"text/{chapter_id}.xhtml"

    def get_target_uri(self, chapter_id: str, anchor: str | None = None) -> str:
        # Chapters live side by side in text/, so a bare file name is the relative href.
        href = f"{chapter_id}.xhtml"
        return f"{href}#{anchor}" if anchor else href

    def get_image_uri(self, name: str) -> str:
        return f"../images/{name}"

    def make_noteref(self, chapter: Chapter, note: Note, ref_id: str) -> etree._Element:
        if note.place == "keyed":
            # No call in the text; the key phrase itself links to the note (see chapter_doc).
            return etree.Element("span", {"id": ref_id, "class": "noteref-keyed"})
        href = f"#{note.id}"
        if note.place in BOOK_PLACES:
            holder = notes_chapter(self.book)
            href = self.get_target_uri(holder.id, note.id) if holder is not None else href
        a = etree.Element("a", {"href": href, "id": ref_id, "class": "noteref", "role": "doc-noteref"})
        a.set(f"{{{OPS_NS}}}type", "noteref")
        a.text = note.mark
        return a

    def make_pageref(self, chapter_id: str, anchor: str) -> etree._Element:
        span = etree.Element("b", {"class": "note-page"})
        layout = self.book.print_layout
        folio = layout.folio_of(chapter_id, anchor) if layout is not None else None
        if folio:
            # The same label as the page list: the print edition's folio.
            span.text = folio
        else:
            # No print layout in this build: name the chapter instead of a page.
            span.text = toc_label(self.book.chapter(chapter_id), self.labels)
        return span

    def _link_keys(self, chapter: Chapter, body: etree._Element) -> None:
        """A keyed note's phrase in the text links to the note (the note's phrase links back)."""
        holder = notes_chapter(self.book)
        if holder is None:
            return
        by_id = {el.get("id"): el for el in body.iter() if isinstance(el.tag, str) and el.get("id")}
        for note in chapter.notes:
            element = by_id.get(note.key_id or "")
            if note.place != "keyed" or element is None:
                continue
            link = etree.Element("a", {"href": self.get_target_uri(holder.id, note.id), "class": "keyref"})
            link.text, element.text = element.text, None
            link.extend(list(element))
            element.append(link)

    def _mark_endnotes(self, body: etree._Element) -> None:
        """Book-end notes: EPUB endnote semantics, and the number links back to the call."""
        for li in body.iter("li"):
            if "endnote" in (li.get("class") or "").split():
                li.set(f"{{{OPS_NS}}}type", "endnote")
        for a in body.iter("a"):
            if (a.get("class") or "") == "endnote-number":
                a.set("role", "doc-backlink")

    # -- documents ----------------------------------------------------------------
    def page(self, doc: Document) -> bytes:
        """Wrap a document in its XHTML page and check that it is well-formed."""
        up = "../" * doc.name.count("/")
        text = self.env.get_template("page.xhtml.j2").render(
            lang=self.book.config.language,
            title=doc.title,
            stylesheets=[up + href for href in self.stylesheets],
            matter=doc.matter,
            body_class=doc.body_class,
            content=doc.content,
        )
        data = text.encode("utf-8")
        try:
            root = etree.fromstring(data)
        except etree.XMLSyntaxError as exc:  # a bug in bookmaker, not in the manuscript
            raise BookmakerError(f"internal error: {doc.title!r} is not well-formed XHTML: {exc}") from None
        changed = bool(self.mark_cjk and mark_cjk_runs(root, self.book.config.language))
        if mirror_xml_lang(root) or changed:
            _keep_end_tags(root)
            data = etree.tostring(root.getroottree(), encoding="utf-8", xml_declaration=True)
        return data

    def chapter_doc(self, chapter: Chapter) -> Document:
        name = self.file_name(chapter.id)
        start_breaks = self.breaks_at([chapter.id], name)
        body = self.resolve_body(chapter)
        self._link_keys(chapter, body)
        if chapter.body.get("data-book-notes"):
            self._mark_endnotes(body)
        labels = insert_breaks(body, self.breaks) + insert_word_breaks(body, self.starts)
        labels.sort(key=lambda label: self.folio_order.get(label, 0))
        self.pages += [(label, f"{name}#page-{label}") for label in labels]
        epub_type, role = SEMANTICS[chapter.kind]
        notes = [(n.id, n.ref_id, n.mark, self.note_xhtml(chapter, n)) for n in chapter.notes if n.place == "page"]
        endnotes = [(n.id, n.ref_id, n.mark, self.note_xhtml(chapter, n)) for n in chapter.notes if n.place == "chapter"]
        content = self.env.get_template("epub-chapter.xhtml.j2").render(
            chapter=chapter, epub_type=epub_type, role=role, body=_inner_xml(body), notes=notes,
            endnotes=endnotes, start_breaks=start_breaks, number_label=chapter_label(chapter, self.labels),
        )
        properties = ("index",) if chapter.kind == "index" and 'epub:type="index"' in content else ()
        return Document(f"ch-{chapter.id}", name, chapter.title, content, f"{chapter.matter}matter", f"kind-{chapter.kind}",
                        properties)

    def note_xhtml(self, chapter: Chapter, note: Note) -> str:
        body = self.resolve_body(chapter, note.body)
        paragraphs = [el for el in body if el.tag == "p"]
        number = etree.Element("span", {"class": "note-number"})
        number.text = f"{note.mark}. " if note.mark.isdigit() else f"{note.mark} "
        back = etree.Element("a", {"href": f"#{note.ref_id}", "role": "doc-backlink", "class": "backlink", "aria-label": self.labels("back_to_note", number=note.mark)})
        back.text = BACKLINK
        if paragraphs:
            first, last = paragraphs[0], paragraphs[-1]
            number.tail = first.text
            first.text = None
            first.insert(0, number)
            back.tail = None
            if len(last):
                last[-1].tail = (last[-1].tail or "") + " "
            else:
                last.text = (last.text or "") + " "
            last.append(back)
        else:
            p = etree.SubElement(body, "p")
            p.append(number)
            p.append(back)
        return _inner_xml(body)

    def nav_content(self, landmarks: list[tuple[str, str, str]], start_breaks: str) -> str:
        def href(chapter_id: str) -> str:
            return self.file_name(chapter_id)

        return start_breaks + self.env.get_template("nav.xhtml.j2").render(
            toc=self.book.toc, href=href, toc_label=lambda chapter: toc_label(chapter, self.labels), landmarks=landmarks, pages=self.pages,
            lists=[(name, nav_type, title, [(item.label, item.caption, f"{self.file_name(item.chapter)}#{item.anchor}")
                                            for item in items])
                   for name, nav_type, title, items in figure_lists(self.book)],
        )

    def ncx(self) -> bytes:
        order = [0]

        def point(entry: TocEntry) -> str:
            order[0] += 1
            number = order[0]
            chapter = entry.chapter
            children = "".join(point(child) for child in entry.children)
            return (
                f'<navPoint id="np-{escape(chapter.id)}" playOrder="{number}">'
                f"<navLabel><text>{escape(toc_label(chapter, self.labels))}</text></navLabel>"
                f'<content src="{self.file_name(escape(chapter.id))}"/>{children}</navPoint>'
            )

        points = [point(entry) for entry in self.book.toc]
        depth = 2 if any(e.children for e in self.book.toc) else 1
        pages = [(label, target, roman_value(label) or int(label), "front" if roman_value(label) else "normal")
                 for label, target in self.pages]
        text = self.env.get_template("toc.ncx.j2").render(
            lang=self.book.config.language,
            uid=self.book.identifier,
            depth=depth,
            pages=pages,
            max_page=max((value for _, _, value, kind in pages if kind == "normal"), default=0),
            title=self.book.config.title,
            points=points,
            play_offset=order[0],
        )
        return text.encode("utf-8")

    def breaks_at(self, slots: list[str], name: str) -> str:
        """Markers for the ids ``slots`` at the start of document ``name``, recorded for the page list."""
        labels = [label for slot in slots for label in self.breaks.get(slot, [])]
        self.pages += [(label, f"{name}#page-{label}") for label in labels]
        return pagebreak_xml(labels)

    # -- package ------------------------------------------------------------------

    def reading_slots(self) -> list[str]:
        """Ids that the print layout may report, in the ebook's reading order.

        The ids are those of the print edition's generated pages (``book.html.j2``), of the
        chapters, and of every element of their bodies (``anchors.anchor_blocks``).
        """
        ids = self.page_ids
        slots = [ids["half-title"], ids["title-page"], ids["copyright-page"]]
        opening = self.book.opening
        for chapter in self.book.chapters:
            if chapter not in opening and ids["contents"] not in slots:
                slots.append(ids["contents"])
            slots.append(chapter.id)
            slots += [el.get("id") for el in chapter.body.iter()
                      if isinstance(el.tag, str) and el.tag != "noteref" and el.get("id")]
        if ids["contents"] not in slots:
            slots.append(ids["contents"])
        return slots

    def build(self, outdir: Path) -> Path:
        from ebooklib import epub

        book, config = self.book, self.book.config
        eb = epub.EpubBook()
        self._metadata(eb)
        # Page breaks only from a layout made in this run: an EPUB-only build has none (never stale numbers).
        layout = book.print_layout
        self.breaks = (place_breaks(self.reading_slots(), layout.page_map, layout.page_starts, layout.folios)
                       if layout else {})
        self.starts = layout.page_starts if layout else {}
        self.folio_order = ({label: i for i, label in enumerate(page_sequence(layout.page_map, layout.folios))}
                            if layout else {})
        self.pages = []

        cover_doc = self._cover(eb)
        documents = [cover_doc] + self._front_docs()
        landmarks = [("cover", cover_doc.name, self.labels("cover")), ("toc", "nav.xhtml#toc", self.labels("contents"))]
        # One reading order (Book.chapters) for the spine, the nav and the NCX, as in print.
        chapters = book.chapters
        early = book.opening
        documents += [self.chapter_doc(c) for c in early]
        nav = Document("nav", "nav.xhtml", self.labels("contents"), "", "frontmatter", "nav")
        nav_breaks = self.breaks_at([self.page_ids["contents"]], nav.name)
        documents.append(nav)
        documents += [self.chapter_doc(c) for c in chapters[len(early):]]

        first_body = next((c for c in chapters if c.matter == "body"), chapters[0])
        landmarks.append(("bodymatter", self.file_name(first_body.id), self.labels("start_of_content")))
        # The main (subject) index is the index landmark when the book has several.
        for chapter in sorted(chapters, key=lambda c: c.kind == "index" and c.index is not None):
            if chapter.kind in LANDMARK_KINDS and not any(t == chapter.kind for t, _, _ in landmarks):
                landmarks.append((chapter.kind, self.file_name(chapter.id), chapter.title))
        nav.content = self.nav_content(landmarks, nav_breaks)

        text = config.title + (config.subtitle or "") + "".join(d.title + d.content for d in documents)
        code = "".join("".join(el.itertext()) for c in book.chapters for el in c.body.iter("pre", "code"))
        fonts = epub_fonts(text, config.epub.embed_fonts, code)
        self.mark_cjk = any(font.cjk for font in fonts)
        self.fonts_embedded = bool(fonts)
        if fonts:
            # Before the theme, so that a theme's own font-family wins.
            self.stylesheets = ["css/fonts.css", "css/epub.css"]
            eb.add_item(epub.EpubItem(uid="fonts-css", file_name="css/fonts.css", media_type="text/css",
                                      content=fonts_css(fonts).encode("utf-8")))
        for index, font in enumerate(fonts, 1):
            eb.add_item(epub.EpubItem(uid=f"font{index}", file_name=f"fonts/{font.file_name}",
                                      media_type=font.media_type, content=font.data))
        self._a11y_metadata(eb)
        eb.add_item(epub.EpubItem(uid="css", file_name="css/epub.css", media_type="text/css",
                                  content=checked_stylesheet(style_file(config, "epub.css"))))
        for index, image in enumerate(book.images.values(), 1):
            eb.add_item(epub.EpubItem(uid=f"img{index}", file_name=f"images/{image.name}",
                                      media_type=image.media_type, content=packed_image(image)))
        spine = []
        for doc in documents:
            item = epub.EpubItem(uid=doc.uid, file_name=doc.name, media_type=XHTML_MEDIA, content=self.page(doc))
            # Inline SVG and MathML must be declared on the item (EPUBCheck OPF-014).
            found = manifest_properties(item.content)
            item.properties = (["nav"] if doc is nav else list(doc.properties)) + [p for p in found if p not in doc.properties]
            eb.add_item(item)
            spine.append(item)
        eb.add_item(epub.EpubItem(uid="ncx", file_name="toc.ncx", media_type="application/x-dtbncx+xml",
                                  content=self.ncx()))
        eb.spine = spine

        target = self.output_path(outdir)
        with atomic_output(target) as tmp:
            options = {"epub3_pages": False, "epub3_landmark": False, "epub2_guide": False,
                       "mtime": book.build_date, "raise_exceptions": True}
            raw = io.BytesIO()
            epub.write_epub(raw, eb, options)
            tmp.write_bytes(self.finish(repack(raw.getvalue(), book.build_date, config.language)))
        return target

    def finish(self, data: bytes) -> bytes:
        """The packaged EPUB before it is written: store editions (builders.stores) transform it here.

        Apple Books uses embedded fonts only with its display-options file set to specified fonts.
        """
        if self.fonts_embedded:
            from bookmaker.builders.stores import with_apple_options

            return with_apple_options(data)
        return data

    def _metadata(self, eb) -> None:  # type: ignore[no-untyped-def]
        from ebooklib import epub

        book, config = self.book, self.book.config
        eb.set_identifier(book.identifier)
        eb.set_title(config.title)
        eb.set_language(config.language)
        for index, person in enumerate(config.authors, 1):
            # A unique id per creator: ebooklib's default uid repeats (EPUBCheck RSC-005).
            uid = f"creator{index}"
            eb.add_metadata("DC", "creator", person.name, {"id": uid})
            eb.add_metadata(None, "meta", person.relator, {"refines": f"#{uid}", "property": "role", "scheme": "marc:relators"})
            if person.file_as:
                eb.add_metadata(None, "meta", person.file_as, {"refines": f"#{uid}", "property": "file-as"})
        if config.subtitle:
            eb.add_metadata("DC", "title", config.subtitle, {"id": "subtitle"})
            eb.add_metadata(None, "meta", "subtitle", {"refines": "#subtitle", "property": "title-type"})
            eb.metadata[epub.NAMESPACES["DC"]]["title"][0] = (config.title, {"id": "title"})
            eb.add_metadata(None, "meta", "main", {"refines": "#title", "property": "title-type"})
        eb.add_metadata("DC", "date", config.date or book.build_date.date().isoformat())
        for key in ("publisher", "rights", "description"):
            value = getattr(config, key)
            if value:
                # rights and description are inline Markdown: metadata takes their text.
                eb.add_metadata("DC", key, value if key == "publisher" else field_text(value, config.language))
        for subject in config.subjects:
            eb.add_metadata("DC", "subject", subject)
        if config.isbn and book.identifier != f"urn:isbn:{config.isbn}":
            eb.add_metadata("DC", "source", f"urn:isbn:{config.isbn}")

    def _a11y_metadata(self, eb) -> None:  # type: ignore[no-untyped-def]
        """EPUB Accessibility 1.1 metadata that states only what this book really offers."""
        images = [img for chapter in self.book.chapters for img in chapter.body.iter("img")]
        described = all((img.get("alt") or "").strip() for img in images)
        features = ["structuralNavigation", "tableOfContents", "readingOrder"]
        if images and described:
            features.append("alternativeText")
        if self.pages:
            features += ["pageNavigation", "printPageNumbers"]
        values = [("schema:accessMode", "textual")]
        if images:
            values.append(("schema:accessMode", "visual"))
        values.append(("schema:accessModeSufficient", "textual" if described else "textual,visual"))
        values += [("schema:accessibilityFeature", feature) for feature in features]
        values.append(("schema:accessibilityHazard", "none"))
        summary = [self.labels("a11y_summary")]
        if images:
            summary.append(self.labels("a11y_images_described" if described else "a11y_images_undescribed"))
        if self.pages:
            summary.append(self.labels("a11y_page_numbers"))
        values.append(("schema:accessibilitySummary", " ".join(summary)))
        # The rest of WCAG 2.2 AA holds by construction (semantics, language, navigation,
        # contrast); text alternatives are the one part only the author can supply.
        if described:
            values.append(("dcterms:conformsTo", CONFORMS_TO))
        if self.pages:
            config = self.book.config
            source = f"urn:isbn:{config.isbn}" if config.isbn else self.labels("page_break_source")
            values.append(("pageBreakSource", source))
        for prop, value in values:
            eb.add_metadata(None, "meta", value, {"property": prop})

    def _front_docs(self) -> list[Document]:
        config = self.book.config
        year = (config.date or self.book.build_date.date().isoformat())[:4]
        title_page = self.env.get_template("titlepage.xhtml.j2").render(config=config, role_labels=role_labels(self.labels))
        copyright_page = self.env.get_template("copyright.xhtml.j2").render(config=config, year=year)
        # The print edition's half-title has no ebook page; its folio is marked with the title page.
        title_breaks = self.breaks_at([self.page_ids["half-title"], self.page_ids["title-page"]], f"{PAGES_DIR}/titlepage.xhtml")
        copyright_breaks = self.breaks_at([self.page_ids["copyright-page"]], f"{PAGES_DIR}/copyright.xhtml")
        return [
            Document("titlepage", f"{PAGES_DIR}/titlepage.xhtml", config.title, title_breaks + title_page, "frontmatter"),
            Document("copyright", f"{PAGES_DIR}/copyright.xhtml", self.labels("copyright"), copyright_breaks + copyright_page,
                     "frontmatter"),
        ]

    @cached_property
    def cover_image(self) -> tuple[str, bytes, str, str]:
        """The author's cover image, or one generated from the title and author: (media type,
        bytes, file name, alt text)."""
        config = self.book.config
        if config.cover:
            from bookmaker.transforms import read_image

            image = read_image(config.cover, config.path, None, config.cover.name)
            return (image.media_type, config.cover.read_bytes(), f"cover{config.cover.suffix.lower()}",
                    self.labels("cover_image_alt", title=config.title))
        byline = self.labels.join_names([c.name for c in config.creators])
        title = config.title + (self.labels("list_separator") + config.subtitle if config.subtitle else "")
        alt = self.labels("cover_alt_by", title=title, authors=byline) if byline else self.labels("cover_alt", title=title)
        return "image/jpeg", generate_cover(config), "cover.jpg", alt

    def _cover(self, eb) -> Document:  # type: ignore[no-untyped-def]
        """Add the cover image (the author's, or a generated one); return the linear page that shows it."""
        from ebooklib import epub

        media_type, data, name, alt = self.cover_image
        # Outside images/, so that it cannot collide with a book image of the same name.
        item = epub.EpubItem(uid="cover-image", file_name=name, media_type=media_type, content=data)
        item.properties = ["cover-image"]
        eb.add_item(item)
        # EPUB 2 readers (and Kindle) look for this meta.
        eb.add_metadata(None, "meta", "", {"name": "cover", "content": "cover-image"})
        content = (
            f'<section epub:type="cover" class="cover"><img role="doc-cover" src="../{name}" '
            f'alt="{escape(alt)}"/></section>'
        )
        return Document("cover", f"{PAGES_DIR}/cover.xhtml", self.labels("cover"), content, "cover", "cover-page")


#: The templates the EPUB renders (``prepare`` compiles them ahead).
_TEMPLATES = ("page.xhtml.j2", "epub-chapter.xhtml.j2", "nav.xhtml.j2", "toc.ncx.j2", "titlepage.xhtml.j2",
              "copyright.xhtml.j2")


def packed_image(image: Image) -> bytes:
    """An image's bytes as the EPUB carries them (an SVG without its DOCTYPE: EPUBCheck OPF-073)."""
    data = image.source.read_bytes()
    return svg_for_package(data) if image.media_type == "image/svg+xml" else data


def manifest_properties(content: bytes) -> list[str]:
    """The manifest properties an XHTML document needs for what it holds (EPUB 3.3, 5.4.2)."""
    root = etree.fromstring(content)
    found = []
    if root.find(".//{http://www.w3.org/2000/svg}svg") is not None:
        found.append("svg")
    if root.find(".//{http://www.w3.org/1998/Math/MathML}math") is not None:
        found.append("mathml")
    return found


def mirror_xml_lang(root: etree._Element) -> bool:
    """Give every element with ``lang`` the same ``xml:lang`` (an XHTML document's language is
    xml:lang; HTML5 wants both to agree when both are given); True if any element changed."""
    changed = False
    for el in root.iter():
        lang = el.get("lang") if isinstance(el.tag, str) else None
        if lang and el.get(XML_LANG) != lang:
            el.set(XML_LANG, lang)
            changed = True
    return changed


#: HTML elements that have no end tag; every other element is written with one.
VOID_TAGS = frozenset("area base br col embed hr img input link meta source track wbr".split())


def _keep_end_tags(tree: etree._Element) -> None:
    """Give empty non-void elements an empty text, so lxml writes an end tag (see ``_inner_xml``)."""
    for el in tree.iter():
        if isinstance(el.tag, str) and el.text is None and not len(el) and etree.QName(el).localname not in VOID_TAGS:
            el.text = ""


def _inner_xml(tree: etree._Element) -> str:
    """The content of ``tree`` as XHTML source (``tree`` is a resolved copy and is emptied).

    An empty non-void element is written ``<span></span>``, never ``<span/>``: a tool that
    reads the file with an HTML parser (a converter, a browser given text/html) takes
    ``<span/>`` for an open tag that wraps everything after it.  The content is serialized
    inside one wrapper that declares the epub prefix, so that noterefs and page breaks do
    not each repeat the namespace declaration (the page template declares it on <html>).
    """
    _keep_end_tags(tree)
    wrapper = etree.Element("wrapper", nsmap={"epub": OPS_NS})
    wrapper.text = tree.text
    wrapper.extend(list(tree))
    if not len(wrapper) and not wrapper.text:
        return ""
    text = etree.tostring(wrapper, encoding="unicode", method="xml")
    return text[text.index(">") + 1 : text.rindex("</wrapper>")]


def repack(data: bytes, when: datetime, language: str) -> bytes:
    """Rewrite the zip reproducibly: mimetype first and stored, fixed times, fixed order.

    ebooklib 0.20 stamps every entry with the current time and writes no xml:lang on
    the package (Ace ``epub-lang``), so both are fixed here.
    """
    stamp = max(when.timetuple()[:6], (1980, 1, 1, 0, 0, 0))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        names = src.namelist()
        ordered = ["mimetype"] + [n for n in names if n != "mimetype"]
        for name in ordered:
            content = src.read(name)
            if name.endswith(".opf"):
                content = _patch_opf(content, language)
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.external_attr = 0o644 << 16
            if name == "mimetype":
                info.compress_type = zipfile.ZIP_STORED
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, content, compresslevel=9 if name != "mimetype" else None)
    return out.getvalue()


def _patch_opf(content: bytes, language: str) -> bytes:
    root = etree.fromstring(content)
    root.set(XML_LANG, language)
    return etree.tostring(root, encoding="utf-8", xml_declaration=True)
