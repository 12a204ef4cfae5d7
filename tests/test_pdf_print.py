"""Print-grade PDF (issue 3): structural checks on the demo book and on generated books.

Each book is checked the way a printer's preflight and a careful reader would: page size,
recto openings, folios, contents numbers, running heads, blank versos, footnote placement,
glyphs inside the text area, fonts, outline and metadata.  Pages are also rendered to
test-artifacts/ for a human to look at.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import pymupdf
import pytest

from bookgen import generate_book
from conftest import ARTIFACTS, DEMO, save_artifact
from pdfinspect import BookPdf, expected_labels, toc_rows

from bookmaker.builders.pdf import PdfBuilder, PdfResult
from bookmaker.geometry import Geometry, gutter_for
from bookmaker.model import Book
from bookmaker.builders import toc_label
from bookmaker.labels import labels_for
from bookmaker.pipeline import read_book

#: Tolerance in points for glyph boxes against the text block.
TOL = 1.0
SAFE = 36.0  # 0.5in: nothing printed closer to the trim edge


@dataclass
class Built:
    """A book laid out in this process: the model, the builder, the result and the PDF read back."""

    book: Book
    builder: PdfBuilder
    result: PdfResult
    pdf: BookPdf

    @property
    def geometry(self) -> Geometry:
        assert self.builder.used_geometry is not None
        return self.builder.used_geometry


def build_pdf(manuscript: Path, out: Path) -> Built:
    out.mkdir(parents=True, exist_ok=True)
    book = read_book(manuscript)
    builder = PdfBuilder(book)
    result = builder.build_pdf(out)
    margins = builder.geometry.margins
    return Built(book, builder, result, BookPdf(result.path, margins.top, margins.bottom))


# ---- the checks every book must pass -----------------------------------------------------------


def sections(built: Built) -> list[tuple[int, str, str]]:
    """(start page, section id, role) in page order; role is display, part, front, chapter."""
    dests = built.pdf.dests
    found = [(dests["half-title"], "half-title", "display"), (dests["title-page"], "title-page", "display"),
             (dests["copyright-page"], "copyright-page", "display"), (dests["contents"], "contents", "front")]
    for chapter in built.book.chapters:
        role = {"dedication": "display", "epigraph": "display", "part": "part"}.get(chapter.kind)
        role = role or ("front" if chapter.matter == "front" else "chapter")
        found.append((dests[chapter.id], chapter.id, role))
    if "book-notes" in dests:
        found.append((dests["book-notes"], "book-notes", "chapter"))
    return sorted(found)


def labels(built: Built) -> list[str]:
    first_body = built.builder.first_body_id()
    return expected_labels(len(built.pdf.pages), built.pdf.dests[first_body] if first_body else None)


def check_page_size(built: Built) -> None:
    g = built.geometry
    for page in built.pdf.doc:
        assert abs(page.rect.width - g.width) < 0.05 and abs(page.rect.height - g.height) < 0.05, page.rect
        trim = page.trimbox
        assert abs(trim.width - g.width) < 0.05 and abs(trim.height - g.height) < 0.05


def check_recto_openings(built: Built) -> None:
    dests = built.pdf.dests
    for chapter in built.book.chapters:
        assert dests[chapter.id] % 2 == 1, f"{chapter.kind} {chapter.id!r} opens on page {dests[chapter.id]} (a verso)"
    assert dests["contents"] % 2 == 1 and dests["title-page"] % 2 == 1


def check_folios_and_heads(built: Built) -> None:
    """Folios run in sequence, running heads follow the rules, openers and blanks carry nothing."""
    pdf, builder = built.pdf, built.builder
    expected = labels(built)
    starts = sections(built)
    heads = {c.id: builder.running_head(c) for c in built.book.chapters}
    heads.update({"contents": "Contents", "book-notes": "Notes"})
    author = builder.running_author()
    numbered = 0
    for page in pdf.pages:
        current = [s for s in starts if s[0] <= page.number][-1]
        start, section, role = current
        where = f"page {page.number} ({section})"
        if page.is_blank:
            continue
        if page.number == start or role in ("display", "part"):
            assert page.folio is None, f"{where}: an opener or display page carries the folio {page.folio!r}"
            assert page.head_text == "", f"{where}: an opener or display page carries the head {page.head_text!r}"
            continue
        assert page.folio == expected[page.number - 1], f"{where}: folio {page.folio!r}, expected {expected[page.number - 1]!r}"
        numbered += 1
        assert len(page.head) == 1, f"{where}: the running head is not one line: {[ln.text for ln in page.head]}"
        want = author if page.number % 2 == 0 else heads[section]
        assert page.head_text.casefold() == want.casefold(), f"{where}: running head {page.head_text!r}, expected {want!r}"
    assert numbered > 0


def check_blank_pages(built: Built) -> None:
    starts = {s[0] for s in sections(built)}
    for page in built.pdf.pages:
        if not page.lines:
            assert page.is_blank, f"page {page.number} has no text but {page.drawings} drawings and {page.images} images"
            assert page.number % 2 == 0 and page.number + 1 in starts, f"unexpected blank page {page.number}"
        elif page.number % 2 == 0 and page.number + 1 in starts and page.number not in starts:
            # A verso before an opener that only holds a head or a folio is a blank that leaked marks.
            assert page.body, f"page {page.number} carries only a running head or folio"


def check_page_map(built: Built) -> None:
    """The page map (the EPUB page-list's source) names the folio printed on each id's page."""
    expected = labels(built)
    page_map, dests = built.result.layout.page_map, built.pdf.dests
    checked = printed = 0
    for anchor, label in page_map.items():
        if anchor not in dests:
            continue
        number = dests[anchor]
        assert label == expected[number - 1], f"page_map[{anchor!r}] = {label!r}, but it is on page {number}"
        folio = built.pdf.pages[number - 1].folio
        if folio is not None:
            assert folio == label, f"{anchor!r}: page {number} prints {folio!r}, page map says {label!r}"
            printed += 1
        checked += 1
    for chapter in built.book.chapters:
        assert chapter.id in page_map
    assert checked > 20 and printed > 10


def check_contents(built: Built) -> None:
    pdf = built.pdf
    first = pdf.dests["contents"]
    last = first
    while last + 1 <= len(pdf.pages) and not any(s[0] == last + 1 for s in sections(built)):
        last += 1
    rows = toc_rows(pdf, first, last)
    expected = labels(built)
    wanted = {c.id for c in built.book.chapters if c.kind not in ("dedication", "epigraph")}
    targets = set()
    for text, number, target in rows:
        assert number == expected[target - 1], f"contents line {text!r} says {number}, the page's folio is {expected[target - 1]}"
        targets.add(target)
    for chapter_id in wanted:
        assert pdf.dests[chapter_id] in targets, f"{chapter_id!r} missing from the contents"


def check_footnotes(built: Built) -> tuple[int, int]:
    """Each footnote body is printed on the page of its call; returns (misplaced, total)."""
    if built.book.config.notes.footnotes != "page":
        return 0, 0
    dests = built.pdf.dests
    # Page footnotes only: endnotes ([^^label]) are printed in the Notes section.
    notes = [n for c in built.book.chapters for n in c.notes if n.place == "page"]
    misplaced = [n.id for n in notes if dests.get(n.id) != dests.get(n.ref_id)]
    return len(misplaced), len(notes)


def check_glyphs_inside(built: Built) -> None:
    g = built.geometry
    for page in built.pdf.pages:
        x0, y0, x1, y1 = g.text_box(page.number)
        for line in page.lines:
            for (char, (cx0, _cy0, cx1, _cy1)), (_c, origin, size) in zip(line.chars, line.origins):
                if not char.strip():
                    continue
                # Ink, not the font's ascent box (the CJK face's ascent box is taller than its glyphs).
                top, bottom = origin[1] - 0.8 * size, origin[1] + 0.25 * size
                where = f"page {page.number}: {char!r} of {line.text[:40]!r} at {cx0:.1f},{top:.1f}"
                assert SAFE <= cx0 and cx1 <= page.width - SAFE and SAFE <= top and bottom <= page.height - SAFE, where
                assert x0 - TOL <= cx0 and cx1 <= x1 + TOL, f"{where} is outside the text block {x0:.1f}-{x1:.1f}"
        for line in page.body:
            for char, origin, size in line.origins:
                # Ink, not the font's ascent box (the CJK face's ascent box is taller than its glyphs).
                top, bottom = origin[1] - 0.8 * size, origin[1] + 0.25 * size
                assert y0 - TOL <= top and bottom <= y1 + TOL, f"page {page.number}: {char!r} of {line.text[:40]!r} outside the text block"


def check_fonts(built: Built) -> None:
    fonts = built.pdf.fonts()
    assert fonts
    for basefont, ext, _subtype in fonts:
        assert ext != "n/a", f"{basefont} is not embedded"
        assert re.match(r"^[A-Z]{6}\+Book-(Serif|CJK)", basefont), f"{basefont}: not a subset of a bundled font"


def check_scene_breaks(built: Built) -> int:
    """No scene break is the first or last line of a page; returns how many were found."""
    found = 0
    for page in built.pdf.pages:
        text = [ln for ln in page.body if ln.size > 9]  # the text and tables, not the footnotes
        for i, line in enumerate(text):
            if re.fullmatch(r"[*\u2042\u2767\s]+", line.text):
                found += 1
                assert 0 < i < len(text) - 1, f"page {page.number}: a scene break is stranded at the {'top' if i == 0 else 'bottom'}"
    return found


def check_headings_keep_with_text(built: Built) -> None:
    """No page ends right after a heading: text follows every section heading on its page."""
    doc, dests = built.pdf.doc, built.pdf.doc.resolve_names()
    checked = 0
    for chapter in built.book.chapters:
        for heading in chapter.headings:
            info = dests.get(heading.id)
            if info is None:
                continue
            page = built.pdf.pages[info["page"]]
            top = doc[info["page"]].rect.height - info["to"][1]
            below = [ln for ln in page.body if ln.size > 9 and ln.bbox[1] > top + 20]
            assert below, f"page {page.number}: the heading {heading.text!r} ends the page"
            checked += 1
    assert checked == sum(len(c.headings) for c in built.book.chapters)


def check_margins(built: Built) -> None:
    """Mirrored margins: the text block's edge is at the inside margin on rectos, the outside on versos."""
    m = built.geometry.margins
    assert built.geometry.gutter == gutter_for(len(built.pdf.pages))
    for page in built.pdf.pages:
        text = [ln for ln in page.body if ln.size >= 10 and len(ln.text) > 40]
        if len(text) < 10:
            continue
        left = min(ln.bbox[0] for ln in text)
        want = m.inside if page.number % 2 else m.outside
        assert abs(left - want) < 0.6, f"page {page.number}: text starts at {left:.2f}pt, margin is {want:.2f}pt"


def check_all(built: Built) -> None:
    check_page_size(built)
    check_recto_openings(built)
    check_blank_pages(built)
    check_folios_and_heads(built)
    check_page_map(built)
    check_contents(built)
    check_glyphs_inside(built)
    check_fonts(built)
    check_scene_breaks(built)
    check_headings_keep_with_text(built)
    check_margins(built)


# ---- the demo book -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Built:
    built = build_pdf(DEMO, tmp_path_factory.mktemp("demo-print"))
    yield built
    built.pdf.close()


def test_demo_book_passes_the_print_checks(demo: Built) -> None:
    check_all(demo)
    assert check_scene_breaks(demo) == 3  # the demo's three "* * *" lines, each set as an ornament


def test_demo_footnotes_are_on_the_page_of_their_call(demo: Built) -> None:
    misplaced, total = check_footnotes(demo)
    assert total >= 10
    assert misplaced == 0, f"{misplaced} of {total} footnotes are not on the page of their call"


def test_demo_front_matter_order_and_roman_folios(demo: Built) -> None:
    dests, chapters = demo.pdf.dests, {c.kind: c for c in demo.book.chapters}
    order = [dests["half-title"], dests["title-page"], dests["copyright-page"], dests[chapters["dedication"].id],
             dests[chapters["epigraph"].id], dests["contents"], dests[chapters["prologue"].id]]
    assert order == sorted(order) and order[0] == 1
    assert dests["copyright-page"] == dests["title-page"] + 1  # the verso of the title page
    page_map = demo.result.layout.page_map
    assert page_map["contents"] == "ix" and page_map["copyright-page"] == "iv"
    assert page_map[chapters["prologue"].id] == "1"
    part = next(c for c in demo.book.chapters if c.kind == "part")
    first_chapter = next(c for c in demo.book.chapters if c.kind == "chapter")
    assert int(page_map[part.id]) % 2 == 1 and int(page_map[first_chapter.id]) % 2 == 1
    copyright_text = " ".join(ln.text for ln in demo.pdf.pages[dests["copyright-page"] - 1].lines)
    config = demo.book.config
    assert config.rights and config.rights in copyright_text
    assert config.publisher in copyright_text and "2026" in copyright_text


def test_demo_outline_nests_parts_chapters_sections(demo: Built) -> None:
    outline = demo.pdf.outline()
    levels = {title: level for level, title, _page in outline}
    parts = [c for c in demo.book.chapters if c.kind == "part"]
    assert [levels[p.title] for p in parts] == [1] * len(parts)
    for chapter in demo.book.chapters:
        if chapter.kind == "chapter":
            assert levels[toc_label(chapter, labels_for(demo.book.config))] == 2, chapter.title
            for heading in chapter.headings:
                if heading.level == 2:
                    assert levels[heading.text] == 3, heading.text
    assert levels["Prologue"] == 1 and levels["Contents"] == 1
    for level, title, page in outline:
        chapter = next((c for c in demo.book.chapters if toc_label(c, labels_for(demo.book.config)) == title), None)
        if chapter is not None:
            assert page == demo.pdf.dests[chapter.id]


def test_demo_metadata_links_and_language(demo: Built) -> None:
    meta = demo.pdf.doc.metadata
    assert meta["title"] == "Lei Jun: The Programmer Who Built Xiaomi"
    assert meta["author"] == "Daniel Ashworth"
    assert meta["creator"].startswith("bookmaker")
    assert meta["creationDate"] and meta["creationDate"] == meta["modDate"]
    assert demo.pdf.catalog_key("Lang") == "en"
    # Contents entries are links to the openers.
    links = demo.pdf.links(demo.pdf.dests["contents"])
    assert len(links) >= len([c for c in demo.book.chapters if c.kind not in ("dedication", "epigraph")])


def test_demo_lead_in_uses_real_small_caps(demo: Built) -> None:
    chapter = next(c for c in demo.book.chapters if c.kind == "chapter")
    glyphs = demo.pdf.glyph_names(demo.pdf.dests[chapter.id])
    lead = [(ch, name) for ch, name, _ in glyphs if ch.islower() and ch.isascii()]
    small = [name for ch, name in lead if name.endswith(".sc")]
    # The first line is small caps made by the font's smcp glyphs, not shrunken capitals.
    assert len(small) >= 20, lead[:40]


def cid_mismatches(pdf: BookPdf) -> dict[str, int]:
    """Glyphs of CID-keyed CFF fonts whose code (the glyph id WeasyPrint writes) is not their CID.

    A PDF reader looks a CIDFontType0 glyph up by CID through the font's charset; poppler
    falls back to glyph ids, but MuPDF and Ghostscript (print RIPs) draw .notdef boxes.
    """
    import io

    from fontTools.ttLib import TTFont

    found: dict[str, int] = {}
    seen: set[int] = set()
    for page in pdf.doc:
        for xref, ext, _subtype, basefont, *_ in page.get_fonts(full=True):
            if xref in seen or ext not in ("otf", "cff"):
                continue
            seen.add(xref)
            _n, _e, _t, buffer = pdf.doc.extract_font(xref)
            font = TTFont(io.BytesIO(buffer))
            if "CFF " not in font or not hasattr(font["CFF "].cff.topDictIndex[0], "ROS"):
                continue
            order = font.getGlyphOrder()
            bad = sum(1 for gid, name in enumerate(order) if name.startswith("cid") and int(name[3:]) != gid)
            if bad:
                found[basefont] = bad
    return found


def test_demo_cid_fonts_map_codes_to_their_cids(demo: Built) -> None:
    assert cid_mismatches(demo.pdf) == {}


#: Sections of running prose, where a paragraph's lines are full but for its last.
PROSE_KINDS = ("foreword", "preface", "introduction", "prologue", "chapter", "epilogue", "afterword")


def one_word_lines(built: Built) -> list[tuple[int, str, str]]:
    """Lines of running text that hold a single word while the sentence goes on in the next line
    (it starts in lower case): (page, the word, the next line).  WeasyPrint 70 set the Prologue's
    "forty" alone so before an index term (bookmaker.engine, the line-fit fix)."""
    kinds = {c.id: c.kind for c in built.book.chapters}
    starts = sections(built)
    found = []
    for (first, section, _role), (following, _, _) in zip(starts, [*starts[1:], (len(built.pdf.pages) + 1, "", "")]):
        if kinds.get(section) not in PROSE_KINDS:
            continue
        for page in built.pdf.pages[first - 1:following - 1]:
            text = [ln for ln in page.body if ln.size >= 10.5]  # not the footnotes
            for line, after in zip(text, text[1:]):
                if len(line.text.split()) == 1 and after.text[:1].islower():
                    found.append((page.number, line.text, after.text))
    return found


def test_demo_no_line_holds_one_word_of_a_running_sentence(demo: Built) -> None:
    assert one_word_lines(demo) == []


def test_demo_renders_pages_for_review(demo: Built) -> None:
    """Opener, body page with notes, contents and copyright page as PNGs in test-artifacts/."""
    pdf, dests = demo.pdf, demo.pdf.dests
    chapter = next(c for c in demo.book.chapters if c.kind == "chapter" and c.notes)
    notes_page = next(
        p.number for p in pdf.pages
        if p.folio and any(ln.size < 10 for ln in p.body) and p.number not in {dests[c.id] for c in demo.book.chapters}
    )
    wanted = {"print-opener": dests[chapter.id], "print-notes-page": notes_page, "print-contents": dests["contents"],
              "print-copyright": dests["copyright-page"]}
    ARTIFACTS.mkdir(exist_ok=True)
    for name, number in wanted.items():
        pix = pdf.doc[number - 1].get_pixmap(dpi=110)
        tmp = ARTIFACTS / f"{name}.tmp.png"
        pix.save(tmp)
        target = save_artifact(f"{name}.png", tmp)
        tmp.unlink()
        assert target.stat().st_size > 5000
    # A spread (verso and recto side by side), the way a reader sees the book.
    verso = notes_page if notes_page % 2 == 0 else notes_page - 1
    left, right = pdf.doc[verso - 1].get_pixmap(dpi=80), pdf.doc[verso].get_pixmap(dpi=80)
    spread = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, left.width * 2, left.height), False)
    spread.set_rect(spread.irect, (255, 255, 255))
    left.set_origin(0, 0)
    right.set_origin(left.width, 0)
    spread.copy(left, left.irect)
    spread.copy(right, right.irect)
    tmp = ARTIFACTS / "spread.tmp.png"
    spread.save(tmp)
    save_artifact("print-spread.png", tmp)
    tmp.unlink()


# ---- a generated book: parts, notes, figures, tables, a long preface -----------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = generate_book(tmp_path_factory.mktemp("gen") / "book", chapters=12, notes_per_chapter=3)
    # A preface long enough to print roman folios, and a chapter with a very long title.
    preface = "\n\n".join(f"Paragraph {i} of the preface. " + "A sentence that goes on for a while. " * 25 for i in range(9))
    (root / "01-preface.md").write_text(f"---\nkind: preface\ntitle: Preface\n---\n\n{preface}\n", encoding="utf-8")
    long_title = "A Chapter Whose Title Is Much Too Long to Fit on a Single Line of the Running Head at the Top"
    path = next(root.glob("*-chapter-3.md"))
    path.write_text(path.read_text(encoding="utf-8").replace("Chapter Title Number 3", long_title), encoding="utf-8")
    built = build_pdf(root, tmp_path_factory.mktemp("gen-out"))
    yield built
    built.pdf.close()


def test_generated_book_passes_the_print_checks(generated: Built) -> None:
    check_all(generated)
    assert sum(1 for p in generated.pdf.pages if p.folio and re.fullmatch(r"[ivx]+", p.folio)) >= 2


def test_generated_footnotes_are_on_the_page_of_their_call(generated: Built) -> None:
    misplaced, total = check_footnotes(generated)
    assert total >= 30
    assert misplaced == 0, f"{misplaced} of {total} footnotes are not on the page of their call"


def test_long_running_head_is_shortened_to_one_line(generated: Built) -> None:
    chapter = next(c for c in generated.book.chapters if c.title.startswith("A Chapter Whose"))
    head = generated.builder.running_head(chapter)
    assert head.endswith("\u2026") and len(head) < len(chapter.title)
    pages = [p for p in generated.pdf.pages if p.head_text == head]
    assert pages and all(len(p.head) == 1 for p in pages)


def test_figures_fit_with_their_caption_and_tables_repeat_their_header(generated: Built) -> None:
    pdf, g = generated.pdf, generated.geometry
    figure_pages = [p for p in pdf.pages if any(re.match(r"^(Figure [\d.]+\.? )?Growth, chapter", ln.text) for ln in p.body)]
    assert figure_pages
    for page in figure_pages:
        image_rects = [info["bbox"] for info in pdf.doc[page.number - 1].get_image_info()]
        assert image_rects, f"page {page.number}: the caption is not on the page of its figure"
        x0, _y0, x1, _y1 = g.text_box(page.number)
        for rect in image_rects:
            assert rect[0] >= x0 - TOL and rect[2] <= x1 + TOL
    # A table that runs onto a second page repeats its header row there.
    table_pages = [p for p in pdf.pages if any(re.match(r"^199\d\b", ln.text) for ln in p.body)]
    assert table_pages
    for page in table_pages:
        rows = [ln for ln in page.body if re.match(r"^(199\d|20\d\d)\b", ln.text)]
        header = [ln for ln in page.body if ln.text.lower().startswith("year")]
        assert header and header[0].bbox[1] < rows[0].bbox[1], f"page {page.number}: table without its header row"


def test_trim_parsing_and_margins() -> None:
    from bookmaker.config import PdfOptions
    from bookmaker.geometry import parse_length, parse_trim

    assert parse_trim("6x9in") == (432, 648) and parse_trim("6in x 9in") == (432, 648)
    assert parse_trim("b-format") == pytest.approx((365.67, 561.26), abs=0.01)
    assert parse_trim("140x216mm") == pytest.approx((396.85, 612.28), abs=0.01)
    assert parse_trim("5.25X8IN") == (378, 576) and parse_trim("6x9") is None
    assert parse_length("3mm") == pytest.approx(8.504, abs=0.001) and parse_length("0") == 0 and parse_length("3") is None
    g = Geometry.from_options(PdfOptions(trim="6x9in"))
    for pages, inside in ((100, 0.625), (250, 0.75), (400, 0.875), (600, 1.0), (800, 1.125)):
        m = g.for_pages(pages).margins
        assert m.inside == pytest.approx(inside * 72) and m.outside >= 36 and m.top >= 36 and m.bottom >= 36
    assert g.text_box(1)[0] == g.margins.inside and g.text_box(2)[0] == g.margins.outside


def test_drop_cap_theme_option_does_not_overlap_the_text(make_book, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The theme's drop cap (a floated element) pushes three lines aside and overlaps none."""
    from bookmaker.resources import default_styles

    theme = tmp_path / "theme"
    theme.mkdir()
    css = (default_styles() / "print.css").read_text(encoding="utf-8").replace("url(fonts/", f"url({default_styles().as_uri()}/fonts/")
    css += (":root { --dropcap-float: left; --dropcap-size: 5.25em; --dropcap-height: 0.76em; "
            "--dropcap-raise: -0.012em; --dropcap-gap: 0.06em; }\n")
    (theme / "print.css").write_text(css, encoding="utf-8")
    root = small_book(make_book, f"styles: {theme}\n")
    built = build_pdf(root, tmp_path / "out")
    try:
        page = built.pdf.pages[built.pdf.dests[built.book.chapters[0].id] - 1]
        cap = next(ln for ln in page.body if ln.size > 40)
        assert cap.text == "W"
        text = [ln for ln in page.body if 10 < ln.size < 13 and ln.bbox[1] > cap.bbox[1] - 5]
        beside, below = text[:3], text[3]
        for line in beside:
            assert line.bbox[0] >= cap.bbox[2], f"{line.text[:30]!r} overlaps the drop cap"
        assert below.bbox[0] < cap.bbox[2]  # the fourth line runs under the cap again
        # The cap's baseline sits on the third line's baseline.
        assert abs(cap.origins[0][1][1] - beside[2].origins[0][1][1]) < 1.0
    finally:
        built.pdf.close()


def test_gutter_grows_with_page_count() -> None:
    assert [gutter_for(n) / 72 for n in (24, 150, 151, 300, 301, 500, 501, 700, 701)] == [
        0.375, 0.375, 0.5, 0.5, 0.625, 0.625, 0.75, 0.75, 0.875]


# ---- notes as endnotes ------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["endnotes", "book-endnotes"])
def test_endnote_styles(style: str, tmp_path: Path) -> None:
    root = generate_book(tmp_path / "book", chapters=3, parts=0, paragraphs=5, notes_per_chapter=2,
                         figures=False, tables=False, extra_yaml=f"notes: {style}\n")
    built = build_pdf(root, tmp_path / "out")
    try:
        pdf, dests = built.pdf, built.pdf.dests
        chapters = [c for c in built.book.chapters if c.kind == "chapter"]
        assert not any(ln.size < 9 for p in pdf.pages for ln in p.body if re.match(r"^\d\.\s", ln.text)), \
            "a note was printed as a footnote"
        for chapter in chapters:
            for note in chapter.notes:
                assert dests[note.id] >= dests[note.ref_id]
        if style == "endnotes":
            for this, following in zip(chapters, chapters[1:]):
                assert dests[this.id] <= dests[this.notes[-1].id] < dests[following.id]
            assert "book-notes" not in dests
        else:
            # Acknowledgments come before the notes, the bibliography and index after them (CMOS 1.4).
            back = next(c for c in built.book.chapters if c.matter == "back" and not c.generated)
            assert back.kind == "acknowledgments"
            assert dests[chapters[-1].id] < dests[back.id] < dests["book-notes"]
            assert dests["book-notes"] % 2 == 1
            text = " ".join(ln.text for p in pdf.pages[dests["book-notes"] - 1:] for ln in p.lines)
            for chapter in chapters:
                assert f"{chapter.number}. {chapter.title}" in text
            assert any(title == "Notes" for _level, title, _page in pdf.outline())
        check_folios_and_heads(built)
        check_contents(built)
    finally:
        built.pdf.close()


# ---- geometry, bleed, standards, images ----------------------------------------------------------------


SMALL_BOOK = {
    "book.yaml": "title: A Small Life\nauthor: Jane Doe\nlanguage: en\ndate: 2026-01-15\n",
    "01-one.md": "---\ntitle: One\n---\n\n" + "\n\n".join("Words of a paragraph that runs on. " * 12 for _ in range(6)) + "\n",
}


def small_book(make_book, extra_yaml: str = "", files: dict | None = None) -> Path:  # type: ignore[no-untyped-def]
    content = dict(SMALL_BOOK)
    content["book.yaml"] = SMALL_BOOK["book.yaml"] + extra_yaml
    content.update(files or {})
    return make_book(content)


@pytest.mark.parametrize(
    ("trim", "size"),
    [("5x8in", (360, 576)), ("a5", (419.53, 595.28)), ("royal", (442.2, 663.31)), ("140x216mm", (396.85, 612.28))],
)
def test_trim_sizes(trim: str, size: tuple[float, float], make_book, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    built = build_pdf(small_book(make_book, f"pdf:\n  trim: {trim}\n"), tmp_path / "out")
    try:
        page = built.pdf.doc[0]
        assert abs(page.rect.width - size[0]) < 0.1 and abs(page.rect.height - size[1]) < 0.1
        check_glyphs_inside(built)
    finally:
        built.pdf.close()


def test_bleed_and_crop_marks(make_book, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    built = build_pdf(small_book(make_book, "pdf:\n  trim: 6x9in\n  bleed: 0.125in\n  marks: crop\n"), tmp_path / "out")
    try:
        page = built.pdf.doc[0]
        assert abs(page.trimbox.width - 432) < 0.1 and abs(page.trimbox.height - 648) < 0.1
        assert abs(page.mediabox.width - (432 + 18)) < 0.1 and abs(page.mediabox.height - (648 + 18)) < 0.1
        assert page.get_drawings(), "no crop marks drawn"
    finally:
        built.pdf.close()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("trim", "6x9", "'pdf.trim': expected a trim size"),
        ("trim", "60x90in", "each side must be 3-17 in"),
        ("trim", "9x6in", "wider than it is tall"),
        ("bleed", "lots", "'pdf.bleed': expected a length"),
        ("bleed", "1in", "more than 0.5in"),
        ("marks", "stars", "'pdf.marks': expected one of crop, cross"),
        ("standard", "pdf/z-9", "'pdf.standard': expected one of pdf/a-3b, pdf/ua-1, pdf/x-4"),
    ],
)
def test_pdf_options_are_validated(key: str, value: str, message: str, make_book) -> None:  # type: ignore[no-untyped-def]
    from bookmaker.errors import ConfigError

    root = small_book(make_book, f"pdf:\n  {key}: {value}\n")
    with pytest.raises(ConfigError) as info:
        PdfBuilder(read_book(root))
    text = str(info.value)
    assert message in text
    assert re.search(r"book\.yaml:\d+: ", text), text


@pytest.mark.parametrize("standard", ["pdf/a-3b", "pdf/ua-1", "pdf/x-4"])
def test_pdf_standards(standard: str, make_book, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING)
    built = build_pdf(small_book(make_book, f"pdf:\n  standard: {standard}\n"), tmp_path / "out")
    try:
        doc = built.pdf.doc
        xmp = doc.get_xml_metadata()
        assert doc.metadata["title"] == "A Small Life" and built.pdf.catalog_key("Lang") == "en"
        assert doc.metadata["creationDate"].startswith("D:2026")  # fixed dates, not the build time
        if standard == "pdf/a-3b":
            assert "pdfaid:part" in xmp and built.pdf.catalog_key("OutputIntents") != "null"
        elif standard == "pdf/ua-1":
            assert "pdfuaid:part" in xmp and built.pdf.catalog_key("StructTreeRoot") != "null"
            assert "true" in built.pdf.catalog_key("MarkInfo").lower()
        else:
            assert "PDF/X-4" in xmp
            # No CMYK profile in the manuscript: the build says what is missing.
            assert any("pdf/x-4 needs the printer's CMYK profile" in r.getMessage() for r in caplog.records)
        weasy_errors = [r for r in caplog.records if r.name.startswith("weasyprint") and r.levelno >= logging.ERROR]
        assert not weasy_errors, [r.getMessage() for r in weasy_errors]
    finally:
        built.pdf.close()


GS_CMYK = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")


@pytest.mark.skipif(not GS_CMYK.is_file(), reason="needs a CMYK ICC profile (Debian package libgs-common)")
def test_pdf_x4_takes_the_printers_profile_as_output_intent(make_book, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = small_book(make_book, "pdf:\n  standard: pdf/x-4\n")
    (root / "press.icc").write_bytes(GS_CMYK.read_bytes())
    built = build_pdf(root, tmp_path / "out")
    try:
        intents = built.pdf.catalog_key("OutputIntents")
        assert "/GTS_PDFX" in intents and "DestOutputProfile" in intents
        assert "PDF/X-4" in built.pdf.doc.get_xml_metadata()
    finally:
        built.pdf.close()


def test_low_resolution_image_warning(make_book, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    root = small_book(make_book, files={
        "02-two.md": "---\ntitle: Two\n---\n\nText before.\n\n![A small chart](images/small.png \"A chart\")\n\n"
                     "![A fine chart](images/fine.png \"A fine chart\")\n",
    })
    (root / "images").mkdir()
    # A raster image prints at its own DPI (else at 300): this one says 96.
    Image.new("RGB", (300, 150), "white").save(root / "images" / "small.png", dpi=(96, 96))
    Image.new("RGB", (3000, 750), "white").save(root / "images" / "fine.png")
    caplog.set_level(logging.WARNING)
    built = build_pdf(root, tmp_path / "out")
    built.pdf.close()
    messages = [r.getMessage() for r in caplog.records if "DPI" in r.getMessage()]
    assert len(messages) == 1, messages
    small = next(m for m in messages if "small.png" in m)
    assert "02-two.md" in small
    dpi = int(re.search(r"prints at (\d+) DPI", small).group(1))
    # 300 px placed at its natural size at 96 DPI (3.125in).
    assert 90 <= dpi <= 100


def test_figure_is_scaled_to_the_page_and_table_never_overflows(make_book, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    rows = "\n".join(f"| {1900 + i} | Averyveryverylongunbreakablewordthatwouldoverflowanycolumnwhatsoever{i} | short |" for i in range(70))
    root = small_book(make_book, files={
        "02-two.md": "---\ntitle: Two\n---\n\nText before.\n\n![A tall picture](images/tall.png \"A tall picture\")\n\n"
                     f"| Year | Event | Note |\n|---|---|---|\n{rows}\n",
    })
    (root / "images").mkdir()
    Image.new("RGB", (900, 4000), "gray").save(root / "images" / "tall.png", dpi=(600, 600))
    built = build_pdf(root, tmp_path / "out")
    try:
        check_glyphs_inside(built)
        pdf, g = built.pdf, built.geometry
        page = next(p for p in pdf.pages if any(re.fullmatch(r"(Figure [\d.]+\.? )?A tall picture", ln.text) for ln in p.body))
        images = pdf.doc[page.number - 1].get_image_info()
        assert images and images[0]["bbox"][3] - images[0]["bbox"][1] <= g.text_height
        table_pages = [p for p in pdf.pages if any(re.match(r"^19\d\d\b", ln.text) for ln in p.body)]
        assert len(table_pages) >= 2
        for p in table_pages:
            header = [ln for ln in p.body if ln.text.lower().startswith("year")]
            rows = [ln for ln in p.body if re.match(r"^19\d\d\b", ln.text)]
            assert header and rows and header[0].bbox[1] < rows[0].bbox[1], f"page {p.number}: no header row"
    finally:
        built.pdf.close()


# ---- a long biography ---------------------------------------------------------------------------------


def test_a_300_page_biography(tmp_path: Path) -> None:
    """The issue's yardstick: a generated biography of more than 300 pages passes every check."""
    root = generate_book(tmp_path / "book", chapters=38, paragraphs=22, notes_per_chapter=4, title="A Long Life")
    built = build_pdf(root, tmp_path / "out")
    try:
        pages = len(built.pdf.pages)
        assert pages > 300
        assert built.geometry.gutter == gutter_for(pages) and built.builder.layouts <= 3
        check_all(built)
        misplaced, total = check_footnotes(built)
        assert misplaced == 0, f"{misplaced} of {total} footnotes are not on the page of their call"
        check_long_epub(built, tmp_path)
    finally:
        built.pdf.close()


def check_long_epub(built: Built, tmp_path: Path) -> None:
    """The EPUB of the same long book: valid, every printed page in its page list, reproducible."""
    import zipfile

    from lxml import etree

    from bookmaker.builders.epub import EpubBuilder
    from conftest import epubcheck_messages

    book = built.book
    book.print_layout = built.result.layout
    for folder in ("epub1", "epub2"):
        (tmp_path / folder).mkdir()
    first = EpubBuilder(book).build(tmp_path / "epub1")
    second = EpubBuilder(book).build(tmp_path / "epub2")
    assert first.read_bytes() == second.read_bytes()
    assert epubcheck_messages(first) == []
    with zipfile.ZipFile(first) as z:
        nav = etree.fromstring(z.read("EPUB/nav.xhtml"))
    ns = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops"}
    listed = nav.xpath("//x:nav[@epub:type='page-list']//x:a/text()", namespaces=ns)
    assert listed == labels(built)
