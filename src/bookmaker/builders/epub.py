"""The ebook: one XHTML file per chapter, our own nav and NCX, packaged by ebooklib."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from html import escape
from pathlib import Path

from lxml import etree

from bookmaker import __version__
from bookmaker.builders import Builder
from bookmaker.builders.pdf import ROLE_LABELS, roman
from bookmaker.errors import BookmakerError
from bookmaker.model import Book, Chapter, Note, TocEntry
from bookmaker.output import atomic_output
from bookmaker.render import template_env
from bookmaker.resources import style_file, styles_dir

OPS_NS = "http://www.idpf.org/2007/ops"
XHTML_MEDIA = "application/xhtml+xml"
etree.register_namespace("epub", OPS_NS)

#: epub:type and DPUB-ARIA role for each kind (EPUB 3 Structural Semantics Vocabulary, DPUB-ARIA 1.1).
SEMANTICS: dict[str, tuple[str, str | None]] = {
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
}

#: The back link after a note: U+FE0E keeps iOS from drawing U+21A9 as an emoji (pandoc #5469).
BACKLINK = "\u21a9\ufe0e"


class EpubBuilder(Builder):
    """Write an EPUB 3 with an NCX, reproducibly."""

    name = "epub"
    suffix = "epub"

    def __init__(self, book: Book) -> None:
        super().__init__(book)
        self.env = template_env(styles_dir(book.config))
        self.env.globals.update(roman=roman)

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
        a = etree.Element("a", {"href": f"#{note.id}", "id": ref_id, "class": "noteref", "role": "doc-noteref"})
        a.set(f"{{{OPS_NS}}}type", "noteref")
        a.text = str(note.number)
        return a

    # -- documents ----------------------------------------------------------------
    def page(self, title: str, content: str, matter: str, body_class: str = "", css_href: str = "../css/epub.css") -> bytes:
        """Wrap content in an XHTML page and check that it is well-formed."""
        text = self.env.get_template("page.xhtml.j2").render(
            lang=self.book.config.language,
            title=title,
            css_href=css_href,
            matter=matter,
            body_class=body_class,
            content=content,
        )
        data = text.encode("utf-8")
        try:
            etree.fromstring(data)
        except etree.XMLSyntaxError as exc:  # a bug in bookmaker, not in the manuscript
            raise BookmakerError(f"internal error: {title!r} is not well-formed XHTML: {exc}") from None
        return data

    def chapter_xhtml(self, chapter: Chapter) -> bytes:
        body = self.resolve_body(chapter)
        epub_type, role = SEMANTICS[chapter.kind]
        notes = [(n.id, n.ref_id, n.number, self.note_xhtml(chapter, n)) for n in chapter.notes]
        content = self.env.get_template("epub-chapter.xhtml.j2").render(
            chapter=chapter, epub_type=epub_type, role=role, body=_inner_xml(body), notes=notes
        )
        return self.page(chapter.title, content, f"{chapter.matter}matter", f"kind-{chapter.kind}")

    def note_xhtml(self, chapter: Chapter, note: Note) -> str:
        body = self.resolve_body(chapter, note.body)
        paragraphs = [el for el in body if el.tag == "p"]
        number = etree.Element("span", {"class": "note-number"})
        number.text = f"{note.number}. "
        back = etree.Element("a", {"href": f"#{note.ref_id}", "role": "doc-backlink", "class": "backlink", "aria-label": f"Back to note {note.number} reference"})
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

    def nav_xhtml(self, pages: list[tuple[str, str]], landmarks: list[tuple[str, str, str]]) -> bytes:
        def href(chapter_id: str) -> str:
            return f"text/{self.get_target_uri(chapter_id)}"

        content = self.env.get_template("nav.xhtml.j2").render(
            toc=self.book.toc, href=href, toc_label=toc_label, landmarks=landmarks, pages=pages
        )
        return self.page("Contents", content, "frontmatter", "nav", css_href="css/epub.css")

    def ncx(self, pages: list[tuple[str, str]]) -> bytes:
        points: list[str] = []
        order = [0]

        def point(entry: TocEntry, prefix: str = "text/") -> str:
            order[0] += 1
            number = order[0]
            chapter = entry.chapter
            children = "".join(point(child) for child in entry.children)
            return (
                f'<navPoint id="np-{escape(chapter.id)}" playOrder="{number}">'
                f"<navLabel><text>{escape(toc_label(chapter))}</text></navLabel>"
                f'<content src="{prefix}{escape(chapter.id)}.xhtml"/>{children}</navPoint>'
            )

        points = [point(entry) for entry in self.book.toc]
        depth = 2 if any(e.children for e in self.book.toc) else 1
        numeric = [int(label) for label, _ in pages if label.isdigit()]
        text = self.env.get_template("toc.ncx.j2").render(
            lang=self.book.config.language,
            uid=self.book.identifier,
            depth=depth,
            pages=[(label, f"text/{target}") for label, target in pages],
            max_page=max(numeric, default=0),
            title=self.book.config.title,
            points=points,
            play_offset=order[0],
        )
        return text.encode("utf-8")

    # -- package ------------------------------------------------------------------
    def build(self, outdir: Path) -> Path:
        from ebooklib import epub

        book, config = self.book, self.book.config
        eb = epub.EpubBook()
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
                eb.add_metadata("DC", key, value)
        for subject in config.subjects:
            eb.add_metadata("DC", "subject", subject)
        if config.isbn and book.identifier != f"urn:isbn:{config.isbn}":
            eb.add_metadata("DC", "source", f"urn:isbn:{config.isbn}")

        css = epub.EpubItem(uid="css", file_name="css/epub.css", media_type="text/css",
                            content=style_file(config, "epub.css").read_bytes())
        eb.add_item(css)
        for index, image in enumerate(book.images.values(), 1):
            eb.add_item(epub.EpubItem(uid=f"img{index}", file_name=f"images/{image.name}",
                                      media_type=image.media_type, content=image.source.read_bytes()))

        spine: list[epub.EpubItem] = []
        landmarks: list[tuple[str, str, str]] = []
        if config.cover:
            spine.append(self._add_cover(eb, config.cover, landmarks))
        front_pages = self._front_pages()
        for uid, name, title, content, matter in front_pages:
            item = epub.EpubItem(uid=uid, file_name=f"text/{name}", media_type=XHTML_MEDIA,
                                 content=self.page(title, content, matter))
            eb.add_item(item)
            spine.append(item)
        landmarks.append(("toc", "nav.xhtml#toc", "Contents"))
        chapter_items = []
        for chapter in book.chapters:
            item = epub.EpubItem(uid=f"ch-{chapter.id}", file_name=self.file_name(chapter.id),
                                 media_type=XHTML_MEDIA, content=self.chapter_xhtml(chapter))
            eb.add_item(item)
            chapter_items.append((chapter, item))
        # The printed contents come after dedication and epigraph (Chicago 1.4).
        for chapter, item in chapter_items:
            if chapter.kind in ("dedication", "epigraph"):
                spine.append(item)
        first_body = next((c for c in book.chapters if c.matter == "body"), book.chapters[0])
        landmarks.append(("bodymatter", f"text/{first_body.id}.xhtml", "Start of content"))

        nav = epub.EpubItem(uid="nav", file_name="nav.xhtml", media_type=XHTML_MEDIA,
                            content=self.nav_xhtml([], landmarks))
        nav.properties = ["nav"]
        eb.add_item(nav)
        spine.append(nav)
        spine.extend(item for chapter, item in chapter_items if chapter.kind not in ("dedication", "epigraph"))
        eb.add_item(epub.EpubItem(uid="ncx", file_name="toc.ncx", media_type="application/x-dtbncx+xml",
                                  content=self.ncx([])))
        eb.spine = spine

        target = self.output_path(outdir)
        with atomic_output(target) as tmp:
            options = {"epub3_pages": False, "epub3_landmark": False, "epub2_guide": False,
                       "mtime": book.build_date, "raise_exceptions": True}
            raw = io.BytesIO()
            epub.write_epub(raw, eb, options)
            tmp.write_bytes(repack(raw.getvalue(), book.build_date, config.language))
        return target

    def _front_pages(self) -> list[tuple[str, str, str, str, str]]:
        config = self.book.config
        year = (config.date or self.book.build_date.date().isoformat())[:4]
        title_page = self.env.get_template("titlepage.xhtml.j2").render(config=config, role_labels=ROLE_LABELS)
        copyright_page = self.env.get_template("copyright.xhtml.j2").render(config=config, year=year)
        return [
            ("titlepage", "titlepage.xhtml", config.title, title_page, "frontmatter"),
            ("copyright", "copyright.xhtml", "Copyright", copyright_page, "frontmatter"),
        ]

    def _add_cover(self, eb, cover: Path, landmarks: list[tuple[str, str, str]]):  # type: ignore[no-untyped-def]
        from ebooklib import epub

        from bookmaker.transforms import read_image

        image = read_image(cover, self.book.config.path, None, cover.name)
        name = f"cover{cover.suffix.lower()}"
        item = epub.EpubItem(uid="cover-image", file_name=f"images/{name}", media_type=image.media_type,
                             content=cover.read_bytes())
        item.properties = ["cover-image"]
        eb.add_item(item)
        # EPUB 2 readers (and Kindle) look for this meta.
        eb.add_metadata(None, "meta", "", {"name": "cover", "content": "cover-image"})
        content = (
            f'<section epub:type="cover" class="cover"><img role="doc-cover" src="../images/{name}" '
            f'alt="Cover of {escape(self.book.config.title)}"/></section>'
        )
        page = epub.EpubItem(uid="cover", file_name="text/cover.xhtml", media_type=XHTML_MEDIA,
                             content=self.page("Cover", content, "cover", "cover-page"))
        eb.add_item(page)
        landmarks.append(("cover", "text/cover.xhtml", "Cover"))
        return page


def toc_label(chapter: Chapter) -> str:
    """The entry of a chapter in the nav: 'Part I: Title', '1. Title' or 'Title'."""
    if chapter.kind == "part":
        return f"Part {roman(chapter.number)}: {chapter.title}" if not chapter.title.lower().startswith("part") else chapter.title
    if chapter.kind == "chapter" and chapter.number:
        return f"{chapter.number}. {chapter.title}"
    return chapter.title


def _inner_xml(tree: etree._Element) -> str:
    parts = [escape(tree.text, quote=False)] if tree.text else []
    parts += [etree.tostring(child, encoding="unicode", method="xml") for child in tree]
    return "".join(parts)


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
    root.set("{http://www.w3.org/XML/1998/namespace}lang", language)
    return etree.tostring(root, encoding="utf-8", xml_declaration=True)
