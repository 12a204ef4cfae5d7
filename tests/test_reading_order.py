"""One reading order: the printed contents, the PDF outline, the EPUB spine, nav and NCX follow ``contents``."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from conftest import MINIMAL_YAML, build_with_warnings, epubcheck_messages, pdf_text_pages, write_book

NS = {"x": "http://www.w3.org/1999/xhtml", "opf": "http://www.idpf.org/2007/opf",
      "ncx": "http://www.daisy.org/z3986/2005/ncx/", "epub": "http://www.idpf.org/2007/ops"}

#: An introduction before the epigraph, an epigraph before part two, a preface after a chapter.
BOOK = {
    "book.yaml": MINIMAL_YAML + (
        "contents: [dedication.md, intro.md, epigraph.md, one.md, part2.md, epigraph2.md, two.md, late-preface.md, thanks.md]\n"
    ),
    "dedication.md": "---\nkind: dedication\n---\n\nFor the patient.\n",
    "intro.md": "---\nkind: introduction\n---\n\n# Introduction\n\nWhy this book.\n",
    "epigraph.md": "---\nkind: epigraph\n---\n\n> Begin at the beginning.\n",
    "one.md": "# Childhood\n\nEarly years.\n",
    "part2.md": "---\nkind: part\n---\n\n# The Later Years\n",
    "epigraph2.md": "---\nkind: epigraph\ntitle: Second Epigraph\n---\n\n> And go on till you come to the end.\n",
    "two.md": "# Work\n\nLater years.\n",
    "late-preface.md": "---\nkind: preface\n---\n\n# A Late Preface\n\nWritten last.\n",
    "thanks.md": "---\nkind: acknowledgments\n---\n\n# Thanks\n\nTo all.\n",
}
ORDER = ["dedication", "intro", "epigraph", "one", "part2", "epigraph2", "two", "late-preface", "thanks"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    root = tmp_path_factory.mktemp("order")
    outputs, seen = build_with_warnings(write_book(root / "manuscript", BOOK), root / "out")
    return outputs["pdf"], outputs["epub"], seen


def _xml(epub: zipfile.ZipFile, name: str) -> etree._Element:
    return etree.fromstring(epub.read(name))


def test_spine_nav_and_ncx_follow_the_authors_order(built: tuple[Path, Path, list[str]]) -> None:
    epub = zipfile.ZipFile(built[1])
    opf = _xml(epub, "EPUB/content.opf")
    hrefs = {i.get("id"): i.get("href") for i in opf.xpath("//opf:manifest/opf:item", namespaces=NS)}
    spine = [hrefs[r] for r in opf.xpath("//opf:spine/opf:itemref/@idref", namespaces=NS)]
    chapters = [Path(h).stem for h in spine if h.startswith("text/")]
    assert chapters == ORDER
    # The nav document stands after the opening dedication, before the introduction.
    assert spine.index("nav.xhtml") == spine.index("text/dedication.xhtml") + 1
    nav = _xml(epub, "EPUB/nav.xhtml")
    nav_order = [Path(a.get("href")).stem for a in nav.xpath('//x:nav[@epub:type="toc"]//x:a', namespaces=NS)]
    assert nav_order == ORDER
    ncx = _xml(epub, "EPUB/toc.ncx")
    ncx_order = [Path(c.get("src")).stem for c in ncx.xpath("//ncx:navPoint/ncx:content", namespaces=NS)]
    assert ncx_order == ORDER
    assert epubcheck_messages(built[1]) == []


def test_pdf_outline_and_printed_contents_follow_the_same_order(built: tuple[Path, Path, list[str]]) -> None:
    import pymupdf

    with pymupdf.open(built[0]) as doc:
        outline = [title for _, title, _ in doc.get_toc()]
    titled = ["Introduction", "Childhood", "The Later Years", "Work", "A Late Preface", "Thanks"]
    in_outline = ["Introduction", "1. Childhood", "The Later Years", "2. Work", "A Late Preface", "Thanks"]
    assert [t for t in outline if t in in_outline] == in_outline
    assert outline.index("Contents") < outline.index("Introduction")
    pages = [t.replace("\xa0", " ") for t in pdf_text_pages(built[0])]
    contents = next(text for text in pages if text.lstrip().startswith("Contents"))
    positions = [contents.find(t) for t in titled]
    assert -1 not in positions and positions == sorted(positions), contents
    # Display pages are not listed in the printed contents, wherever they stand.
    assert "Epigraph" not in contents and "patient" not in contents


def test_front_matter_after_the_body_matter_warns_and_prints_as_body(built: tuple[Path, Path, list[str]]) -> None:
    warnings = built[2]
    assert any("late-preface.md:4: the preface 'A Late Preface' comes after 'Childhood'" in w for w in warnings), warnings
    # An epigraph inside the book is a display page: no warning.
    assert not any("Epigraph" in w for w in warnings), warnings
    contents = next(text.replace("\xa0", " ") for text in pdf_text_pages(built[0]) if text.lstrip().startswith("Contents"))
    folios = dict(re.findall(r"(Introduction|A Late Preface)[\s.]*?(\w+)\n", contents))
    # The introduction is front matter (roman folio); the late preface is printed among the chapters.
    assert folios["Introduction"] == "ix" and folios["A Late Preface"].isdigit(), contents
