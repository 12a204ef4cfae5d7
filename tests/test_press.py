"""The cover wrap and the print-shop preflight: geometry against the printers' formulas, each rule broken by a small book."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import zipfile
from pathlib import Path

import pymupdf
import pytest
from conftest import DEMO, run_cli, write_book
from PIL import Image

from bookmaker.builders.coverwrap import CoverWrapBuilder, ebook_cover
from bookmaker.pipeline import build, read_book
from bookmaker.preflight import preflight
from bookmaker.press import pad_to_even
from bookmaker.printers import INGRAMSPARK, KDP
from bookmaker.resources import default_styles

CHAPTER = """\
# {title}

{body}
"""

PARAGRAPH = ("The harbour was quiet that winter, and the ferries ran only twice a day. "
             "She kept a ledger of every boat that came in, and of the weather, and of who was aboard. ") * 4


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 90, 60)).save(out, "PNG")
    return out.getvalue()


def _book(root: Path, yaml: str, chapters: int = 2, extra: dict[str, str | bytes] | None = None) -> Path:
    files: dict[str, str | bytes] = {"book.yaml": yaml}
    for i in range(1, chapters + 1):
        files[f"{i:02d}-c.md"] = CHAPTER.format(title=f"Harbour {i}", body="\n\n".join([PARAGRAPH] * 3))
    files.update(extra or {})
    return write_book(root, files)


def _inches(points: float) -> float:
    return points / 72


def _boxes(pdf: Path) -> dict[str, list[float]]:
    with pymupdf.open(pdf) as doc:
        page = doc[0]
        return {key: [float(v) for v in doc.xref_get_key(page.xref, key)[1].strip("[] ").split()]
                for key in ("MediaBox", "TrimBox", "BleedBox")}


# ---- the cover wrap -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cover_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cover") / "manuscript"
    yaml = ("title: The Lighthouse Keeper's Ledger\nsubtitle: A Life on the Northern Coast\nauthor: Maren Holt\n"
            "language: en\npublisher: Gull Rock Books\nisbn: 978-0-306-40615-7\n"
            "cover_copy: |\n  She counted the ships for forty years.\n\n  This is her story, told from her ledgers.\n"
            "author_bio: Maren Holt grew up on the coast she writes about.\n")
    return _book(root, yaml, chapters=1)


@pytest.mark.parametrize(("printer", "paper", "pages", "caliper", "allowance"), [
    (KDP, "white", 24, 0.002252, 0.0),
    (KDP, "white", 78, 0.002252, 0.0),
    (KDP, "cream", 79, 0.0025, 0.0),
    (KDP, "white", 300, 0.002252, 0.0),
    (KDP, "cream", 612, 0.0025, 0.0),
    (INGRAMSPARK, "white", 250, 1 / 472, 0.002),
])
def test_cover_geometry_follows_the_printer_formula(cover_book: Path, tmp_path: Path, printer, paper, pages, caliper, allowance) -> None:
    book = read_book(cover_book)
    book.config.pdf.printer, book.config.pdf.paper = printer.name, paper
    result = CoverWrapBuilder(book, pages).build_cover(tmp_path)
    spine = pages * caliper + allowance
    boxes = _boxes(result.path)
    trim_w, trim_h = _inches(boxes["TrimBox"][2] - boxes["TrimBox"][0]), _inches(boxes["TrimBox"][3] - boxes["TrimBox"][1])
    media_w, media_h = _inches(boxes["MediaBox"][2] - boxes["MediaBox"][0]), _inches(boxes["MediaBox"][3] - boxes["MediaBox"][1])
    assert trim_w == pytest.approx(2 * 6 + spine, abs=0.002)
    assert trim_h == pytest.approx(9, abs=0.002)
    assert media_w == pytest.approx(2 * 6 + spine + 0.25, abs=0.002)
    assert media_h == pytest.approx(9.25, abs=0.002)
    assert boxes["BleedBox"] == boxes["MediaBox"]

    with pymupdf.open(result.path) as doc:
        page = doc[0]
        assert all(font[1] != "n/a" for font in page.get_fonts(full=True)), "every cover font is embedded"
        # Page coordinates: the trim starts 0.125 in (9 pt) inside the sheet.
        fold_left, fold_right = (0.125 + 6) * 72, (0.125 + 6 + spine) * 72
        spine_spans = [span for block in page.get_text("dict")["blocks"] for line in block.get("lines", [])
                       for span in line["spans"] if span["text"].strip()
                       and span["bbox"][0] < fold_right and span["bbox"][2] > fold_left]
        text = page.get_text()
    spine_text_expected = pages >= printer.spine_text_min_pages and spine >= printer.spine_text_min_width
    if not spine_text_expected:
        assert spine_spans == []
    else:
        assert {s["text"].strip() for s in spine_spans} >= {book.config.title}  # as typeset (quotes made typographic)
        for span in spine_spans:
            assert span["bbox"][0] >= fold_left + 0.0625 * 72 - 0.2
            assert span["bbox"][2] <= fold_right - 0.0625 * 72 + 0.2
    assert "She counted the ships for forty years." in text  # the back-cover copy
    assert "Maren Holt grew up on the coast" in text
    assert "ISBN 9780306406157" in text


def test_cover_back_keeps_the_barcode_area_clear_and_looks_designed(cover_book: Path, tmp_path: Path) -> None:
    book = read_book(cover_book)
    result = CoverWrapBuilder(book, 200).build_cover(tmp_path)
    report = preflight(KDP, "white", _interior_for(cover_book, tmp_path, 200), result.path)
    assert not [f for f in report.findings if f.code in ("BM815", "BM814", "BM813")]
    # Rendered, the barcode box is white and the ground around it is the cover's dark ground.
    with pymupdf.open(result.path) as doc:
        pix = doc[0].get_pixmap(dpi=30)
    x = int((0.125 + 6 - 0.25 - 1.0) * 30)
    y = int((0.125 + 9 - 0.25 - 0.6) * 30)
    assert pix.pixel(x, y)[:3] == (255, 255, 255)
    assert sum(pix.pixel(int(3 * 30), int(5 * 30))[:3]) < 200


def _interior_for(root: Path, tmp_path: Path, pages: int) -> Path:
    """A blank interior of ``pages`` 6x9 in pages: stands for a laid-out book in cover-only checks."""
    doc = pymupdf.open()
    for _ in range(pages):
        doc.new_page(width=432, height=648)
    path = tmp_path / f"blank-{pages}.pdf"
    doc.save(path)
    return path


def test_front_image_cover_fills_the_front_panel_and_the_ebook_cover_is_store_size(tmp_path: Path) -> None:
    art = io.BytesIO()
    Image.new("RGB", (1900, 2800), (200, 40, 40)).save(art, "JPEG")
    root = _book(tmp_path / "m", "title: Red\nauthor: A. Painter\nlanguage: en\ncover: front.jpg\n", chapters=1,
                 extra={"front.jpg": art.getvalue()})
    book = read_book(root)
    result = CoverWrapBuilder(book, 120).build_cover(tmp_path)
    with pymupdf.open(result.path) as doc:
        pix = doc[0].get_pixmap(dpi=72)
        images = doc[0].get_image_info()
    assert len(images) == 1
    # The image covers the front panel from the fold to the bleed's edge, and nothing else.
    fold = (0.125 + 6 + 120 * 0.002252) * 72
    y = int(4 * 72)
    assert pix.pixel(int(fold) + 2, y)[0] > 150 and pix.pixel(pix.width - 1, y)[0] > 150
    assert pix.pixel(int(fold) - 3, y)[0] < 150  # the spine takes a deeper ground from the image
    assert pix.pixel(int(2 * 72), y)[0] < 150
    jpeg = Image.open(io.BytesIO(ebook_cover(book.config)))
    assert jpeg.format == "JPEG" and jpeg.size == (1600, 2560) and jpeg.mode == "RGB"
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(io.BytesIO(jpeg.info["icc_profile"]))
    assert "sRGB" in ImageCms.getProfileDescription(profile)
    assert ebook_cover(book.config) == ebook_cover(book.config)  # reproducible: no date in the profile


# ---- preflight: each rule broken by a small book ------------------------------------------------

BAD_CSS = """
.tiny { font-size: 5pt; }
.ghost { opacity: 0.4; }
.wide { display: block; margin-left: -0.5in; margin-right: -0.5in; }
.edge { display: block; position: absolute; left: -1in; width: 0.5in; height: 0.5in; background: #333; }
img { width: 3in !important; height: auto !important; max-width: none !important; }
"""


@pytest.fixture(scope="module")
def bad_book(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("bad")
    theme = base / "styles"
    theme.mkdir()
    shutil.copytree(default_styles() / "fonts", theme / "fonts")
    (theme / "print.css").write_text((default_styles() / "print.css").read_text(encoding="utf-8") + BAD_CSS, encoding="utf-8")
    body = ("[Set far too small to read.]{.tiny}\n\n[A faded aside.]{.ghost}\n\n"
            f"[{PARAGRAPH}]{{.wide}}\n\n" "[]{.edge}\n\n![A small photograph](small.png)\n")
    root = write_book(base / "manuscript", {
        "book.yaml": "title: Off the Press\nauthor: B. Wrong\nlanguage: en\nstyles: ../styles\npdf:\n  trim: 140x200mm\n",
        "01-a.md": CHAPTER.format(title="Faults", body=body),
    })
    (root / "small.png").write_bytes(_png(150, 90))
    out = base / "out"
    result = build(root, out, ("pdf",))
    return root, result.outputs["pdf"]


def _codes(report) -> dict[str, list]:  # type: ignore[no-untyped-def]
    found: dict[str, list] = {}
    for f in report.findings:
        found.setdefault(f.code, []).append(f)
    return found


def test_each_interior_rule_fires_on_a_book_that_breaks_it(bad_book: tuple[Path, Path]) -> None:
    _, pdf = bad_book
    report = preflight(KDP, "white", pdf, None, with_cover=False)
    codes = _codes(report)
    assert "BM800" in codes  # 140 x 200 mm is not a KDP trim
    assert "BM801" in codes  # far fewer than 24 pages
    for code in ("BM803", "BM804", "BM805", "BM807", "BM808", "BM809"):
        assert code in codes, (code, report.as_text())
        assert all(f.page for f in codes[code]), "page findings carry their page number"
    assert "BM806" not in codes and "BM811" not in codes
    assert codes["BM808"][0].message.startswith("text at 5.0 pt")
    # Every rule run is in the report, findings or not.
    ran = {c["code"] for c in report.as_dict()["checks"]}
    assert {"BM800", "BM801", "BM802", "BM803", "BM804", "BM805", "BM806", "BM807", "BM808", "BM809", "BM811"} <= ran


def test_odd_page_count_is_found_and_padding_fixes_it(bad_book: tuple[Path, Path], tmp_path: Path) -> None:
    _, pdf = bad_book
    copy = tmp_path / "odd.pdf"
    copy.write_bytes(pdf.read_bytes())
    with pymupdf.open(copy) as doc:
        pages = doc.page_count
    if pages % 2 == 0:  # make it odd: drop the last page
        with pymupdf.open(pdf) as doc:
            doc.delete_page(-1)
            doc.save(copy)
        pages -= 1
    assert "BM802" in _codes(preflight(KDP, "white", copy, None, with_cover=False))
    assert pad_to_even(copy) == pages + 1
    after = preflight(KDP, "white", copy, None, with_cover=False)
    assert "BM802" not in _codes(after)
    assert _boxes(copy)["TrimBox"] == _boxes(pdf)["TrimBox"]


def test_marks_rejected_by_kdp_and_ingramspark_wants_pdfx(tmp_path: Path) -> None:
    root = _book(tmp_path / "m", "title: Marked\nauthor: C. Mark\nlanguage: en\npdf:\n  marks: crop\n", chapters=1)
    pdf = build(root, tmp_path / "out", ("pdf",)).outputs["pdf"]
    codes = _codes(preflight(KDP, "white", pdf, None, with_cover=False))
    assert "BM811" in codes
    assert "BM810" not in codes  # KDP does not ask for PDF/X
    ingram = _codes(preflight(INGRAMSPARK, "white", pdf, None, with_cover=False))
    assert "BM810" in ingram and "BM811" in ingram


def test_unembedded_font_is_found(tmp_path: Path) -> None:
    # WeasyPrint always embeds, so this PDF is made by hand: Helvetica, one of the 14 base fonts, is never embedded.
    doc = pymupdf.open()
    for _ in range(24):
        page = doc.new_page(width=432, height=648)
        page.insert_text((72, 100), "Not embedded", fontname="helv", fontsize=11)
    path = tmp_path / "base14.pdf"
    doc.save(path)
    codes = _codes(preflight(KDP, "white", path, None, with_cover=False))
    assert "BM806" in codes and "Helvetica" in codes["BM806"][0].message


def test_cover_rules_fire_on_a_cover_that_breaks_them(cover_book: Path, tmp_path: Path) -> None:
    book = read_book(cover_book)
    interior = _interior_for(cover_book, tmp_path, 40)
    # A cover made for 300 pages: wrong size and spine, and spine text on a 40-page book.
    wrong = CoverWrapBuilder(book, 300).build_cover(tmp_path)
    codes = _codes(preflight(KDP, "white", interior, wrong.path))
    assert {"BM812", "BM813"} <= set(codes)
    assert "12.340 x 9.250 in for 40 pages" in codes["BM812"][0].message  # 2 x 6 + 40 x 0.002252 + 2 x 0.125
    # Spine text set right up to the folds.
    loose = CoverWrapBuilder(book, 100)
    loose.geometry = dataclasses.replace(loose.geometry, fold_margin=0.0)
    (tmp_path / "loose").mkdir()
    path = loose.build_cover(tmp_path / "loose").path
    assert "BM814" in _codes(preflight(KDP, "white", _interior_for(cover_book, tmp_path, 100), path))
    # Back-cover copy so long that it runs into the barcode area.
    book.config.cover_copy = "\n\n".join([PARAGRAPH] * 8)
    (tmp_path / "crowded").mkdir()
    crowded = CoverWrapBuilder(book, 40).build_cover(tmp_path / "crowded").path
    assert "BM815" in _codes(preflight(KDP, "white", interior, crowded))
    # No cover at all.
    assert "BM816" in _codes(preflight(KDP, "white", interior, None))


# ---- the demo, packaged for KDP ------------------------------------------------------------------


@pytest.fixture(scope="module")
def kdp_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package")
    result = run_cli("package", str(DEMO), "--for", "kdp", "-o", str(out), "--strict", env={"SOURCE_DATE_EPOCH": "1780000000"})
    assert result.returncode == 0, result.stderr
    return out / "lei-jun-kdp"


def test_demo_kdp_package_is_complete_and_clean(kdp_package: Path) -> None:
    names = sorted(p.name for p in kdp_package.iterdir())
    assert names == ["lei-jun-cover.pdf", "lei-jun-ebook-cover.jpg", "lei-jun-interior.pdf", "lei-jun-preflight.json",
                     "lei-jun-preflight.txt", "lei-jun.epub", "metadata.json", "metadata.txt"]
    report = json.loads((kdp_package / "lei-jun-preflight.json").read_text(encoding="utf-8"))
    assert report["findings"] == [] and report["printer"] == "kdp"
    assert len(report["checks"]) >= 15 and all(c["passed"] for c in report["checks"])
    with pymupdf.open(kdp_package / "lei-jun-interior.pdf") as doc:
        pages = doc.page_count
    assert pages % 2 == 0 and report["pages"] == pages
    sheet = json.loads((kdp_package / "metadata.json").read_text(encoding="utf-8"))
    assert sheet["title"] == "Lei Jun" and sheet["subtitle"] == "The Programmer Who Built Xiaomi"
    assert sheet["contributors"] == [{"name": "Daniel Ashworth", "role": "author", "label": "By"}]
    assert sheet["page_count"] == pages and sheet["trim"] == "6.000 x 9.000 in" and sheet["paper"] == "white"
    assert sheet["bisac"] == ["BIO003000", "BUS025000"] and len(sheet["keywords"]) == 7
    assert sheet["spine_width_in"] == pytest.approx(pages * 0.002252, abs=0.0001)
    text = (kdp_package / "metadata.txt").read_text(encoding="utf-8")
    assert "Title: Lei Jun" in text and f"Page count: {pages}" in text and "BIO003000" in text
    boxes = _boxes(kdp_package / "lei-jun-cover.pdf")
    assert _inches(boxes["MediaBox"][2] - boxes["MediaBox"][0]) == pytest.approx(12.25 + pages * 0.002252, abs=0.002)


def test_check_printer_reports_what_was_checked(tmp_path: Path, bad_book: tuple[Path, Path]) -> None:
    root, _ = bad_book
    # Findings are warnings: --strict makes them fail (exit 6); the JSON says what was checked.
    result = run_cli("check", str(root), "--printer", "kdp", "--format", "json", "--strict")
    assert result.returncode == 6, result.stderr
    payload = json.loads(result.stdout)
    codes = {f["code"] for f in payload["findings"]}
    assert {"BM800", "BM801", "BM807"} <= codes
    assert all(f["severity"] == "warning" for f in payload["findings"] if f["code"].startswith("BM8"))
    assert any(f["message"].startswith("page ") and f["path"].endswith(".pdf") for f in payload["findings"])
    assert payload["preflight"]["printer"] == "kdp"
    assert {c["code"] for c in payload["preflight"]["checks"]} >= {"BM800", "BM803", "BM812", "BM815"}


GS_CMYK = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")


def test_ingramspark_build_with_pdfx4_passes_the_pdfx_rule_on_interior_and_cover(tmp_path: Path) -> None:
    # Eighteen pages at least: IngramSpark's minimum.
    root = _book(tmp_path / "m", "title: Ink and Paper\nauthor: D. Press\nlanguage: en\n"
                 "pdf:\n  printer: ingramspark\n  standard: pdf/x-4\n", chapters=7)
    (root / "press.icc").write_bytes(GS_CMYK.read_bytes())
    result = build(root, tmp_path / "out", None)
    assert {"pdf", "epub", "cover", "cover-image", "preflight", "preflight-json"} <= set(result.outputs)
    report = json.loads(result.outputs["preflight-json"].read_text(encoding="utf-8"))
    pdfx = [c for c in report["checks"] if c["code"] == "BM810"]
    assert len(pdfx) == 2 and all(c["passed"] for c in pdfx), report
    assert report["findings"] == [], report["findings"]
    # Without the profile the same book fails the rule.
    (root / "press.icc").unlink()
    again = build(root, tmp_path / "out2", ("pdf",))
    report = json.loads(again.outputs["preflight-json"].read_text(encoding="utf-8"))
    assert "BM810" in {f["code"] for f in report["findings"]}


@pytest.mark.parametrize(("store", "files"), [
    ("kobo", {"tide.kepub.epub", "tide-cover.jpg", "metadata.json", "metadata.txt"}),
    ("apple", {"tide.epub", "tide-cover.jpg", "metadata.json", "metadata.txt"}),
])
def test_ebook_store_packages_are_complete(tmp_path: Path, store: str, files: set[str]) -> None:
    from bookmaker.package import make_package

    root = _book(tmp_path / "m", "title: Tide\nauthor: [{name: E. Varga, role: author}]\nlanguage: en\n"
                 "isbns:\n  ebook: 978-3-16-148410-0\nkeywords: [sea, tide]\n", chapters=1)
    folder = make_package(root, tmp_path / "out", store)
    assert {p.name for p in folder.iterdir()} == files
    sheet = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert sheet["isbns"] == {"ebook": "9783161484100"} and sheet["keywords"] == ["sea", "tide"]
    assert sheet["contributors"][0]["name"] == "E. Varga"
    # The ebook is the store's edition (EPUBCheck runs on each edition in test_stores.py).
    with zipfile.ZipFile(next(p for p in folder.iterdir() if p.suffix == ".epub")) as zf:
        kepub = any(b"koboSpan" in zf.read(n) for n in zf.namelist() if n.endswith(".xhtml"))
    assert kepub == (store == "kobo")


def test_chinese_spine_stands_upright_between_the_folds(tmp_path: Path) -> None:
    root = write_book(tmp_path / "m", {"book.yaml": "title: 小米的故事\nauthor: 王小明\nlanguage: zh-Hans\n", "a.md": "# 一\n\n文字。\n"})
    book = read_book(root)
    result = CoverWrapBuilder(book, 320).build_cover(tmp_path)
    spine = 320 * 0.002252
    fold_left, fold_right = (0.125 + 6) * 72, (0.125 + 6 + spine) * 72
    with pymupdf.open(result.path) as doc:
        lines = [line for block in doc[0].get_text("dict")["blocks"] for line in block.get("lines", [])
                 if line["bbox"][0] < fold_right and line["bbox"][2] > fold_left]
    chars = "".join(span["text"] for line in lines for span in line["spans"]).replace(" ", "")
    assert chars == "小米的故事王小明"
    assert all(line["dir"] == (1.0, 0.0) for line in lines)  # upright, not turned on its side
    tops = [line["bbox"][1] for line in lines]
    assert tops == sorted(tops)  # read from top to bottom
    for line in lines:
        assert line["bbox"][0] >= fold_left + 0.0625 * 72 - 0.2 and line["bbox"][2] <= fold_right - 0.0625 * 72 + 0.2


def test_cover_crop_marks_only_when_asked(cover_book: Path, tmp_path: Path) -> None:
    book = read_book(cover_book)
    plain = CoverWrapBuilder(book, 100).build_cover(tmp_path).path
    with pymupdf.open(plain) as doc:
        assert not [d for d in doc[0].get_drawings() if d["rect"].x1 <= 9 or d["rect"].y1 <= 9]
    book.config.pdf.cover_marks = "crop"
    (tmp_path / "marked").mkdir()
    marked = CoverWrapBuilder(book, 100).build_cover(tmp_path / "marked").path
    with pymupdf.open(marked) as doc:
        page = doc[0]
        trim = pymupdf.Rect([float(v) for v in doc.xref_get_key(page.xref, "TrimBox")[1].strip("[] ").split()]) * page.transformation_matrix
        outside = [d for d in page.get_drawings()
                   if d["rect"].x1 <= trim.x0 + 0.5 or d["rect"].y1 <= trim.y0 + 0.5]
    assert outside, "crop marks are drawn in the bleed, outside the trim"


def test_cover_copy_prints_emphasis_and_curly_quotes_not_markdown(tmp_path: Path) -> None:
    yaml = ("title: The Keeper\nauthor: Maren Holt\nlanguage: en\n"
            "cover_copy: |\n  \"A quiet triumph.\" -- The Northern Review\n\n"
            "  She counted the *ships* for forty years, and kept every one in her ledgers.\n"
            "author_bio: Maren Holt grew up on the coast she writes about in *The Keeper*.\n")
    root = _book(tmp_path / "manuscript", yaml, chapters=1)
    result = CoverWrapBuilder(read_book(root), 120).build_cover(tmp_path)
    with pymupdf.open(result.path) as doc:
        text = doc[0].get_text()
        italic = {span["text"].strip() for block in doc[0].get_text("dict")["blocks"] for line in block.get("lines", [])
                  for span in line["spans"] if span["flags"] & 2}
    assert "\u201cA quiet triumph.\u201d \u2013 The Northern Review" in " ".join(text.split())
    assert "*" not in text and '"' not in text
    assert "ships" in italic and "The Keeper" in italic, italic
