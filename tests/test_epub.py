"""The EPUB: package metadata, navigation, print page list, cover, fonts, reproducibility, validators."""

from __future__ import annotations

import json
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from bookgen import draw_figure, generate_book
from bookmaker.cjk import is_cjk
from conftest import REPO, epubcheck_messages, run_cli, save_artifact

NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
}
EPOCH = "1780000000"
ISBN = "9780306406157"
ACE = REPO / "node_modules" / ".bin" / "ace-puppeteer"
CHROMIUM = Path("/usr/bin/chromium")


class Epub:
    """An unpacked view of an EPUB file for XPath checks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip = zipfile.ZipFile(path)
        self.opf = self.xml("EPUB/content.opf")
        self.nav = self.xml("EPUB/nav.xhtml")
        self.ncx = self.xml("EPUB/toc.ncx")

    def xml(self, name: str) -> etree._Element:
        return etree.fromstring(self.zip.read(name))

    def metas(self, prop: str) -> list[str]:
        return self.opf.xpath(f'//opf:meta[@property="{prop}"]/text()', namespaces=NS)

    def spine_hrefs(self) -> list[str]:
        hrefs = {i.get("id"): i.get("href") for i in self.opf.xpath("//opf:manifest/opf:item", namespaces=NS)}
        return [hrefs[r] for r in self.opf.xpath("//opf:spine/opf:itemref/@idref", namespaces=NS)]

    def page_list(self) -> list[tuple[str, str]]:
        return [(a.text, a.get("href")) for a in self.nav.xpath('//x:nav[@epub:type="page-list"]//x:a', namespaces=NS)]

    def markers(self) -> list[tuple[str, str, etree._Element]]:
        """(folio, document, span) of every pagebreak span, in spine order."""
        found = []
        for href in self.spine_hrefs():
            doc = self.xml(f"EPUB/{href}")
            for span in doc.xpath('//x:span[@epub:type="pagebreak"]', namespaces=NS):
                found.append((span.get("aria-label"), href, span))
        return found


def build_in_process(manuscript: Path, out: Path, formats: tuple[str, ...] = ("pdf", "epub")):  # type: ignore[no-untyped-def]
    """pipeline.build() step by step, keeping the Book so tests can compare with its page map."""
    from bookmaker.builders.epub import EpubBuilder
    from bookmaker.builders.pdf import PdfBuilder
    from bookmaker.output import prepare_outdir
    from bookmaker.pipeline import read_book

    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        book = read_book(manuscript)
    finally:
        if old is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old
    prepare_outdir(out)
    pdf = None
    if "pdf" in formats:
        pdf = PdfBuilder(book).build_pdf(out)
        book.print_layout = pdf.layout
    epub = EpubBuilder(book).build(out)
    return book, pdf, epub


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A book with parts, figures, a table, notes, Chinese text and no cover, built in both formats."""
    root = tmp_path_factory.mktemp("gen")
    manuscript = generate_book(root / "manuscript", chapters=6, paragraphs=7, parts=2, title="小米 A Generated Life",
                               extra_yaml=f"isbn: {ISBN}\n")
    book, pdf, epub_path = build_in_process(manuscript, root / "out")
    save_artifact("generated.epub", epub_path)
    return manuscript, book, pdf, Epub(epub_path)


@pytest.fixture(scope="module")
def demo(demo_build: Path) -> Epub:
    return Epub(next(demo_build.glob("*.epub")))


# -- validity -------------------------------------------------------------------------------------
def test_epubcheck_generated_book_is_clean(generated) -> None:  # type: ignore[no-untyped-def]
    # The demo book's EPUB is checked in test_build.py.
    assert epubcheck_messages(generated[3].path) == []


# -- package metadata -----------------------------------------------------------------------------
def test_opf_accessibility_metadata(generated) -> None:  # type: ignore[no-untyped-def]
    epub = generated[3]
    assert epub.opf.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert epub.metas("schema:accessMode") == ["textual", "visual"]
    assert epub.metas("schema:accessModeSufficient") == ["textual"]
    assert epub.metas("schema:accessibilityFeature") == [
        "structuralNavigation", "tableOfContents", "readingOrder", "alternativeText", "pageNavigation", "printPageNumbers"
    ]
    assert epub.metas("schema:accessibilityHazard") == ["none"]
    assert "print edition" in epub.metas("schema:accessibilitySummary")[0]
    assert epub.metas("dcterms:conformsTo") == ["EPUB Accessibility 1.1 - WCAG 2.2 Level AA"]
    assert epub.metas("pageBreakSource") == [f"urn:isbn:{ISBN}"]
    for name in epub.zip.namelist():
        if name.endswith(".xhtml"):
            root = epub.xml(name)
            assert root.get("lang") == "en" and root.get("{http://www.w3.org/XML/1998/namespace}lang") == "en", name


def test_page_break_source_without_isbn_describes_the_print_edition(demo: Epub) -> None:
    assert demo.metas("pageBreakSource") == ["the print edition typeset by bookmaker from the same sources"]
    assert "printPageNumbers" in demo.metas("schema:accessibilityFeature") and len(demo.page_list()) > 20


def test_opf_manifest_and_spine(generated) -> None:  # type: ignore[no-untyped-def]
    _, book, _, epub = generated
    props = {i.get("href"): (i.get("properties"), i.get("media-type")) for i in epub.opf.xpath("//opf:item", namespaces=NS)}
    assert props["cover.jpg"] == ("cover-image", "image/jpeg")
    assert props["nav.xhtml"][0] == "nav"
    assert props["fonts/NotoSerifSC-Regular-subset.otf"] == (None, "font/otf")
    spine = epub.spine_hrefs()
    chapters = [f"text/{c.id}.xhtml" for c in book.chapters]
    assert spine[:4] == ["pages/cover.xhtml", "pages/titlepage.xhtml", "pages/copyright.xhtml", chapters[0]]
    assert spine[4] == "nav.xhtml" and spine[5:] == chapters[1:]
    assert epub.opf.xpath("//opf:itemref[@linear='no']", namespaces=NS) == []


def test_semantics_of_every_chapter(generated) -> None:  # type: ignore[no-untyped-def]
    _, book, _, epub = generated
    expected = {"dedication": "doc-dedication", "preface": "doc-preface", "part": "doc-part",
                "chapter": "doc-chapter", "acknowledgments": "doc-acknowledgments"}
    for chapter in book.chapters:
        section = epub.xml(f"EPUB/text/{chapter.id}.xhtml").xpath(f'//x:section[@id="{chapter.id}"]', namespaces=NS)[0]
        assert section.get(f"{{{NS['epub']}}}type") == chapter.kind
        assert section.get("role") == expected[chapter.kind]
    first_chapter = next(c for c in book.chapters if c.kind == "chapter")
    first = epub.xml(f"EPUB/text/{first_chapter.id}.xhtml")
    assert first.xpath('//x:a[@epub:type="noteref" and @role="doc-noteref"]', namespaces=NS)
    asides = first.xpath('//x:aside[@epub:type="footnote" and @role="doc-footnote"]', namespaces=NS)
    assert asides and "".join(asides[0].itertext()).strip().endswith("\u21a9\ufe0e")
    assert epub.xml("EPUB/pages/titlepage.xhtml").xpath('//x:section[@epub:type="titlepage"]', namespaces=NS)
    assert epub.xml("EPUB/pages/copyright.xhtml").xpath('//x:section[@epub:type="copyright-page"]', namespaces=NS)
    assert epub.nav.xpath('//x:nav[@epub:type="toc" and @role="doc-toc"]', namespaces=NS)


# -- navigation -----------------------------------------------------------------------------------
def test_nav_toc_nests_chapters_in_parts_and_ncx_mirrors_it(generated) -> None:  # type: ignore[no-untyped-def]
    _, book, _, epub = generated
    toc = epub.nav.xpath('//x:nav[@epub:type="toc"]/x:ol', namespaces=NS)[0]

    def tree(ol: etree._Element) -> list:  # type: ignore[type-arg]
        return [(li.find("x:a", NS).get("href"), tree(li.find("x:ol", NS)) if li.find("x:ol", NS) is not None else [])
                for li in ol.findall("x:li", NS)]

    def ncx_tree(parent: etree._Element) -> list:  # type: ignore[type-arg]
        return [(p.find("ncx:content", NS).get("src"), ncx_tree(p)) for p in parent.findall("ncx:navPoint", NS)]

    nav_tree = tree(toc)
    parts = [c for c in book.chapters if c.kind == "part"]
    assert len(parts) == 2
    for part in parts:
        entry = next(children for href, children in nav_tree if href == f"text/{part.id}.xhtml")
        assert [href for href, _ in entry] == [f"text/{c.id}.xhtml" for c in book.chapters if c.part == part.id]
        assert len(entry) == 3
    assert nav_tree == ncx_tree(epub.ncx.find("ncx:navMap", NS))
    orders = [int(n) for n in epub.ncx.xpath("//ncx:navPoint/@playOrder | //ncx:pageTarget/@playOrder", namespaces=NS)]
    assert sorted(orders) == list(range(1, len(orders) + 1))


def test_nav_landmarks(generated) -> None:  # type: ignore[no-untyped-def]
    _, book, _, epub = generated
    landmarks = {a.get(f"{{{NS['epub']}}}type"): a.get("href")
                 for a in epub.nav.xpath('//x:nav[@epub:type="landmarks"]//x:a', namespaces=NS)}
    first_body = next(c for c in book.chapters if c.matter == "body")
    assert landmarks == {
        "cover": "pages/cover.xhtml",
        "toc": "nav.xhtml#toc",
        "bodymatter": f"text/{first_body.id}.xhtml",
        "acknowledgments": "text/acknowledgments.xhtml",
    }


def test_page_list_points_at_pagebreaks_in_order_and_ncx_mirrors_it(generated) -> None:  # type: ignore[no-untyped-def]
    _, _, pdf, epub = generated
    pages = epub.page_list()
    markers = epub.markers()
    assert [(label, f"{href}#page-{label}") for label, href, _ in markers] == pages
    assert epub.nav.xpath('//x:nav[@epub:type="page-list"]/@role', namespaces=NS) == ["doc-pagelist"]
    for label, _, span in markers:
        assert span.get("id") == f"page-{label}" and span.get("role") == "doc-pagebreak"
        assert span.text is None and len(span) == 0
    labels = [label for label, _ in pages]
    assert len(labels) == len(set(labels))
    # Every printed page up to the last one on which something starts, roman then arabic.
    arabic = [label for label in labels if label.isdigit()]
    assert arabic == [str(n) for n in range(1, len(arabic) + 1)]
    assert labels[: len(labels) - len(arabic)][:3] == ["i", "ii", "iii"]
    # Every page is listed but the blank ones after the last text (at most a verso and the back).
    assert pdf.pages - 2 <= len(labels) <= pdf.pages
    targets = epub.ncx.xpath("//ncx:pageList/ncx:pageTarget", namespaces=NS)
    assert [(t.findtext("ncx:navLabel/ncx:text", namespaces=NS), t.find("ncx:content", NS).get("src")) for t in targets] == pages
    assert {t.get("type") for t in targets} == {"front", "normal"}


def test_pagebreaks_stand_before_the_first_element_of_their_print_page(generated) -> None:  # type: ignore[no-untyped-def]
    _, book, _, epub = generated

    def anchor_of(el: etree._Element) -> str | None:
        # The ebook's generated pages stand for the print edition's: its nav for the printed contents.
        return {"toc": "contents"}.get(el.get("id"), el.get("id"))

    checked = 0
    for label, _, span in epub.markers():
        if label in book.print_layout.page_starts:
            # A page that begins inside a block is marked at its first word, inside that block.
            assert span.getparent().get("id") == book.print_layout.page_starts[label][0] or any(
                a.get("id") == book.print_layout.page_starts[label][0] for a in span.iterancestors()), label
            checked += 1
            continue
        following = span.getnext()
        while following is not None and following.get(f"{{{NS['epub']}}}type") == "pagebreak":
            following = following.getnext()
        if following is None or anchor_of(following) not in book.print_layout.page_map:
            following = span.getparent()  # a marker inside an item, caption or section start
            if following.tag in (f"{{{NS['x']}}}td", f"{{{NS['x']}}}th"):
                following = following.getparent()
        anchor = anchor_of(following)
        assert anchor in book.print_layout.page_map, (label, etree.tostring(following)[:300])
        element_label = book.print_layout.page_map[anchor]
        if span.getnext() is not None and span.getnext().get(f"{{{NS['epub']}}}type") == "pagebreak":
            continue  # a page on which nothing starts, marked with the next page
        assert element_label == label, following.get("id")
        checked += 1
    assert checked >= len(epub.markers()) * 0.6


def test_pages_that_begin_inside_a_paragraph_are_marked_at_their_first_word(generated) -> None:  # type: ignore[no-untyped-def]
    """The words after each such marker open the body text of the PDF page that prints its folio."""
    import pymupdf

    _, book, pdf, epub = generated
    assert book.print_layout.page_starts, "the generated book has pages that begin inside a paragraph"
    with pymupdf.open(pdf.path) as doc:
        pages = []
        for page in doc:
            height = page.rect.height
            words = page.get_text("words")
            margin = {w[4] for w in words if w[1] > height - 70 or w[3] < 70}
            # The running head (a few words) comes first, then the first line of the body.
            pages.append((margin, re.sub(r"\s+", " ", page.get_text())[:200]))
    compared = 0
    for label, _, span in epub.markers():
        if label not in book.print_layout.page_starts:
            continue
        after = "".join(span.xpath("following::text()")[:6])
        words = re.findall(r"\w+", after)[:3]
        pattern = r"\W+".join(map(re.escape, words))
        matches = [i for i, (_, body) in enumerate(pages) if re.search(pattern, body)]
        assert len(words) == 3 and matches, (label, words)
        assert any(label in pages[i][0] for i in matches), (label, words, [pages[i][0] for i in matches])
        compared += 1
    assert compared == len(book.print_layout.page_starts) >= 3


def test_page_list_numbers_equal_the_printed_folios(generated) -> None:  # type: ignore[no-untyped-def]
    """Read the folio printed on the PDF page where each marked element lands (PyMuPDF)."""
    import pymupdf

    _, book, pdf, epub = generated
    with pymupdf.open(pdf.path) as doc:
        destinations = doc.resolve_names()
        folios = []
        for page in doc:
            height = page.rect.height
            margin = [w[4] for w in page.get_text("words") if w[1] > height - 70 or w[3] < 70]
            folios.append([w for w in margin if re.fullmatch(r"\d+|[ivxlc]+", w)])
    compared = 0
    for label, _, span in epub.markers():
        following = span.getnext()
        if following is None or following.get("id") not in destinations:
            continue
        printed = folios[destinations[following.get("id")]["page"]]
        if printed and following.get(f"{{{NS['epub']}}}type") != "pagebreak":
            # The margins may hold other numbers (a running head "Chapter 1"), so membership.
            assert label in printed, (label, following.get("id"), printed)
            compared += 1
    # Markers inside paragraphs are checked against the folio in the test above.
    assert compared >= 3


def test_epub_only_build_author_cover_image_without_alt_and_body_face(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """No page list without a layout of this run; the author's cover; no a11y claims that do not hold."""
    manuscript = generate_book(tmp_path / "m", chapters=2, paragraphs=3, parts=0, figures=False,
                               extra_yaml="cover: art/front.png\nepub:\n  embed_fonts: true\n")
    draw_figure(manuscript / "art" / "front.png", 1600, 2560)
    draw_figure(manuscript / "images" / "plain.png", 400, 200)
    (manuscript / "950-appendix.md").write_text("---\nkind: appendix\ntitle: Plates\n---\n\n![](images/plain.png)\n")
    # File names that match the generated pages' names.
    (manuscript / "960-copyright.md").write_text("---\nkind: colophon\ntitle: Copyright and Type\n---\n\nSet in EB Garamond.\n")
    with caplog.at_level("WARNING", logger="bookmaker"):
        _, _, path = build_in_process(manuscript, tmp_path / "out", formats=("epub",))
    assert any("plain.png" in r.getMessage() and "alt text" in r.getMessage() for r in caplog.records)
    epub = Epub(path)
    assert epub.page_list() == [] and epub.markers() == []
    assert epub.ncx.find("ncx:pageList", NS) is None
    assert epub.metas("schema:accessibilityFeature") == ["structuralNavigation", "tableOfContents", "readingOrder"]
    assert epub.metas("pageBreakSource") == [] and epub.metas("dcterms:conformsTo") == []
    assert epub.metas("schema:accessModeSufficient") == ["textual,visual"]
    cover = epub.opf.xpath('//opf:item[@properties="cover-image"]', namespaces=NS)[0]
    assert (cover.get("href"), cover.get("media-type")) == ("cover.png", "image/png")
    assert epub.zip.read("EPUB/cover.png") == (manuscript / "art" / "front.png").read_bytes()
    assert {"EPUB/text/copyright.xhtml", "EPUB/pages/copyright.xhtml"} <= set(epub.zip.namelist())
    fonts = sorted(n for n in epub.zip.namelist() if n.startswith("EPUB/fonts/"))
    assert fonts == [
        "EPUB/fonts/EBGaramond-Bold-subset.ttf", "EPUB/fonts/EBGaramond-BoldItalic-subset.ttf",
        "EPUB/fonts/EBGaramond-Italic-subset.otf", "EPUB/fonts/EBGaramond-Regular-subset.otf",
        "EPUB/fonts/NotoSerifSC-Regular-subset.otf",
    ]
    assert 'body { font-family: "bookmaker Serif", "bookmaker CJK", serif; }' in epub.zip.read("EPUB/css/fonts.css").decode()
    assert epubcheck_messages(path) == []


# -- cover and fonts ------------------------------------------------------------------------------
def test_generated_cover_is_a_large_jpeg_on_a_linear_page(generated) -> None:  # type: ignore[no-untyped-def]
    import io

    from PIL import Image

    epub = generated[3]
    image = Image.open(io.BytesIO(epub.zip.read("EPUB/cover.jpg")))
    assert image.format == "JPEG" and image.size[0] >= 1600 and image.size[1] >= 2560
    # Not a blank rectangle: the title is drawn in a light ink on the dark ground.
    assert len(image.convert("L").resize((64, 100)).getcolors(256) or []) > 10
    img = epub.xml("EPUB/pages/cover.xhtml").xpath("//x:img", namespaces=NS)[0]
    assert img.get("src") == "../cover.jpg" and img.get("role") == "doc-cover"
    assert img.get("alt").startswith("Cover: 小米 A Generated Life, A Test Biography, by Test Author")


def test_cjk_subset_holds_only_the_characters_used(generated) -> None:  # type: ignore[no-untyped-def]
    import io

    from fontTools.ttLib import TTFont

    epub = generated[3]
    data = epub.zip.read("EPUB/fonts/NotoSerifSC-Regular-subset.otf")
    text = "".join(
        "".join(epub.xml(n).itertext()) for n in epub.zip.namelist() if n.endswith(".xhtml")
    )
    used = {ord(ch) for ch in text if is_cjk(ch)}
    cmap = set(TTFont(io.BytesIO(data)).getBestCmap())
    assert used and cmap == used
    assert len(data) < 60_000
    chapter = epub.xml("EPUB/text/chapter-1.xhtml")
    runs = chapter.xpath('//x:span[@class="cjk"]', namespaces=NS)
    assert runs and all(r.get("lang") == "zh" and all(is_cjk(ch) for ch in r.text) for r in runs)
    css = epub.zip.read("EPUB/css/fonts.css").decode()
    assert '@font-face { font-family: "bookmaker CJK"; src: url("../fonts/NotoSerifSC-Regular-subset.otf"); }' in css
    assert 'body { font-family: serif, "bookmaker CJK"; }' in css
    head = epub.xml("EPUB/pages/titlepage.xhtml").xpath("//x:link/@href", namespaces=NS)
    assert head == ["../css/fonts.css", "../css/epub.css"]


def test_mupdf_shows_the_cover_no_empty_pages_and_chinese_in_the_embedded_face(generated) -> None:  # type: ignore[no-untyped-def]
    """MuPDF, a real reading engine, lays the reflowable book out (PyMuPDF opens EPUB)."""
    import pymupdf

    with pymupdf.open(generated[3].path) as doc:
        cover = doc[0].get_image_info()
        assert cover and cover[0]["width"] == 1600
        x0, y0, x1, y1 = cover[0]["bbox"]
        assert (y1 - y0) > doc[0].rect.height * 0.8, "the cover image is drawn at full page height"
        empty = [i for i, page in enumerate(doc) if i and not page.get_text().strip() and not page.get_image_info()]
        assert empty == [], "a page with nothing on it (a page-break-before on a heading does that)"
        fonts = {
            span["font"]
            for page in doc
            for block in page.get_text("dict")["blocks"]
            for line in block.get("lines", [])
            for span in line["spans"]
            if any(is_cjk(ch) for ch in span["text"])
        }
    assert fonts == {"Noto Serif CJK SC Regular"}, "Chinese set in the embedded subset, not a fallback"


def test_css_survives_reading_systems() -> None:
    css = (REPO / "styles" / "epub.css").read_text()
    assert not re.search(r"\d(px|pt|cm|mm|in)\b", css.replace("1px solid", "")), "absolute units"
    assert "page-break-before" not in css and "break-before" not in css
    assert "position:" not in css and "@page" not in css


# -- reproducibility ------------------------------------------------------------------------------
def test_rebuild_with_same_source_date_epoch_is_byte_identical(generated, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    manuscript, _, _, epub = generated
    result = run_cli("build", str(manuscript), "-o", str(tmp_path), env={"SOURCE_DATE_EPOCH": EPOCH})
    assert result.returncode == 0, result.stderr
    again = next(tmp_path.glob("*.epub"))
    assert again.read_bytes() == epub.path.read_bytes()
    with zipfile.ZipFile(again) as z:
        first = z.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert {i.date_time for i in z.infolist()} == {(2026, 5, 28, 20, 26, 40)}


def test_preparing_before_the_print_layout_is_known_changes_nothing(generated, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The pipeline runs prepare() in a thread while the workers lay the print edition out.
    from bookmaker.builders.epub import EpubBuilder

    _, book, _, epub = generated
    layout, book.print_layout = book.print_layout, None
    try:
        ahead = EpubBuilder(book)
        ahead.prepare()
    finally:
        book.print_layout = layout
    assert "cover_image" in vars(ahead) and ahead.cover_image[0] == "image/jpeg"
    assert ahead.build(tmp_path).read_bytes() == epub.path.read_bytes()


# -- Ace by DAISY ---------------------------------------------------------------------------------
def _ace(epub: Path, out: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PUPPETEER_EXECUTABLE_PATH=str(CHROMIUM))
    return subprocess.Popen([str(ACE), "--silent", "--force", "--outdir", str(out), str(epub)], env=env)


def test_ace_reports_no_critical_or_serious_violations(generated, demo: Epub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert ACE.exists(), "Ace by DAISY is missing: run `PUPPETEER_SKIP_DOWNLOAD=1 ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm install` in the repository"
    assert CHROMIUM.exists(), "chromium is missing: apt-get install chromium"
    runs = {name: (tmp_path / name, _ace(path, tmp_path / name))
            for name, path in (("generated", generated[3].path), ("demo", demo.path))}
    for name, (out, process) in runs.items():
        assert process.wait(timeout=240) == 0, f"Ace failed on the {name} book"
        report = json.loads((out / "report.json").read_text())
        found = [
            (a["earl:test"]["earl:impact"], a["earl:test"]["dct:title"], doc.get("earl:testSubject", {}).get("url"))
            for doc in report["assertions"]
            for a in doc.get("assertions", [])
        ]
        assert report["earl:result"]["earl:outcome"] in ("pass", "fail")
        assert [f for f in found if f[0] in ("critical", "serious")] == [], name
        # Only the certifier's credentials may be missing (informative; bookmaker certifies nothing).
        assert not [m for m in report["a11y-metadata"]["missing"] if m.startswith("schema:")], name
