"""The whole pipeline, as a user runs it: the demo book and a small book outside the repository."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pymupdf
import pytest
import yaml
from fontTools.ttLib import TTFont
from lxml import etree

from conftest import DEMO, REPO, epubcheck_messages, pdf_text_pages, run_cli, save_artifact

NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
}


def opf_of(epub: Path) -> etree._Element:
    with zipfile.ZipFile(epub) as z:
        container = etree.fromstring(z.read("META-INF/container.xml"))
        path = container.xpath("//*[local-name()='rootfile']/@full-path")[0]
        return etree.fromstring(z.read(path))


def read_zip(epub: Path, name: str) -> etree._Element:
    with zipfile.ZipFile(epub) as z:
        return etree.fromstring(z.read(name))


def demo_titles() -> list[str]:
    config = yaml.safe_load((DEMO / "book.yaml").read_text(encoding="utf-8"))
    titles = []
    for name in config["contents"]:
        text = (DEMO / name).read_text(encoding="utf-8")
        meta = yaml.safe_load(text.split("---")[1])
        titles.append((meta.get("kind", "chapter"), meta.get("title")))
    return titles


# -- the demo book ----------------------------------------------------------------------------


def test_demo_epub_passes_epubcheck(demo_build: Path) -> None:
    assert epubcheck_messages(demo_build / "lei-jun.epub") == []


def test_demo_epub_metadata_and_spine(demo_build: Path) -> None:
    opf = opf_of(demo_build / "lei-jun.epub")
    config = yaml.safe_load((DEMO / "book.yaml").read_text(encoding="utf-8"))
    assert opf.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert opf.xpath("//dc:title[@id='title']/text()", namespaces=NS) == [config["title"]]
    assert opf.xpath("//dc:language/text()", namespaces=NS) == ["en"]
    creators = opf.xpath("//dc:creator", namespaces=NS)
    assert [c.text for c in creators] == [a["name"] for a in config["author"]]
    assert len({c.get("id") for c in creators}) == len(creators)
    ident = opf.xpath("//dc:identifier/text()", namespaces=NS)[0]
    assert ident.startswith("urn:uuid:")
    assert opf.xpath("//dc:publisher/text()", namespaces=NS) == [config["publisher"]]
    assert opf.xpath("//dc:date/text()", namespaces=NS) == [str(config["date"])]
    assert opf.xpath("//dc:subject/text()", namespaces=NS) == config["subjects"]
    assert opf.xpath("//dc:rights/text()", namespaces=NS) == [config["rights"]]
    assert opf.xpath("//opf:meta[@property='dcterms:modified']/text()", namespaces=NS) == ["2026-05-28T20:26:40Z"]
    # Spine: the chapters follow the order of book.yaml's contents.
    manifest = {i.get("id"): i.get("href") for i in opf.xpath("//opf:item", namespaces=NS)}
    spine = [manifest[r.get("idref")] for r in opf.xpath("//opf:itemref", namespaces=NS)]
    chapter_files = [h for h in spine if h.startswith("text/") and h not in ("text/titlepage.xhtml", "text/copyright.xhtml", "text/cover.xhtml")]
    expected = [f"text/{re.sub(r'^[0-9]+-', '', Path(n).stem)}.xhtml" for n in config["contents"]]
    # The generated Notes and Bibliography come before the about-the-author page and the index (CMOS 1.4).
    at = expected.index("text/about-the-author.xhtml")
    expected[at:at] = ["text/book-notes.xhtml", "text/book-bibliography.xhtml"]
    assert chapter_files == expected


def test_demo_nav_lists_every_titled_file_with_parts(demo_build: Path) -> None:
    nav = read_zip(demo_build / "lei-jun.epub", "EPUB/nav.xhtml")
    top = nav.xpath("//x:nav[@epub:type='toc']/x:ol/x:li", namespaces=NS)
    labels = ["".join(li.xpath("./x:a//text()", namespaces=NS)) for li in top]
    parts = [t for k, t in demo_titles() if k == "part"]
    assert all(any(p in label for label in labels) for p in parts)
    nested = nav.xpath("//x:nav[@epub:type='toc']/x:ol/x:li/x:ol/x:li/x:a", namespaces=NS)
    chapters = [t for k, t in demo_titles() if k == "chapter"]
    assert ["".join(a.itertext()).split(". ", 1)[1] for a in nested] == chapters


def test_identifier_is_stable_across_builds(demo_build: Path, tmp_path: Path) -> None:
    result = run_cli("build", str(DEMO), "-o", str(tmp_path), "--format", "epub")
    assert result.returncode == 0, result.stderr
    first = opf_of(demo_build / "lei-jun.epub").xpath("//dc:identifier/text()", namespaces=NS)
    second = opf_of(tmp_path / "lei-jun.epub").xpath("//dc:identifier/text()", namespaces=NS)
    assert first == second


def test_demo_pdf_outline_pages_fonts_and_text(demo_build: Path) -> None:
    pdf = demo_build / "lei-jun.pdf"
    with pymupdf.open(pdf) as doc:
        outline = [title for level, title, page in doc.get_toc()]
        metadata = doc.metadata
        pages = doc.page_count
        fonts = {f[3]: f for page in doc for f in page.get_fonts(full=True)}
    titled = [t for k, t in demo_titles() if t and k not in ("dedication", "epigraph")]
    for title in titled:
        # Chapters read as in the nav: "1. A Boy from Xiantao".
        assert title in outline or any(re.fullmatch(rf"\d+\. {re.escape(title)}", o) for o in outline), (
            f"{title!r} missing from the PDF outline")
    assert 30 < pages < 200
    assert metadata["title"].startswith("Lei Jun")
    assert metadata["author"] == "Daniel Ashworth"
    assert "Biography" in metadata["keywords"]
    assert metadata["subject"]
    # Every font is one of ours, embedded (a file stream exists) and subset (ABCDEF+ prefix).
    assert fonts, "no fonts found"
    for name, info in fonts.items():
        assert re.match(r"^[A-Z]{6}\+Book-(Serif|CJK)", name), f"unexpected font {name}"
    save_artifact("demo.pdf", pdf)


def test_demo_pdf_has_every_chapter_opening_words(demo_build: Path) -> None:
    text = re.sub(r"\s+", " ", " ".join(pdf_text_pages(demo_build / "lei-jun.pdf")))
    config = yaml.safe_load((DEMO / "book.yaml").read_text(encoding="utf-8"))
    for name in config["contents"]:
        body = (DEMO / name).read_text(encoding="utf-8").split("---", 2)[2]
        first = next((line for line in body.splitlines() if line.strip() and not line.startswith(("#", "|", ">", "!"))), None)
        if first is None:
            continue
        first = re.sub(r"\{[^{}]*\}", "", first)  # bracketed-span attributes ({.index entry=...}) do not print
        words = re.sub(r"[^\w\s]", " ", first).split()[:4]
        pattern = r"\W+".join(re.escape(w) for w in words)
        assert re.search(pattern, text, re.IGNORECASE), f"{name}: opening words {words} not found in the PDF"


def test_chinese_characters_are_in_the_pdf_with_real_glyphs(demo_build: Path) -> None:
    text = "".join(pdf_text_pages(demo_build / "lei-jun.pdf"))
    for word in ("雷军", "小米", "金山"):
        assert word in text
    # Extracted text is not proof of a drawn glyph (engine-notes 9): the CJK font must cover them.
    font = TTFont(REPO / "styles" / "fonts" / "NotoSerifSC-Regular.otf")
    cmap = font.getBestCmap()
    used = {ch for ch in text if "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef"}
    assert used and all(ord(ch) in cmap for ch in used)
    pdffonts = subprocess.run(["pdffonts", str(demo_build / "lei-jun.pdf")], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in pdffonts.splitlines()[2:]]
    assert rows and all(r[-5] == "yes" for r in rows), pdffonts  # the "emb" column


# -- a book outside the repository, built from elsewhere ---------------------------------------


def test_small_book_outside_repo_from_any_directory(make_book: Callable[..., Path], tmp_path: Path) -> None:
    root = make_book({
        "book.yaml": "title: \"Quiet Hours: A Memoir\"\nauthor: [Ann Lee, Bo Chen]\nlanguage: en\n",
        "one.md": "# Beginnings\n\nIt began in 1971 in 深圳.[^1]\n\n[^1]: A note.\n",
        "two.md": "# Endings\n\nIt ended well.[^1]\n\n[^1]: Another note.\n",
    }, name="elsewhere/manuscript")
    cwd = tmp_path / "elsewhere"
    result = run_cli("build", "manuscript", "-o", "out", cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert "wrote out/quiet-hours-a-memoir.pdf" in result.stdout
    assert re.search(r"\(\d+ pages\)", result.stdout)
    epub = cwd / "out" / "quiet-hours-a-memoir.epub"
    assert epubcheck_messages(epub) == []
    with zipfile.ZipFile(epub) as z:
        names = z.namelist()
        assert names[0] == "mimetype" and z.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
        assert "EPUB/css/epub.css" in names
    pdf_text = " ".join(pdf_text_pages(cwd / "out" / "quiet-hours-a-memoir.pdf"))
    assert "深圳" in pdf_text and "Beginnings" in pdf_text


def test_epub_only_build_does_not_import_weasyprint(make_book: Callable[..., Path], tmp_path: Path) -> None:
    root = make_book({"book.yaml": "title: T\nauthor: A\nlanguage: en\n", "a.md": "# A\n\nText.\n"})
    code = (
        "import sys; from pathlib import Path; from bookmaker.pipeline import build; "
        f"build(Path({str(root)!r}), Path({str(tmp_path / 'o')!r}), ('epub',)); "
        "print('weasyprint' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    assert (tmp_path / "o" / "t.epub").is_file() and not (tmp_path / "o" / "t.pdf").exists()


def test_cli_version_and_bad_input(tmp_path: Path) -> None:
    version = run_cli("--version")
    assert version.returncode == 0 and "bookmaker, version" in version.stdout
    missing = run_cli("build", str(tmp_path / "nowhere"))
    assert missing.returncode == 3
    assert "Traceback" not in missing.stderr
    assert missing.stderr.strip().count("\n") == 0
    assert "nowhere: manuscript folder not found" in missing.stderr
    bad_format = run_cli("build", str(DEMO), "--format", "docx")
    assert bad_format.returncode == 2 and "docx" in bad_format.stderr


def test_slug_can_be_overridden(make_book: Callable[..., Path], tmp_path: Path) -> None:
    root = make_book({"book.yaml": "title: T\nauthor: A\nlanguage: en\nslug: my-book\n", "a.md": "# A\n\nText.\n"})
    result = run_cli("build", str(root), "-o", str(tmp_path / "o"), "--format", "epub")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "o" / "my-book.epub").is_file()
