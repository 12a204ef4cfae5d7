"""Image sizes: every image fits its box (table cell, figure, text block), takes its intrinsic size when smaller, and honours {width=...} in both formats."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pymupdf
import pytest
from lxml import etree
from PIL import Image as PILImage

from bookmaker.config import load_config
from bookmaker.geometry import Geometry
from bookmaker.images import svg_size
from conftest import epubcheck_messages, run_cli, write_book

BIG_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="1259" height="847" viewBox="0 0 1259 847">'
           '<rect x="5" y="5" width="1249" height="837" fill="#ddd" stroke="#000" stroke-width="10"/></svg>')

CHAPTER = """\
# Pictures in Boxes

A table whose cells hold drawings declared 1259 by 847 pixels:

| Before | During | After |
|---|---|---|
| ![The first state](images/big1.svg) | ![The second state](images/big2.svg) | ![The third state](images/big3.svg) |
| start | middle | end |

An icon ![a square icon](images/icon.svg) in a line of text.

![A small raster of 150 by 100 pixels](images/small.png)

![A drawing two inches wide](images/two-inch.svg)

![A raster of 300 pixels at 150 dpi](images/dpi150.png)

![A large raster](images/huge.png)

![The first state at forty percent](images/big1.svg){width=40%}

![The large raster at an inch and a half](images/huge.png){width=1.5in}

![A very tall raster](images/tall.png)

![An icon with a size that is not one](images/icon.svg){width=wide}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, str]:
    root = write_book(tmp_path_factory.mktemp("images") / "ms", {
        "book.yaml": "title: Pictures in Boxes\nauthor: Ada Framer\nlanguage: en\ndate: 2026-04-01\n",
        "01-pictures.md": CHAPTER,
        "images/big1.svg": BIG_SVG, "images/big2.svg": BIG_SVG, "images/big3.svg": BIG_SVG,
        "images/icon.svg": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48"><rect width="48" height="48"/></svg>',
        "images/two-inch.svg": ('<svg xmlns="http://www.w3.org/2000/svg" width="2in" height="1in">'
                                '<rect width="192" height="96" fill="#666"/></svg>'),
    })
    images = root / "images"
    PILImage.new("RGB", (150, 100), "gray").save(images / "small.png")
    PILImage.new("RGB", (300, 150), "gray").save(images / "dpi150.png", dpi=(150, 150))
    PILImage.new("RGB", (3000, 2000), "gray").save(images / "huge.png")
    PILImage.new("RGB", (600, 3000), "gray").save(images / "tall.png")
    out = root.parent / "out"
    result = run_cli("build", str(root), "-o", str(out), env={"SOURCE_DATE_EPOCH": "1780000000"})
    assert result.returncode == 0, result.stderr
    return root, out / "pictures-in-boxes.pdf", out / "pictures-in-boxes.epub", result.stderr


def _widths(style: str) -> str:
    return re.search(r"width:\s*([^;]+)", style).group(1).strip()


def test_svg_intrinsic_size() -> None:
    assert svg_size(BIG_SVG.encode()) == (1259, 847)
    assert svg_size(b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 24"/>') == (48, 24)
    assert svg_size(b'<svg xmlns="http://www.w3.org/2000/svg" width="1in" viewBox="0 0 10 5"/>') == (96, 48)
    assert svg_size(b'<svg xmlns="http://www.w3.org/2000/svg" width="100%"/>') is None


def test_epub_images_carry_their_sizes(built: tuple[Path, Path, Path, str]) -> None:
    _, _, epub, _ = built
    with zipfile.ZipFile(epub) as z:
        name = next(n for n in z.namelist() if n.endswith(".xhtml") and b"Pictures in Boxes" in z.read(n) and b"<table" in z.read(n))
        tree = etree.fromstring(z.read(name))
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    sizes = {img.get("alt"): img.get("style") or "" for img in tree.iterfind(".//x:img", ns)}
    assert all(img.get("width") is None for img in tree.iterfind(".//x:img", ns))
    assert _widths(sizes["The first state"]) == "1259px"
    assert _widths(sizes["a square icon"]) == "48px"  # viewBox units at 96 px/in
    assert _widths(sizes["A small raster of 150 by 100 pixels"]) == "48px"  # 150 px at 300 dpi
    assert _widths(sizes["A drawing two inches wide"]) == "192px"
    assert _widths(sizes["A raster of 300 pixels at 150 dpi"]) == "192px"
    assert _widths(sizes["The first state at forty percent"]) == "40%"
    assert _widths(sizes["The large raster at an inch and a half"]) == "1.5in"
    assert tree.xpath("//x:table[contains(@class, 'with-images')]", namespaces=ns)


def test_bad_size_is_reported(built: tuple[Path, Path, Path, str]) -> None:
    _, _, _, stderr = built
    lines = [line for line in stderr.splitlines() if "'wide' is not a size" in line]
    assert len(lines) == 1 and "01-pictures.md:" in lines[0], stderr


def test_epub_is_valid(built: tuple[Path, Path, Path, str]) -> None:
    _, _, epub, _ = built
    assert epubcheck_messages(epub) == []


def _image_boxes(pdf: Path) -> list[tuple[int, pymupdf.Rect]]:
    """(1-based page, box) of every raster image and every vector drawing (SVG) in the PDF."""
    found = []
    with pymupdf.open(pdf) as doc:
        for number, page in enumerate(doc, 1):
            for info in page.get_image_info():
                found.append((number, pymupdf.Rect(info["bbox"])))
            for drawing in page.get_drawings():
                if drawing["rect"].width > 2 and drawing["rect"].height > 2:
                    found.append((number, drawing["rect"]))
    return found


def test_nothing_prints_outside_the_text_block(built: tuple[Path, Path, Path, str]) -> None:
    root, pdf, _, _ = built
    with pymupdf.open(pdf) as doc:
        pages = len(doc)
    geometry = Geometry.from_config(load_config(root)).for_pages(pages)
    boxes = _image_boxes(pdf)
    assert len(boxes) >= 10
    for number, box in boxes:
        x0, y0, x1, y1 = geometry.text_box(number)
        assert box.x0 >= x0 - 1 and box.x1 <= x1 + 1, (number, box, (x0, x1))
        assert box.y0 >= y0 - 1 and box.y1 <= y1 + 1, (number, box, (y0, y1))


def test_images_print_at_their_size(built: tuple[Path, Path, Path, str]) -> None:
    root, pdf, _, _ = built
    with pymupdf.open(pdf) as doc:
        rasters = [pymupdf.Rect(info["bbox"]) for page in doc for info in page.get_image_info()]
    widths = sorted(round(r.width / 72, 2) for r in rasters)
    # small.png: 0.5in; dpi150.png: 2in; huge.png at 1.5in; huge.png capped at the text width;
    # tall.png made smaller to fit the page's figure height.
    assert 0.5 in widths and 2.0 in widths and 1.5 in widths, widths
    text_width = Geometry.from_config(load_config(root)).text_width / 72
    assert max(widths) <= round(text_width, 2) + 0.01
    tall = [r for r in rasters if r.height > r.width * 4]
    assert tall and abs(tall[0].height / tall[0].width - 5) < 0.05  # not distorted
