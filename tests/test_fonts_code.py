"""Bundled fonts only (no machine font in the PDF, BM510 for what none has) and code blocks (mono face, highlighting, wrapping)."""

from __future__ import annotations

import json

import re
import subprocess
import zipfile
from pathlib import Path

import pymupdf
import pytest
from lxml import etree

from conftest import REPO, epubcheck_messages, run_cli, write_book

SCRIPTS = """\
# Letters Home

Bà ngoại viết: “Tiếng Việt có dấu — Trần Hưng Đạo, Nguyễn Thị Minh Khai, ước mơ.”
The Greek letter said «Καλημέρα, φίλε μου· ἀρχὴ ἥμισυ παντός» and the cousin in Kyiv
answered «Здравствуйте! Ёлка, щука, объём, Їжак.» In Beijing she met 朱镕基 and 雷军.

Signs in her notebook: → ⇒ ↦ ≤ ≠ ≈ ∞ √ ∑ ✓ ✗ ★ ♠ ♪ ☐ ☑ № € ┌─┐.

Two signs nobody bundles: 𓀀 and 𓀀 again, then 𝔄.
"""

CODE = """\
# The Compiler Speaks

The compiler answered with carets under the span:

```text
error[E0308]: mismatched types
 --> src/main.rs:4:18
  |
4 |     let x: i32 = "hello";
  |            ---   ^^^^^^^ expected `i32`, found `&str`
```

The program:

```rust
/// Count the words of a text.
fn count_words(text: &str) -> usize {
    text.split_whitespace().count() // all of them
}

fn main() { let total_number_of_words_in_the_sentence = count_words("a sentence that is much too long to fit on one printed line of the book"); println!("{}", total_number_of_words_in_the_sentence); }
```

```cobolish
DISPLAY 'HELLO'.
```

With a tab:

```make
app:
\tcc -o app main.c\t# build
```
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    root = write_book(tmp_path_factory.mktemp("fonts") / "ms", {
        "book.yaml": "title: Letters Home\nauthor: Minh Trần\nlanguage: en\ndate: 2026-02-01\n",
        "01-letters.md": SCRIPTS,
        "02-code.md": CODE,
    })
    out = root.parent / "out"
    result = run_cli("build", str(root), "-o", str(out), env={"SOURCE_DATE_EPOCH": "1780000000"})
    assert result.returncode == 0, result.stderr
    return out / "letters-home.pdf", out / "letters-home.epub", result.stderr


def test_only_bundled_fonts_in_the_pdf(built: tuple[Path, Path, str]) -> None:
    pdf, _, _ = built
    listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    names = [line.split()[0] for line in listing.splitlines()[2:]]
    families = {re.sub(r"^[A-Z]{6}\+", "", n).split("-")[0] for n in names}
    assert families == {"Book"}, listing
    # Each script came from the face meant for it.
    for face in ("Book-Serif", "Book-CJK", "Book-Math", "Book-Mono"):
        assert any(re.sub(r"^[A-Z]{6}\+", "", n).startswith(face) for n in names), (face, listing)


def test_characters_beyond_gb2312_and_other_scripts_print(built: tuple[Path, Path, str]) -> None:
    pdf, _, stderr = built
    with pymupdf.open(pdf) as doc:
        text = "".join(page.get_text() for page in doc)
        chars = {}
        for page in doc:
            for block in page.get_text("rawdict")["blocks"]:
                for line in block.get("lines", []):
                    for span in line["spans"]:
                        for ch in span["chars"]:
                            chars.setdefault(ch["c"], span["font"])
    for word in ("朱镕基", "Nguyễn", "Καλημέρα", "ἥμισυ", "Здравствуйте", "Їжак"):
        assert word in text
    assert "Book-CJK" in chars["镕"]
    assert "Book-Math" in chars["⇒"] or "Book-Serif" in chars["⇒"]
    # 镕 is outside GB2312 but bundled: no warning for it.
    assert "U+9555" not in stderr


def test_one_warning_per_character_no_font_has(built: tuple[Path, Path, str]) -> None:
    _, _, stderr = built
    warnings = [line for line in stderr.splitlines() if "no bundled font" in line]
    assert len(warnings) == 2, stderr
    assert any("01-letters.md:9:" in w and "U+13000" in w for w in warnings), warnings
    assert any("U+1D504" in w for w in warnings), warnings


def test_check_reports_the_characters_no_font_has(built: tuple[Path, Path, str], tmp_path: Path) -> None:
    """``check`` names the same characters as the build (BM510), without laying anything out."""
    pdf, _, _ = built
    result = run_cli("check", str(pdf.parent.parent / "ms"), "--format", "json")
    findings = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "BM510"]
    assert sorted(f["message"].split("(U+")[1].split()[0] for f in findings) == ["13000", "1D504"], findings
    assert any(str(f["path"]).endswith("01-letters.md") and f["line"] == 9 for f in findings), findings


def _char_boxes(pdf: Path, font_part: str) -> list[tuple[str, tuple[float, float, float, float], int]]:
    found = []
    with pymupdf.open(pdf) as doc:
        for number, page in enumerate(doc):
            for block in page.get_text("rawdict")["blocks"]:
                for line in block.get("lines", []):
                    for span in line["spans"]:
                        if font_part in span["font"]:
                            found += [(ch["c"], ch["bbox"], number) for ch in span["chars"]]
    return found


def test_code_is_monospaced_and_carets_stay_aligned(built: tuple[Path, Path, str]) -> None:
    pdf, _, _ = built
    with pymupdf.open(pdf) as doc:
        page = next(p for p in doc if "mismatched types" in p.get_text())
        lines = []
        for block in page.get_text("rawdict")["blocks"]:
            for line in block.get("lines", []):
                chars = [c for s in line["spans"] for c in s["chars"]]
                lines.append(("".join(c["c"] for c in chars), chars, {s["font"] for s in line["spans"]}))
    source = next(item for item in lines if "let x: i32" in item[0])
    carets = next(item for item in lines if "^^^^^^^" in item[0])
    assert all("Mono" in f for f in source[2] | carets[2])
    quote_x = source[1][source[0].index('"hello"')]["bbox"][0]
    caret_x = carets[1][carets[0].index("^")]["bbox"][0]
    assert abs(quote_x - caret_x) < 0.5, (quote_x, caret_x)


def test_long_code_lines_wrap_inside_the_text_block_with_a_mark(built: tuple[Path, Path, str]) -> None:
    pdf, _, _ = built
    mono = _char_boxes(pdf, "Mono")
    serif = _char_boxes(pdf, "Serif")
    right = max(box[2] for _, box, _ in serif)  # justified text reaches the right edge of the block
    assert mono and max(box[2] for _, box, _ in mono) <= right + 0.5
    # The continuation arrow (from the bundled Noto Sans Math: JetBrains Mono has no U+21AA).
    marks = [box for ch, box, _ in _char_boxes(pdf, "Book") if ch == "\u21aa"]
    assert marks and all(box[2] <= right + 0.5 for box in marks)
    with pymupdf.open(pdf) as doc:
        text = "".join(page.get_text() for page in doc)
    # Nothing lost to the wrapping, and no hyphen added inside code.
    joined = re.sub("\n\u21aa ?", "", text)
    assert 'println!("{}", total_number_of_words_in_the_sentence); }' in joined
    assert "total_num-" not in text


def test_tab_stops_are_kept(built: tuple[Path, Path, str]) -> None:
    pdf, _, _ = built
    mono = _char_boxes(pdf, "Mono")
    text = "".join(ch for ch, _, _ in mono)
    start = text.index("app:cc -o")
    a, c, hash_ = mono[start], mono[start + 4], mono[text.index("# build")]
    advance = mono[start + 1][1][0] - a[1][0]
    # "\tcc -o app main.c\t# build": cc at the first tab stop (4), # at the sixth (24).
    assert abs((c[1][0] - a[1][0]) - 4 * advance) < 0.3
    assert abs((hash_[1][0] - a[1][0]) - 24 * advance) < 0.3


def test_fenced_language_is_highlighted_in_both_formats(built: tuple[Path, Path, str]) -> None:
    pdf, epub, stderr = built
    with zipfile.ZipFile(epub) as z:
        name = next(n for n in z.namelist() if n.endswith(".xhtml") and b"count_words" in z.read(n))
        tree = etree.fromstring(z.read(name))
        css = z.read("EPUB/css/epub.css").decode()
        fonts_css = z.read("EPUB/css/fonts.css").decode()
        names = z.namelist()
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    assert tree.xpath("//x:pre[contains(@class, 'highlight')]//x:span[@class='k' and .='fn']", namespaces=ns)
    assert tree.xpath("//x:pre[contains(@class, 'highlight')]//x:span[starts-with(@class, 'c')]", namespaces=ns)
    assert ".highlight .k" in css
    # The code face travels with the book, cut down to what the code uses.
    assert "EPUB/fonts/JetBrainsMono-Regular-subset.ttf" in names
    assert '"bookmaker Mono"' in fonts_css
    # The print edition colours keywords (a dark blue that greyscale keeps dark).
    with pymupdf.open(pdf) as doc:
        colours = {span["text"].strip(): span["color"] for page in doc
                   for block in page.get_text("dict")["blocks"] for line in block.get("lines", [])
                   for span in line["spans"]}
    assert colours.get("fn") not in (None, 0, 0x111111)
    assert colours.get("// all of them") not in (None, 0, 0x111111, colours["fn"])
    assert colours.get("Letters Home") == 0x111111
    # An unknown language is plain, with one warning.
    assert stderr.count("not known to Pygments") == 1 and "cobolish" in stderr


def test_epub_is_valid(built: tuple[Path, Path, str]) -> None:
    _, epub, _ = built
    assert epubcheck_messages(epub) == []


def test_wheel_carries_the_new_fonts() -> None:
    config = (REPO / "pyproject.toml").read_text()
    assert '"styles" = "bookmaker/styles"' in config
    for name in ("JetBrainsMono-Regular.ttf", "NotoSansMath-Symbols.ttf", "NotoSerifSC-Regular.otf"):
        assert (REPO / "styles" / "fonts" / name).is_file()
