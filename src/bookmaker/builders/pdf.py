"""The print edition: one HTML document plus the print stylesheet, laid out by WeasyPrint.

The layout runs in passes (engine-notes 4 and 5): the gutter depends on the page count,
so the book is laid out, counted, and laid out again when the count calls for another
gutter.  The last layout gives the page map (id -> printed folio) that the EPUB's
page-list uses and the placed size of every image for the low-resolution check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

from lxml import etree, html

from bookmaker import __version__, weasyfix
from bookmaker.builders import ROLE_LABELS, Builder, inline_note_content, roman
from bookmaker.cjk import is_cjk, wrap_runs
from bookmaker.geometry import Geometry, gutter_for
from bookmaker.log import logger, warn
from bookmaker.markup import line_in_file
from bookmaker.model import Book, Chapter, Note
from bookmaker.notes import running_head as notes_running_head
from bookmaker.output import atomic_output
from bookmaker.render import template_env
from bookmaker.resources import default_styles, style_file, styles_dir
from bookmaker.sandbox import ProjectFetcher

#: An image printing below this resolution at its placed size gets a warning.
MIN_DPI = 300
#: Running heads may use this share of the text width; longer ones are shortened (never wrapped).
RUNNING_HEAD_SHARE = 0.8
#: Fallback limit in characters when the running head's font cannot be measured.
RUNNING_HEAD_MAX = 48
#: Kinds whose first paragraph opens with a drop cap.
DROPCAP_KINDS = ("foreword", "preface", "introduction", "prologue", "chapter", "epilogue", "afterword")
#: A drop cap needs a paragraph long enough to wrap around it (three lines and more).
DROPCAP_MIN_CHARS = 180
#: The most layouts spent on settling the gutter.
MAX_LAYOUTS = 3
#: The most extra layouts spent on settling the page numbers of book-end notes.
MAX_NOTE_LAYOUTS = 3
#: A keyed note's page number before the first layout has told it (as wide as a typical folio).
PAGE_STAND_IN = "00"

_PART_TITLE_RE = re.compile(r"^\s*(Part\s+[\w-]+)\s*(?:[:.\u2013\u2014-]\s*(.*))?$", re.I)
_ATTRIBUTION_RE = re.compile(r"^\s*(\u2014|\u2013|\u2015|--)")
_OPENING_PUNCT = "\"'\u201c\u2018\u00ab\u201e\u201a\u2039([¿¡"


@dataclass
class PdfResult:
    """What the PDF build produced."""

    path: Path
    pages: int
    #: Printed page label (folio) of every element id in the book.
    page_map: dict[str, str]
    #: Pages that begin inside a block: folio -> (block id, words of it on earlier pages).
    page_starts: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: The folio of every page, in order (blank pages included).
    page_labels: list[str] = field(default_factory=list)


def shorten(text: str, limit: int = RUNNING_HEAD_MAX) -> str:
    """Cut a running head at a word boundary so it fits on one line (by characters)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:–—-")
    return f"{cut}\u2026"


def part_label(chapter: Chapter) -> tuple[str, str | None]:
    """A part's label and title: "Part One: The Programmer" -> ("Part One", "The Programmer")."""
    match = _PART_TITLE_RE.match(chapter.title)
    if match:
        return match.group(1), (match.group(2) or "").strip() or None
    return f"Part {roman(chapter.number)}", chapter.title


class HeadMeasure:
    """Measure a running head set in the theme's font, to shorten it before it would wrap."""

    def __init__(self, fonts_dir: Path) -> None:
        self.fonts_dir = fonts_dir

    @lru_cache(maxsize=8)  # noqa: B019 - a few fonts per build
    def _metrics(self, name: str) -> tuple[dict[int, str], dict[str, int], int] | None:
        path = self.fonts_dir / name
        if not path.is_file():
            return None
        try:
            from fontTools.ttLib import TTFont

            font = TTFont(str(path), lazy=True)
            return font.getBestCmap(), {k: v[0] for k, v in font["hmtx"].metrics.items()}, font["head"].unitsPerEm
        except Exception:  # noqa: BLE001 - an unreadable font only loses the measurement
            return None

    def width(self, text: str, size: float, font: str, tracking: float = 0.0, upper: bool = False) -> float | None:
        """The advance width in points of ``text`` (no kerning), or None if the font is missing."""
        metrics = self._metrics(font)
        if metrics is None:
            return None
        cmap, advances, upem = metrics
        total = 0.0
        for ch in text.upper() if upper else text:
            glyph = cmap.get(ord(ch))
            units = advances.get(glyph, upem) if glyph else upem  # CJK and the like: a full em
            total += units / upem * size + tracking * size
        return total

    def fit(self, text: str, limit: float, size: float, font: str, tracking: float = 0.0, upper: bool = False) -> str:
        """``text`` cut at a word and ended with an ellipsis so that it is at most ``limit`` points wide."""
        width = self.width(text, size, font, tracking, upper)
        if width is None:
            return shorten(text)
        if width <= limit:
            return text
        words = text.split()
        while len(words) > 1:
            words.pop()
            candidate = " ".join(words).rstrip(" ,;:–—-") + "\u2026"
            if (self.width(candidate, size, font, tracking, upper) or 0) <= limit:
                return candidate
        # One long word: cut by characters.
        candidate = text
        while len(candidate) > 1 and (self.width(candidate + "\u2026", size, font, tracking, upper) or 0) > limit:
            candidate = candidate[:-1]
        return candidate.rstrip() + "\u2026"


class PdfBuilder(Builder):
    """Render the book as one HTML document and write it with WeasyPrint."""

    name = "pdf"
    suffix = "pdf"

    def __init__(self, book: Book) -> None:
        super().__init__(book)
        # Validate pdf: in book.yaml before any work (ConfigError names the key).
        self.geometry = Geometry.from_config(book.config)
        self.theme = styles_dir(book.config)
        self.env = template_env(self.theme)
        self.env.globals.update(roman=roman)
        self.measure = HeadMeasure(default_styles() / "fonts")
        #: The geometry of the last layout (page count and gutter).
        self.used_geometry: Geometry | None = None
        #: How many layouts the last build took.
        self.layouts = 0
        #: From the previous layout: folios of the anchors book-end notes refer to, and the
        #: running head of each note's page (None before the first layout).
        self.note_folios: dict[str, str] | None = None
        self.note_heads: dict[str, str] | None = None

    # ---- Builder contract ---------------------------------------------------------------------

    def get_target_uri(self, chapter_id: str, anchor: str | None = None) -> str:
        # One document: every target is a fragment (Sphinx singlehtml get_target_uri).
        return f"#{anchor or chapter_id}"

    def get_image_uri(self, name: str) -> str:
        return self.book.images[name].source.resolve().as_uri()

    def make_noteref(self, chapter: Chapter, note: Note, ref_id: str) -> etree._Element:
        if note.place == "keyed":
            # No call in the text: the key phrase (note.key_id) is what the note points at.
            return etree.Element("span", {"class": "noteref-keyed", "id": ref_id})
        if note.place == "page":
            if ref_id != note.ref_id:
                # A second call of the same note prints its number; the text is printed once.
                sup = etree.Element("a", {"class": "noteref", "id": ref_id, "href": f"#{note.id}"})
                sup.text = note.mark
                return sup
            # The note floats to the foot of the page from here; the empty anchor around it
            # records the page of the call (the note's own id records where the note is printed).
            anchor = etree.Element("span", {"class": "noteref-anchor", "id": ref_id})
            span = inline_note_content(note, self, chapter)
            span.set("class", "footnote")
            span.set("id", note.id)
            # The call and the marker print the note's own mark (a number or *, †, ‡).
            span.set("data-mark", note.mark)
            span.set("data-marker", f"{note.mark}." if note.mark.isdigit() else note.mark)
            anchor.append(span)
            return anchor
        link = etree.Element("a", {"class": "noteref", "id": ref_id, "href": f"#{note.id}"})
        link.text = note.mark
        return link

    def make_pageref(self, chapter_id: str, anchor: str) -> etree._Element:
        # The folio from the previous layout; before the first one, a stand-in of the same width.
        span = etree.Element("b", {"class": "note-page"})
        span.text = (self.note_folios or {}).get(anchor) or PAGE_STAND_IN
        return span

    # ---- HTML ----------------------------------------------------------------------------------

    def running_head(self, chapter: Chapter) -> str:
        """The recto head of a chapter: its ``running_head`` or title, on one line."""
        text = " ".join((chapter.running_head or chapter.title).split())
        limit = self.geometry.text_width * RUNNING_HEAD_SHARE
        return self.measure.fit(text, limit, 8.5, "EBGaramond-Italic.otf")

    def running_author(self) -> str:
        """The verso head: the authors (role author), else the book title, on one line."""
        config = self.book.config
        names = [c.name for c in config.creators]
        text = " and ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + " and " + names[-1]
        text = text or config.title
        limit = self.geometry.text_width * RUNNING_HEAD_SHARE
        # Small caps are narrower than capitals: measuring capitals errs on the safe side.
        return self.measure.fit(text, limit, 8.5, "EBGaramond-Regular.otf", tracking=0.08, upper=True)

    def first_body_id(self) -> str | None:
        """The section where arabic folios start at 1: the first one after the front matter."""
        return next((c.id for c in self.book.chapters if c.matter != "front"), None)

    def page_name(self, chapter: Chapter, first_body: bool) -> str:
        if first_body:
            return "body-first-part" if chapter.kind == "part" else "body-first"
        if chapter.kind in ("dedication", "epigraph"):
            return "display"
        if chapter.matter == "front":
            return "front"
        return "part" if chapter.kind == "part" else "chapter"

    def chapter_labels(self, chapter: Chapter) -> tuple[str | None, str | None, str | None]:
        """(label above the title, title, bookmark label) of an opener."""
        if chapter.kind == "part":
            label, title = part_label(chapter)
            return label, title, chapter.title
        if chapter.kind == "chapter" and chapter.number:
            return f"Chapter {chapter.number}", chapter.title, None
        return None, chapter.title, None

    def toc_entries(self) -> list[dict[str, Any]]:
        """The printed contents: every section except the display pages (dedication, epigraph)."""

        def entry(chapter: Chapter) -> dict[str, Any]:
            label: str | None = None
            title: str | None = chapter.title
            if chapter.kind == "part":
                label, title = part_label(chapter)
            elif chapter.kind == "chapter" and chapter.number:
                label = str(chapter.number)
            return {"id": chapter.id, "kind": chapter.kind, "matter": chapter.matter, "label": label,
                    "title": title, "children": []}

        entries: list[dict[str, Any]] = []
        for item in self.book.toc:
            if item.chapter.kind in ("dedication", "epigraph"):
                continue
            top = entry(item.chapter)
            top["children"] = [entry(child.chapter) for child in item.children]
            entries.append(top)
        return entries

    def render_html(self) -> str:
        """The whole book as one HTML string."""
        book, config = self.book, self.book.config
        chapter_tpl = self.env.get_template("chapter.html.j2")
        before_toc: list[str] = []
        after_toc: list[str] = []
        first_body_id = self.first_body_id()
        for chapter in book.chapters:
            first_body = chapter.id == first_body_id
            endnotes = self._endnotes(chapter)
            label, title, bookmark = self.chapter_labels(chapter)
            body = self.resolve_body(chapter)
            self._typeset_body(chapter, body)
            if chapter.body.get("data-book-notes"):
                self._notes_heads(body)
            rendered = chapter_tpl.render(
                chapter=chapter,
                body=_inner_html(body),
                running_head=self.running_head(chapter),
                endnotes=endnotes,
                first_body=first_body,
                page="notes" if chapter.body.get("data-book-notes") else self.page_name(chapter, first_body),
                label=label,
                title=title,
                bookmark=bookmark,
            )
            (before_toc if chapter.kind in ("dedication", "epigraph") else after_toc).append(rendered)
        year = (config.date or book.build_date.date().isoformat())[:4]
        return self.env.get_template("book.html.j2").render(
            config=config,
            toc=self.toc_entries(),
            before_toc=before_toc,
            after_toc=after_toc,
            version=__version__,
            created=book.build_date.strftime("%Y-%m-%dT%H:%M:%SZ"),
            year=year,
            role_labels=ROLE_LABELS,
            isbn_display=format_isbn(config.isbn),
            byline=None,
            running_author=self.running_author(),
        )

    def _typeset_body(self, chapter: Chapter, body: etree._Element) -> None:
        """Print-only touches: the opening paragraph (drop cap), attributions in quotations."""
        wrap_cjk(body)
        for quote in body.iter("blockquote"):
            paragraphs = [p for p in quote if p.tag == "p"]
            if len(paragraphs) > 1 and _ATTRIBUTION_RE.match(paragraphs[-1].text or ""):
                last = paragraphs[-1]
                last.set("class", (last.get("class", "") + " attribution").strip())
        first = next((el for el in body if isinstance(el.tag, str)), None)
        if first is None or first.tag != "p" or chapter.kind in ("dedication", "epigraph"):
            return
        first.set("class", (first.get("class", "") + " opening").strip())
        if chapter.kind not in DROPCAP_KINDS:
            return
        first.set("class", first.get("class") + " lead-in")
        text = first.text or ""
        if len(" ".join(first.itertext())) < DROPCAP_MIN_CHARS:
            return
        stripped = text.lstrip()
        lead = 0
        while lead < len(stripped) and stripped[lead] in _OPENING_PUNCT:
            lead += 1
        if lead >= len(stripped) or not stripped[lead].isalpha() or not stripped[lead].isascii():
            return
        # The initial is its own element: the theme floats it as a drop cap or leaves it inline.
        cap = etree.Element("span", {"class": "dropcap"})
        cap.text = stripped[: lead + 1]
        cap.tail = stripped[lead + 1:]
        first.text = None
        first.insert(0, cap)

    def _endnotes(self, chapter: Chapter) -> list[tuple[str, str, str, str]]:
        """The notes printed at the end of ``chapter`` (place ``chapter``)."""
        result = []
        for note in chapter.notes:
            if note.place != "chapter":
                continue
            body = self.resolve_body(chapter, note.body)
            wrap_cjk(body)
            content = _inner_html(body)
            result.append((note.mark, note.id, f"#{note.ref_id}", content))
        return result

    def _notes_heads(self, body: etree._Element) -> None:
        """Give each book-end note the running head of the page it began on in the last layout
        ("Notes to pages 45–52", CMOS 14.42); the first note of a page sets the page's head."""
        for li in body.iter("li"):
            head = (self.note_heads or {}).get(li.get("id") or "")
            li.set("data-head", head or "Notes")

    def note_layout_info(self, document, folios: list[str]) -> tuple[dict[str, str], dict[str, str]]:  # type: ignore[no-untyped-def]
        """From a layout: the folio of every anchor a book-end note refers to, and the running
        head of the notes page each such note begins on."""
        holder = next((c for c in self.book.chapters if c.body.get("data-book-notes")), None)
        if holder is None:
            return {}, {}
        page_of = self.page_map(document, folios)
        items = [(li.get("id"), li.get("data-anchor")) for li in holder.body.iter("li") if li.get("data-anchor")]
        note_folios = {anchor: page_of.get(anchor, "") for _, anchor in items}
        anchor_of = dict(items)
        heads: dict[str, str] = {}
        for page in document.pages:
            on_page = [a for a in page.anchors if a in anchor_of]
            head = notes_running_head([note_folios[anchor_of[i]] for i in on_page])
            for note_id in on_page:
                heads[note_id] = head
        return note_folios, heads

    # ---- layout ------------------------------------------------------------------------------

    def stylesheet_paths(self) -> list[Path]:
        return [style_file(self.book.config, "print.css")]

    def extra_css(self, geometry: Geometry) -> str:
        """Generated CSS after the theme: page geometry and what the PDF standard needs."""
        css = geometry.css()
        css += "h1[data-bookmark] { bookmark-label: attr(data-bookmark); }\n"
        if geometry.standard and geometry.standard.startswith("pdf/a"):
            # PDF/A forbids image interpolation (ISO 19005-2, 6.2.8).
            css += "img { image-rendering: crisp-edges; }\n"
        profile = self._output_profile() if geometry.standard == "pdf/x-4" else None
        if profile is not None:
            css += (f"@color-profile device-cmyk {{ src: url({profile.as_uri()}); "
                    "components: cyan, magenta, yellow, black; }\n")
        return css

    def _output_profile(self) -> Path | None:
        """A CMYK ICC profile for the PDF/X output intent: ``*.icc`` in the manuscript or theme."""
        for folder in (self.book.config.root, self.theme):
            found = sorted(folder.glob("*.icc")) + sorted(folder.glob("*.icm"))
            if found:
                return found[0]
        return None

    def _fetcher_roots(self) -> list[Path]:
        return [self.book.config.root, self.theme, default_styles()]

    def render_document(self, geometry: Geometry | None = None, html_text: str | None = None):  # type: ignore[no-untyped-def]
        """Lay the book out once with ``geometry``; returns a WeasyPrint Document."""
        from weasyprint import CSS, HTML
        from weasyprint.text.fonts import FontConfiguration

        weasyfix.apply()
        geometry = geometry or self.geometry
        config = self.book.config
        fetcher = ProjectFetcher(self._fetcher_roots(), config.network.allow)
        # One FontConfiguration for every CSS and the render, or @font-face is ignored (engine-notes 9).
        fonts = FontConfiguration()
        # Like fonts, @color-profile rules only reach the PDF through one shared dict (PDF/X output intent).
        profiles: dict[str, Any] = {}
        css = [
            CSS(filename=str(p), font_config=fonts, color_profiles=profiles, url_fetcher=fetcher)
            for p in self.stylesheet_paths()
        ]
        css.append(CSS(string=self.extra_css(geometry), font_config=fonts, color_profiles=profiles,
                       url_fetcher=fetcher, base_url=str(self.theme) + "/"))
        document = HTML(
            string=html_text if html_text is not None else self.render_html(),
            base_url=str(config.root) + "/",
            url_fetcher=fetcher,
        ).render(stylesheets=css, font_config=fonts, color_profiles=profiles, **self.render_options())
        return document

    def render_options(self) -> dict[str, Any]:
        """Options that must be known at layout time (PDF/UA tags, colour output intent)."""
        standard = self.geometry.standard
        options: dict[str, Any] = {}
        if standard:
            options["pdf_variant"] = standard
        if standard == "pdf/x-4":
            options["output_intent"] = "device-cmyk"
        return options

    def estimate_pages(self) -> int:
        """A first guess at the page count, to start the layout with the likely gutter."""
        chars = 0
        for chapter in self.book.chapters:
            chars += len(" ".join(chapter.body.itertext()))
            chars += sum(len(" ".join(n.body.itertext())) for n in chapter.notes)
        g = self.geometry.for_pages(0)
        chars_per_line = g.text_width / (0.43 * 11)
        lines_per_page = g.text_height / (11 * 1.38)
        text_pages = chars / max(chars_per_line * lines_per_page, 1)
        # Openers start a third down a recto, and half of them leave a blank verso before.
        openers = len(self.book.chapters)
        figures = sum(1 for c in self.book.chapters for _ in c.body.iter("img"))
        # Calibrated on the demo and on generated books (within about 3% of the real count).
        return round(1.1 * (10 + text_pages * 1.04 + openers * 1.0 + figures * 0.4))

    def layout(self):  # type: ignore[no-untyped-def]
        """Lay the book out until the gutter suits the page count (two passes at most, usually).

        Book-end notes print the folios of the pages they refer to, and their running heads
        name those pages: they are filled from the previous layout and the book is laid out
        again until they no longer change.  The Notes come after the body, so the pages
        before them are the same in every pass (only a change of gutter moves them).
        """
        has_book_notes = any(c.body.get("data-book-notes") for c in self.book.chapters)
        self.note_folios, self.note_heads = None, None
        html_text = self.render_html()
        geometry = self.geometry.for_pages(self.estimate_pages())
        documents: dict[float, tuple[Any, Geometry]] = {}
        self.layouts = 0
        while True:
            document = self.render_document(geometry, html_text)
            self.layouts += 1
            documents[geometry.gutter] = (document, geometry)
            pages = len(document.pages)
            need = gutter_for(pages)
            logger.debug("layout %d: %d pages with a %.3fin gutter", self.layouts, pages, geometry.gutter / 72)
            settled = need == geometry.gutter
            if has_book_notes and self.layouts < MAX_LAYOUTS + MAX_NOTE_LAYOUTS:
                folios, heads = self.note_layout_info(document, self.page_labels(document))
                if (folios, heads) != (self.note_folios, self.note_heads):
                    self.note_folios, self.note_heads = folios, heads
                    html_text = self.render_html()
                    documents.clear()
                    if not settled:
                        geometry = self.geometry.for_pages(pages)
                    continue
            if settled:
                break
            if need in documents or self.layouts >= MAX_LAYOUTS + (MAX_NOTE_LAYOUTS if has_book_notes else 0):
                # The count sits on a band boundary: keep the wider gutter, which is always safe.
                document, geometry = documents[max(documents)]
                break
            geometry = self.geometry.for_pages(pages)
        self.used_geometry = geometry
        return document

    # ---- after layout ---------------------------------------------------------------------------

    def page_labels(self, document) -> list[str]:  # type: ignore[no-untyped-def]
        """The folio of every page as printed: lower roman before the body matter, arabic from 1."""
        first_body = self.first_body_id()
        body_start = None
        for index, page in enumerate(document.pages):
            if first_body in page.anchors:
                body_start = index
                break
        labels = []
        for index in range(len(document.pages)):
            if body_start is None or index < body_start:
                labels.append(roman(index + 1).lower())
            else:
                labels.append(str(index - body_start + 1))
        return labels

    def page_map(self, document, folios: list[str] | None = None) -> dict[str, str]:  # type: ignore[no-untyped-def]
        """The printed folio of each anchored element (the page where it starts)."""
        labels: dict[str, str] = {}
        for page, label in zip(document.pages, folios or self.page_labels(document)):
            for anchor in page.anchors:
                labels.setdefault(anchor, label)
        return labels

    def check_images(self, document) -> list[tuple[Path, str, int]]:  # type: ignore[no-untyped-def]
        """Warn (chapter file, image, effective DPI) for every image printed below MIN_DPI."""
        by_uri = {img.source.resolve().as_uri(): img for img in self.book.images.values()}
        used_in: dict[str, Path] = {}
        for chapter in self.book.chapters:
            for img in chapter.body.iter("img"):
                name = img.get("data-asset")
                if name and name not in used_in:
                    used_in[name] = chapter.source
        lowest: dict[str, float] = {}
        for page in document.pages:
            for box in _descendants(page._page_box):
                element = getattr(box, "element", None)
                if element is None or getattr(box, "element_tag", None) != "img" or not hasattr(box, "replacement"):
                    continue
                image = by_uri.get(element.get("src") or "")
                if image is None or not image.width or not image.height:
                    continue
                width_in, height_in = box.width / 96, box.height / 96
                if width_in <= 0 or height_in <= 0:
                    continue
                dpi = min(image.width / width_in, image.height / height_in)
                lowest[image.name] = min(dpi, lowest.get(image.name, dpi))
        found = []
        for name, dpi in sorted(lowest.items()):
            if dpi < MIN_DPI:
                image = self.book.images[name]
                source = used_in.get(name, image.source)
                line = line_in_file(source, image.source.name)
                warn(
                    f"image '{_display(image.source, self.book.config.root)}' prints at {dpi:.0f} DPI at its placed size "
                    f"(print needs {MIN_DPI}); use a larger image or place it smaller",
                    source,
                    line,
                    code="BM506",
                )
                found.append((source, name, round(dpi)))
        return found

    # ---- writing -------------------------------------------------------------------------------

    def write_options(self) -> dict[str, Any]:
        """Options of ``write_pdf``: reproducible ids, and the PDF standard with what it needs."""
        options: dict[str, Any] = {"pdf_identifier": True}
        options.update(self.render_options())
        if self.geometry.standard == "pdf/x-4" and self._output_profile() is None:
            warn(
                "pdf.standard pdf/x-4 needs the printer's CMYK profile for its output intent: "
                "put the .icc file in the manuscript folder",
                self.book.config.path,
                code="BM105",
            )
        return options

    def build(self, outdir: Path) -> Path:
        return self.build_pdf(outdir).path

    def build_pdf(self, outdir: Path) -> PdfResult:
        """Lay out and write ``OUT/<slug>.pdf``."""
        document = self.layout()
        self.check_images(document)
        target = self.output_path(outdir)
        options = self.write_options()
        with atomic_output(target) as tmp:
            document.write_pdf(str(tmp), **options)
        folios = self.page_labels(document)
        return PdfResult(target, len(document.pages), self.page_map(document, folios), page_starts(document, folios), folios)


#: Ids that ``anchors.anchor_blocks`` gives to the blocks of chapter bodies.
_BLOCK_ID_RE = re.compile(r".+-b\d+$")
#: Line ends after which the next line continues the same word: WeasyPrint's hyphenation
#: character (U+2010), hard hyphens and dashes (a break after them adds no space).
_JOINING_ENDS = ("\u2010", "-", "\u2013", "\u2014", "/")


def page_starts(document, labels: list[str]) -> dict[str, tuple[str, int]]:  # type: ignore[no-untyped-def]
    """For every page whose first line of text continues a block from an earlier page, the
    block's id and how many of its words (whitespace-separated) were printed before.

    Text is read from WeasyPrint's laid-out boxes, leaving out margin boxes (running heads,
    folios) and footnotes, which stand outside the reading order.
    """
    from weasyprint.formatting_structure import boxes

    printed: dict[str, list[str]] = {}
    starts: dict[str, tuple[str, int]] = {}

    def lines_of(box, block: str | None, in_note: bool, in_line: bool, out: list[tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
        if isinstance(box, boxes.MarginBox):
            return
        element = getattr(box, "element", None)
        if element is not None:
            if "footnote" in (element.get("class") or "").split():
                in_note = True
            element_id = element.get("id")
            if element_id and _BLOCK_ID_RE.match(element_id):
                block = element_id
        # A ::first-line box is a line box inside the paragraph's first line box: one line.
        if isinstance(box, boxes.LineBox) and not in_line:
            if block and not in_note:
                out.append((block, ""))
            in_line = True
        if isinstance(box, boxes.TextBox):
            if block and not in_note and out:
                out[-1] = (out[-1][0], out[-1][1] + box.text)
            return
        for child in getattr(box, "children", None) or ():
            lines_of(child, block, in_note, in_line, out)

    for page, label in zip(document.pages, labels):
        lines: list[tuple[str, str]] = []
        lines_of(page._page_box, None, False, False, lines)
        lines = [(block, text) for block, text in lines if text.strip()]
        if lines:
            block = lines[0][0]
            before = printed.get(block)
            if before:
                starts[label] = (block, len(_join_lines(before).split()))
        for block, text in lines:
            printed.setdefault(block, []).append(text)
    return starts


def _join_lines(lines: list[str]) -> str:
    """Lines of one block as running text: a hyphenated word is whole again."""
    text = ""
    for line in lines:
        line = line.strip()
        if text.endswith(_JOINING_ENDS) or (text and line and is_cjk(text[-1]) and is_cjk(line[0])):
            text = text.removesuffix("\u2010") + line
        else:
            text = f"{text} {line}" if text else line
    return text


def wrap_cjk(tree: etree._Element) -> None:
    """Put runs of CJK characters in ``<span class="cjk">`` so the theme can keep them from
    stretching the line (the CJK face's ascent is taller than the Latin face's)."""

    def span(run: str) -> etree._Element:
        element = etree.Element("span", {"class": "cjk"})
        element.text = run
        return element

    wrap_runs(tree, span, "cjk")


def _descendants(box):  # type: ignore[no-untyped-def]
    stack = [box]
    while stack:
        current = stack.pop()
        yield current
        children = getattr(current, "children", None)
        if children:
            stack.extend(children)
        footnotes = getattr(current, "footnotes", None)
        if footnotes:
            stack.extend(footnotes)


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def _inner_html(tree: etree._Element) -> str:
    parts = [escape(tree.text, quote=False)] if tree.text else []
    parts += [html.tostring(child, encoding="unicode", method="html") for child in tree]
    return "".join(parts)


def format_isbn(isbn: str | None) -> str:
    """An ISBN for the copyright page (as given, validated and without hyphens by config)."""
    return isbn or ""
