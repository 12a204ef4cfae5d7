"""The print edition: one HTML document plus the print stylesheet, laid out by WeasyPrint.

The layout runs in passes (engine-notes 4 and 5): the gutter depends on the page count,
so the book is laid out, counted, and laid out again when the count calls for another
gutter.  The last layout gives the page map (id -> printed folio) that the EPUB's
page-list uses and the placed size of every image for the low-resolution check.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree, html
from markupsafe import Markup

from bookmaker import __version__, engine
from bookmaker.builders import Builder, chapter_label, inline_note_content, part_label, role_labels, roman, toc_label
from bookmaker.builders.pdfsections import BackMatter, SectionedLayout, one_document_pages
from bookmaker.builders.heads import RUNNING_HEAD_SHARE, HeadMeasure, ThemeHeads
from bookmaker.cjk import wrap_runs
from bookmaker.code import wrap_code
from bookmaker.display import balance
from bookmaker.fonts import warn_missing
from bookmaker.geometry import Geometry, gutter_for
from bookmaker.index import PageLabels, PlaceholderLabels, page_targets
from bookmaker.labels import labels_for
from bookmaker.lastline import protect_endings
from bookmaker.layoutcache import LayoutCache
from bookmaker.log import logger, warn
from bookmaker.markup import line_in_file
from bookmaker.model import Book, Chapter, Note, PrintLayout
from bookmaker.notes import note_number, notes_chapter
from bookmaker.notes import running_head as notes_running_head
from bookmaker.output import atomic_output
from bookmaker.pool import LayoutPool
from bookmaker.render import template_env
from bookmaker.resources import default_styles, style_file, styles_dir
from bookmaker.xrefs import MISSING, figure_lists

if TYPE_CHECKING:
    from concurrent.futures import Future

    from bookmaker.config import BookConfig

#: An image printing below this resolution at its placed size gets a warning.
MIN_DPI = 300
#: Kinds whose first paragraph opens with a drop cap.
DROPCAP_KINDS = ("foreword", "preface", "introduction", "prologue", "chapter", "epilogue", "afterword")
#: A drop cap needs a paragraph long enough to wrap around it (three lines and more).
DROPCAP_MIN_CHARS = 180
#: The most extra layouts spent on settling the page numbers printed in the text.
MAX_NUMBER_ROUNDS = 3
#: The most extra layouts spent on "(continued)" lines in the index.
MAX_CONTINUED_ROUNDS = 3
#: The most layouts spent on settling the gutter.
MAX_LAYOUTS = 3

_ATTRIBUTION_RE = re.compile(r"^\s*(\u2014|\u2013|\u2015|--)")
_OPENING_PUNCT = "\"'\u201c\u2018\u00ab\u201e\u201a\u2039([¿¡"


@dataclass
class PdfResult:
    """What the PDF build produced."""

    path: Path
    #: Folios, page map and page starts: what the EPUB and the back matter read.
    layout: PrintLayout
    #: The merge still running in a worker and the open output it writes (``build_pdf(background=True)``).
    pending: tuple[Future[None], contextlib.ExitStack] | None = None

    @property
    def pages(self) -> int:
        return self.layout.page_count

    def finish(self) -> None:
        """Wait until the PDF is written and in place at ``path`` (at once if it already is)."""
        if self.pending is None:
            return
        merging, output = self.pending
        self.pending = None
        try:
            merging.result()
        except BaseException as error:
            output.__exit__(type(error), error, error.__traceback__)  # the half-written file goes
            raise
        output.close()

    def abandon(self, error: BaseException) -> None:
        """The build failed elsewhere: drop the PDF the merge is writing."""
        if self.pending is None:
            return
        merging, output = self.pending
        self.pending = None
        merging.cancel()
        output.__exit__(type(error), error, error.__traceback__)




def print_theme(config: BookConfig) -> engine.Theme:
    """What the print layout reads its theme with (``pool.offer_theme`` has the fork server
    parse it early)."""
    theme = styles_dir(config)
    return engine.Theme((config.root, theme, default_styles()), tuple(config.network.allow),
                        (style_file(config, "print.css"),), theme, (config.language,))


class PdfBuilder(Builder):
    """Render the book as one HTML document and write it with WeasyPrint."""

    name = "pdf"
    suffix = "pdf"

    def __init__(self, book: Book, cache: Path | None = None, workers: int | None = None,
                 back_matter: list[BackMatter] | None = None, pool: LayoutPool | None = None) -> None:
        super().__init__(book)
        #: The layout cache's folder (None: a private one, removed after the build).
        self.cache = cache
        #: Worker processes for the layout (None: one per core, LayoutPool).
        self.workers = workers
        #: Worker processes shared with the caller (a watch session); None: the build's own.
        self.pool = pool
        #: Generated back matter, laid out after the body from its layout (``pdfsections.BackMatter``).
        self.back_matter = list(back_matter or [])
        # Validate pdf: in book.yaml before any work (ConfigError names the key).
        self.geometry = Geometry.from_config(book.config)
        # --figure-max-height (geometry.css): an image never needs more of the page than a figure may take.
        self.image_max_height = self.geometry.text_height * 0.72 * 96 / 72
        self.theme = styles_dir(book.config)
        self.env = template_env(self.theme)
        self.labels = labels_for(book.config)
        self.env.globals.update(roman=roman, label=self.labels, balance=self.balance)
        self.measure = HeadMeasure()
        heads = ThemeHeads(style_file(book.config, "print.css"))
        #: How the verso (author) and recto (chapter) heads are set, as the theme's CSS says.
        self.head_styles = {"left": heads.style("left"), "right": heads.style("right")}
        #: The geometry of the last layout (page count and gutter).
        self.used_geometry: Geometry | None = None
        #: Sections found in and missing from the layout cache in the last build.
        self.cache_hits = self.cache_misses = 0
        #: How many layouts the last build took.
        self.layouts = 0
        #: The layout whose page numbers the text prints (index, cross-references); None at first.
        self.numbers_from: PrintLayout | None = None
        #: Index entries printed at the top of a column under a main entry begun before.
        self.continued: frozenset[str] = frozenset()

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
        # The folio from the previous layout (settle_numbers); before the first one, a stand-in.
        span = etree.Element("b", {"class": "note-page"})
        span.text = self.page_label(anchor) or ""
        return span

    # ---- HTML ----------------------------------------------------------------------------------

    def balance(self, text: str | None, kind: str) -> Markup:
        """Display ``text`` in balanced lines across the text block (bookmaker.display)."""
        return balance(text, kind, self.geometry.text_width, default_styles() / "fonts")

    def running_head(self, chapter: Chapter) -> str:
        """The recto head of a chapter: its ``running_head`` or title, on one line."""
        # HTML white space only: a French title keeps its no-break space before "?".
        text = " ".join(re.split(r"[ \t\r\n]+", (chapter.running_head or chapter.title).strip()))
        limit = self.geometry.text_width * RUNNING_HEAD_SHARE
        return self.measure.fit(text, limit, self.head_styles["right"])

    def running_author(self) -> str:
        """The verso head: the authors (role author), else the book title, on one line."""
        config = self.book.config
        names = [c.name for c in config.creators]
        text = self.labels.join_names(names) or config.title
        limit = self.geometry.text_width * RUNNING_HEAD_SHARE
        # Small caps are narrower than capitals: HeadStyle measures capitals, which errs on the safe side.
        return self.measure.fit(text, limit, self.head_styles["left"])

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
            label, title = part_label(chapter, self.labels)
            return label, title, chapter.title
        label = chapter_label(chapter, self.labels)
        if chapter.kind == "chapter" and label:
            # The outline reads like the nav: "3. Title" (bookmark-label from data-bookmark).
            return label, chapter.title, toc_label(chapter, self.labels)
        return None, chapter.title, None

    def toc_entries(self, pages: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """The printed contents: every section except the display pages (dedication, epigraph).

        ``pages`` gives literal folios (from the body's layout) for entries laid out apart from
        the contents; the others keep the theme's ``target-counter()``.
        """
        pages = pages or {}

        def entry(chapter: Chapter) -> dict[str, Any]:
            label: str | None = None
            title: str | None = chapter.title
            if chapter.kind == "part":
                label, title = part_label(chapter, self.labels)
            elif chapter.number_label and self.book.config.numbering != "words":
                label = chapter.number_label  # 3, IV: in the number column
            elif chapter.number_label:
                title = toc_label(chapter, self.labels)  # "Three: Title": words do not fit the column
            return {"id": chapter.id, "kind": chapter.kind, "matter": chapter.matter, "label": label,
                    "title": title, "children": [], "page": pages.get(chapter.id)}

        entries: list[dict[str, Any]] = []
        for item in self.book.toc:
            if item.chapter.kind in ("dedication", "epigraph"):
                continue
            top = entry(item.chapter)
            top["children"] = [entry(child.chapter) for child in item.children
                               if child.chapter.kind not in ("dedication", "epigraph")]
            entries.append(top)
        return entries

    def render_sections(self) -> tuple[list[str], list[tuple[str, str]]]:
        """The book's sections as HTML fragments in print order: (those that open the book and
        precede the contents, [(first id, fragment)] of the others)."""
        book, config = self.book, self.book.config
        chapter_tpl = self.env.get_template("chapter.html.j2")
        before_toc: list[str] = []
        after_toc: list[tuple[str, str]] = []
        first_body_id = self.first_body_id()
        opening = book.opening
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
                notes_title=self.labels("notes"),
                first_body=first_body,
                page="notes" if chapter.body.get("data-book-notes") else self.page_name(chapter, first_body),
                label=label,
                title=title,
                bookmark=bookmark,
            )
            # The reading order is the author's; only the display pages that open the book precede the contents.
            if chapter in opening:
                before_toc.append(rendered)
            else:
                after_toc.append((chapter.id, rendered))
        return before_toc, after_toc

    def wrap_html(self, before_toc: list[str], sections: list[str], front: bool,
                  pages: dict[str, str] | None = None) -> str:
        """A whole HTML document: the front matter (half-title to contents) if ``front``, then ``sections``."""
        book, config = self.book, self.book.config
        year = (config.date or book.build_date.date().isoformat())[:4]
        return self.env.get_template("book.html.j2").render(
            config=config,
            front=front,
            toc=self.toc_entries(pages) if front else [],
            before_toc=before_toc,
            after_toc=sections,
            version=__version__,
            created=book.build_date.strftime("%Y-%m-%dT%H:%M:%SZ"),
            year=year,
            role_labels=role_labels(self.labels),
            isbn_display=format_isbn(config.isbn),
            byline=None,
            running_author=self.running_author(),
            page_ids=self.page_ids,
            lists=figure_lists(book) if front else [],
            pages=pages or {},
        )

    def render_html(self) -> str:
        """The whole book as one HTML string."""
        before_toc, sections = self.render_sections()
        return self.wrap_html(before_toc, [html_text for _id, html_text in sections], front=True)

    def _typeset_body(self, chapter: Chapter, body: etree._Element) -> None:
        """Print-only touches: the opening paragraph (drop cap), attributions in quotations."""
        wrap_cjk(body)
        wrap_code(body, self.geometry.text_width, default_styles() / "fonts")
        protect_endings(body)
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
            result.append((note_number(note), note.id, f"#{note.ref_id}", content))
        return result

    def _notes_heads(self, body: etree._Element) -> None:
        """Give each book-end note the running head of the page it began on in the last layout
        ("Notes to pages 45–52", CMOS 14.42); the first note of a page sets the page's head."""
        page_map = self.numbers_from.page_map if self.numbers_from is not None else {}
        items = [li for li in body.iter("li") if li.get("data-anchor")]
        on_page: dict[str, list[str]] = {}
        for li in items:
            on_page.setdefault(page_map.get(li.get("id") or "", ""), []).append(page_map.get(li.get("data-anchor") or "", ""))
        for li in body.iter("li"):
            folios = on_page.get(page_map.get(li.get("id") or "", ""), []) if li.get("data-anchor") else []
            li.set("data-head", notes_running_head(folios, self.labels) if page_map else self.labels("notes"))

    def note_targets(self) -> set[str]:
        """The ids whose pages the Notes print or name in their running heads."""
        holder = notes_chapter(self.book)
        if holder is None:
            return set()
        return {value for li in holder.body.iter("li") for value in (li.get("id"), li.get("data-anchor")) if value}

    # ---- layout ------------------------------------------------------------------------------

    def stylesheet_paths(self) -> list[Path]:
        return list(print_theme(self.book.config).files)

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
        return list(print_theme(self.book.config).roots)

    def render_document(self, geometry: Geometry | None = None, html_text: str | None = None):  # type: ignore[no-untyped-def]
        """Lay the book out once with ``geometry``; returns the engine's laid-out document."""
        geometry = geometry or self.geometry
        config = self.book.config
        styles = engine.Styles(tuple(self.stylesheet_paths()), self.extra_css(geometry), self.theme)
        layout_engine = engine.LayoutEngine(self._fetcher_roots(), config.network.allow, config.root)
        text = html_text if html_text is not None else self.render_html()
        return layout_engine.render(text, styles, self.render_options())

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
        """Lay the book out until the gutter suits the page count (two passes at most, usually)."""
        html_text = self.render_html()
        geometry = self.geometry.for_pages(self.estimate_pages())
        documents: dict[float, tuple[Any, Geometry]] = {}
        self.layouts = 0
        while True:
            document = self.render_document(geometry, html_text)
            self.layouts += 1
            documents[geometry.gutter] = (document, geometry)
            pages = engine.page_count(document)
            need = gutter_for(pages)
            logger.debug("layout %d: %d pages with a %.3fin gutter", self.layouts, pages, geometry.gutter / 72)
            if need == geometry.gutter:
                break
            if need in documents or self.layouts >= MAX_LAYOUTS:
                # The count sits on a band boundary: keep the wider gutter, which is always safe.
                document, geometry = documents[max(documents)]
                break
            geometry = self.geometry.for_pages(pages)
        self.used_geometry = geometry
        return document

    # ---- after layout ---------------------------------------------------------------------------

    def print_layout(self, document) -> PrintLayout:  # type: ignore[no-untyped-def]
        """Folios, page map and page starts of a laid-out book."""
        folios = engine.folios(document, self.first_body_id())
        return PrintLayout(tuple(folios), engine.page_map(document, folios), engine.page_starts(document, folios))

    def check_images(self, document) -> list[tuple[Path, str, int]]:  # type: ignore[no-untyped-def]
        """Warn (chapter file, image, effective DPI) for every image printed below MIN_DPI."""
        sizes = {img.source.resolve().as_uri(): (img.width, img.height) for img in self.book.images.values()}
        return self.warn_low_resolution(engine.image_resolutions(document, sizes))

    def warn_low_resolution(self, by_uri_dpi: dict[str, float]) -> list[tuple[Path, str, int]]:
        """Warn for every image printed below MIN_DPI, from the lowest DPI of each image URI."""
        by_uri = {img.source.resolve().as_uri(): img for img in self.book.images.values()}
        used_in: dict[str, Path] = {}
        for chapter in self.book.chapters:
            for img in chapter.body.iter("img"):
                name = img.get("data-asset")
                if name and name not in used_in:
                    used_in[name] = chapter.source
        lowest = {by_uri[uri].name: dpi for uri, dpi in by_uri_dpi.items() if uri in by_uri}
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

    def sectioned(self) -> bool:
        """Whether the book is laid out section by section (cached, in parallel).

        The PDF standards stay with one document: PDF/UA's structure tree, PDF/A's XMP and
        PDF/X's output intent are written by WeasyPrint for one document and a merge of
        several would have to rebuild them.  So does a theme whose @page rules would mean
        something else in a section's document (``one_document_pages``).
        """
        if self.geometry.standard:
            return False
        why = one_document_pages(self.stylesheet_paths())
        if why is not None:
            logger.info("laying the book out as one document: %s", why)
        return why is None

    # ---- page numbers in the text (index locators, "see page 45") -------------------------

    def page_label(self, target: str) -> str | None:
        # The first layout prints a stand-in; later ones the folio the previous layout gave.
        if self.numbers_from is None:
            return "00"
        return self.numbers_from.page_map.get(target, MISSING)

    def index_labels(self) -> PageLabels | PlaceholderLabels:
        if self.numbers_from is None:
            return PlaceholderLabels()
        return PageLabels(self.numbers_from.page_map.get, list(self.numbers_from.folios))

    def settle_numbers(self, document):  # type: ignore[no-untyped-def]
        """Lay out again with the page numbers of the last layout written in, until they stay put.

        The literal numbers (never one target-counter per locator, engine-notes 4) can move
        text themselves, so the ids they name are compared after each layout; two rounds
        suffice in practice.  The index is laid out with the book, after the body, so it
        cannot move the pages before it (except through the gutter, which the page count sets).
        """
        # Keyed notes print the page of their key phrase; the Notes' running heads name pages too.
        targets = page_targets(self.book) | self.note_targets()
        if not targets:
            return document
        for rounds in range(1, MAX_NUMBER_ROUNDS + 1):
            layout = self.print_layout(document)
            pages = {t: layout.page_map.get(t) for t in targets}
            if self.numbers_from is not None and pages == {t: self.numbers_from.page_map.get(t) for t in targets}:
                logger.info("Page numbers of %d index markers and cross-references stable after %d layouts",
                            len(targets), rounds)
                return self.settle_continued(document)
            self.numbers_from = layout
            document = self.layout()
        logger.warning("page numbers in the text still moved after %d layouts; the last ones are printed", rounds + 1)
        return document

    def settle_continued(self, document):  # type: ignore[no-untyped-def]
        """Add "Xiaomi (continued)" where sub-entries open a column or page, and lay out again.

        The index comes last, so the lines it gains move nothing before it; each added line
        can move later column breaks, hence a second look (at most MAX_CONTINUED_ROUNDS).
        """
        if not any(c.kind == "index" for c in self.book.chapters):
            return document
        for _ in range(MAX_CONTINUED_ROUNDS):
            # A line before an entry pushes the text after it down, so the entries that open
            # columns are found afresh in each layout until they are the ones already marked.
            tops = frozenset(engine.column_tops(document, "index-entries", "index-entry", "index-continued"))
            if tops == self.continued:
                break
            self.continued = tops
            document = self.layout()
        logger.debug("index: %d continued lines", len(self.continued))
        return document

    def index_continued(self) -> frozenset[str]:
        return self.continued

    def build_pdf(self, outdir: Path, background: bool = False) -> PdfResult:
        """Lay out and write ``OUT/<slug>.pdf``.

        With ``background`` and the caller's pool, the sections are merged into the PDF by a
        worker while the caller writes the other formats: ``PdfResult.finish`` waits for it.
        """
        warn_missing(self.book, [self.theme / "fonts", default_styles() / "fonts"])
        engine.warn_slow_subsetter()
        target = self.output_path(outdir)
        if self.sectioned():
            cache: LayoutCache | None = LayoutCache(self.cache)
            pool = self.pool or LayoutPool(self.workers)
            try:
                sections = SectionedLayout(self, cache, pool, self.back_matter)
                pending = None
                with contextlib.ExitStack() as output:
                    tmp = output.enter_context(atomic_output(target))
                    # Only the caller's pool outlives this call, as a merge in the background needs.
                    layout, merging = sections.build(tmp, background and pool is self.pool)
                    if merging is not None:
                        # Left open for the merge, with the cache whose files it reads (a private
                        # cache is removed by close): PdfResult.finish closes both.
                        output.callback(cache.close)
                        pending = (merging, output.pop_all())
                self.layouts = sections.layouts
                self.cache_hits, self.cache_misses = cache.hits, cache.misses
                self.warn_low_resolution(sections.lowest_dpi)
                if pending is not None:
                    cache = None
                return PdfResult(target, layout, pending)
            except engine.Unsupported as why:
                logger.info("laying the book out as one document: %s", why)
            finally:
                if cache is not None:
                    cache.close()
                if pool is not self.pool:
                    pool.close()
        self.numbers_from, self.continued = None, frozenset()
        document = self.settle_numbers(self.layout())
        self.check_images(document)
        options = self.write_options()
        with atomic_output(target) as tmp:
            engine.write_pdf(document, tmp, options)
        return PdfResult(target, self.print_layout(document))


def wrap_cjk(tree: etree._Element) -> None:
    """Put runs of CJK characters in ``<span class="cjk">`` so the theme can keep them from
    stretching the line (the CJK face's ascent is taller than the Latin face's)."""

    def span(run: str) -> etree._Element:
        element = etree.Element("span", {"class": "cjk"})
        element.text = run
        return element

    wrap_runs(tree, span, "cjk")


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
