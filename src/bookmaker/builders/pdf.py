"""The print edition: one HTML document plus the print stylesheet, laid out by WeasyPrint."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from lxml import etree, html

from bookmaker import __version__
from bookmaker.builders import ROLE_LABELS, Builder, inline_note_content, roman
from bookmaker.model import Book, Chapter, Note
from bookmaker.output import atomic_output
from bookmaker.render import template_env
from bookmaker.resources import default_styles, style_file, styles_dir
from bookmaker.sandbox import project_fetcher

#: Longest running head set in full; longer ones are cut at a word (issue 3: never wrapped).
RUNNING_HEAD_MAX = 42

@dataclass
class PdfResult:
    """What the PDF build produced."""

    path: Path
    pages: int
    #: Printed page label (folio) of every element id in the book.
    page_map: dict[str, str]


def shorten(text: str, limit: int = RUNNING_HEAD_MAX) -> str:
    """Cut a running head at a word boundary so it fits on one line."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:–—-")
    return f"{cut}\u2026"


class PdfBuilder(Builder):
    """Render the book as one HTML document and write it with WeasyPrint."""

    name = "pdf"
    suffix = "pdf"

    def __init__(self, book: Book) -> None:
        super().__init__(book)
        self.theme = styles_dir(book.config)
        self.env = template_env(self.theme)
        self.env.globals.update(roman=roman)

    def get_target_uri(self, chapter_id: str, anchor: str | None = None) -> str:
        # One document: every target is a fragment (Sphinx singlehtml get_target_uri).
        return f"#{anchor or chapter_id}"

    def get_image_uri(self, name: str) -> str:
        return self.book.images[name].source.resolve().as_uri()

    def make_noteref(self, chapter: Chapter, note: Note, ref_id: str) -> etree._Element:
        if self.book.config.notes == "footnotes":
            if ref_id != note.ref_id:
                # A second call of the same note prints its number; the text is printed once.
                sup = etree.Element("a", {"class": "noteref", "href": f"#{note.id}"})
                sup.text = str(note.number)
                return sup
            span = inline_note_content(note, self, chapter)
            span.set("class", "footnote")
            span.set("id", note.id)
            return span
        link = etree.Element("a", {"class": "noteref", "id": ref_id, "href": f"#{note.id}"})
        link.text = str(note.number)
        return link

    def running_head(self, chapter: Chapter) -> str:
        return shorten(chapter.running_head or chapter.title)

    def render_html(self) -> str:
        """The whole book as one HTML string."""
        book, config = self.book, self.book.config
        chapter_tpl = self.env.get_template("chapter.html.j2")
        before_toc: list[str] = []
        after_toc: list[str] = []
        first_body_seen = False
        book_notes: list[tuple[Chapter, list[tuple[int, str, str, str]]]] = []
        for chapter in book.chapters:
            first_body = chapter.matter == "body" and not first_body_seen
            first_body_seen = first_body_seen or first_body
            if config.notes == "book-endnotes" and chapter.matter == "back" and book_notes:
                after_toc.append(self._book_notes_section(book_notes))
                book_notes = []
            endnotes = self._endnotes(chapter) if config.notes != "footnotes" else []
            if config.notes == "book-endnotes" and endnotes:
                book_notes.append((chapter, endnotes))
                endnotes = []
            rendered = chapter_tpl.render(
                chapter=chapter,
                body=_inner_html(self.resolve_body(chapter)),
                running_head=self.running_head(chapter),
                endnotes=endnotes,
                first_body=first_body,
            )
            (before_toc if chapter.kind in ("dedication", "epigraph") else after_toc).append(rendered)
        if book_notes:
            after_toc.append(self._book_notes_section(book_notes))
        year = (config.date or book.build_date.date().isoformat())[:4]
        return self.env.get_template("book.html.j2").render(
            config=config,
            toc=book.toc,
            before_toc=before_toc,
            after_toc=after_toc,
            version=__version__,
            created=book.build_date.strftime("%Y-%m-%dT%H:%M:%SZ"),
            year=year,
            role_labels=ROLE_LABELS,
            isbn_display=_hyphenless_isbn(config.isbn),
            running_author=shorten(", ".join(c.name for c in config.creators) or config.title),
        )

    def _endnotes(self, chapter: Chapter) -> list[tuple[int, str, str, str]]:
        result = []
        for note in chapter.notes:
            content = _inner_html(self.resolve_body(chapter, note.body))
            result.append((note.number, note.id, f"#{note.ref_id}", content))
        return result

    def _book_notes_section(self, groups: list[tuple[Chapter, list[tuple[int, str, str, str]]]]) -> str:
        return self.env.get_template("book-notes.html.j2").render(groups=groups)

    def stylesheet_paths(self) -> list[Path]:
        return [style_file(self.book.config, "print.css")]

    def render_document(self):  # type: ignore[no-untyped-def]
        """Lay the book out (pass 1 of a two-pass build); returns a WeasyPrint Document."""
        from weasyprint import CSS, HTML
        from weasyprint.text.fonts import FontConfiguration

        config = self.book.config
        roots = [config.root, self.theme, default_styles()]
        fetcher = project_fetcher(roots, config.network.allow)
        # One FontConfiguration for every CSS and the render, or @font-face is ignored (engine-notes 9).
        fonts = FontConfiguration()
        css = [CSS(filename=str(p), font_config=fonts, url_fetcher=fetcher) for p in self.stylesheet_paths()]
        document = HTML(
            string=self.render_html(), base_url=str(config.root) + "/", url_fetcher=fetcher
        ).render(stylesheets=css, font_config=fonts)
        return document

    def page_map(self, document) -> dict[str, str]:  # type: ignore[no-untyped-def]
        """The printed folio of each anchored element: roman before the body matter, arabic from 1."""
        first_body = next((c.id for c in self.book.chapters if c.matter == "body"), None)
        body_start = None
        for index, page in enumerate(document.pages):
            if first_body in page.anchors:
                body_start = index
                break
        labels: dict[str, str] = {}
        for index, page in enumerate(document.pages):
            if body_start is None or index < body_start:
                label = roman(index + 1).lower()
            else:
                label = str(index - body_start + 1)
            for anchor in page.anchors:
                labels.setdefault(anchor, label)
        return labels

    def build(self, outdir: Path) -> Path:
        return self.build_pdf(outdir).path

    def build_pdf(self, outdir: Path) -> PdfResult:
        """Lay out and write ``OUT/<slug>.pdf``."""
        document = self.render_document()
        target = self.output_path(outdir)
        options = {"pdf_identifier": True}
        with atomic_output(target) as tmp:
            document.write_pdf(str(tmp), **options)
        return PdfResult(target, len(document.pages), self.page_map(document))


def _inner_html(tree: etree._Element) -> str:
    parts = [escape(tree.text, quote=False)] if tree.text else []
    parts += [html.tostring(child, encoding="unicode", method="html") for child in tree]
    return "".join(parts)


def _hyphenless_isbn(isbn: str | None) -> str:
    return isbn or ""
