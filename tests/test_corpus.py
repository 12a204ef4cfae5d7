"""The corpus of issue 9: sample books unlike the demo, each built from a relative and an absolute path.

For every book: byte-identical PDF and EPUB whatever the path form and the working
directory, EPUBCheck 0/0, Ace without critical or serious findings, ``check`` exits 0
exactly when ``build`` succeeds, only the theme's fonts in the PDF (built with a fontconfig
that sees no system font) and no character without a glyph, no hyphenated display line, and
no ink within 0.3in of the trim (pages rendered with pdftoppm).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import REPO, epubcheck_messages, run_cli, save_artifact
from corpus import BOOKS

EPOCH = "1780000000"
ACE = REPO / "node_modules" / ".bin" / "ace-puppeteer"
CHROMIUM = Path("/usr/bin/chromium")
#: A fontconfig that knows no font at all: anything but the theme's bundled fonts would be missing.
NO_FONTS_CONF = '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig></fontconfig>\n'


@dataclass
class Built:
    """One corpus book built twice, with the command line, as a user would."""

    name: str
    manuscript: Path
    relative: dict[str, Path]
    absolute: dict[str, Path]
    stderr: str
    ace: subprocess.Popen[bytes] | None = None
    ace_out: Path | None = None
    extra: dict[str, object] = field(default_factory=dict)


def _outputs(out: Path) -> dict[str, Path]:
    return {path.suffix[1:]: path for path in out.iterdir() if path.suffix in (".pdf", ".epub")}


@pytest.fixture(scope="module", params=sorted(BOOKS))
def book(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Built:
    name = request.param
    root = tmp_path_factory.mktemp(f"corpus-{name}")
    manuscript = BOOKS[name](root / "work" / name)
    conf = root / "no-fonts.conf"
    conf.write_text(NO_FONTS_CONF, encoding="utf-8")
    env = {"SOURCE_DATE_EPOCH": EPOCH, "FONTCONFIG_FILE": str(conf)}
    (root / "elsewhere").mkdir()
    with ThreadPoolExecutor(max_workers=2) as pool:
        # From the manuscript's parent folder with a relative path, and from elsewhere with an absolute one.
        runs = [pool.submit(run_cli, "build", name, "-o", str(root / "rel"), cwd=manuscript.parent, env=env, timeout=600),
                pool.submit(run_cli, "build", str(manuscript), "-o", str(root / "abs"), cwd=root / "elsewhere", env=env, timeout=600)]
        first, second = (run.result() for run in runs)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    built = Built(name, manuscript, _outputs(root / "rel"), _outputs(root / "abs"), first.stderr)
    save_artifact(f"corpus-{name}.pdf", built.relative["pdf"])
    save_artifact(f"corpus-{name}.epub", built.relative["epub"])
    if ACE.exists() and CHROMIUM.exists():
        # Ace is slow: it reads the book while the other checks run, and the last test waits for it.
        built.ace_out = root / "ace"
        built.ace = subprocess.Popen(
            [str(ACE), "--silent", "--force", "--outdir", str(built.ace_out), str(built.relative["epub"])],
            env=dict(os.environ, PUPPETEER_EXECUTABLE_PATH=str(CHROMIUM)),
        )
    return built


def test_same_bytes_whatever_the_path_form_and_the_working_directory(book: Built) -> None:
    assert set(book.relative) == set(book.absolute) == {"pdf", "epub"}
    for kind in ("pdf", "epub"):
        assert book.relative[kind].read_bytes() == book.absolute[kind].read_bytes(), f"{book.name}: {kind} differs"


def test_epubcheck_is_clean(book: Built) -> None:
    assert epubcheck_messages(book.relative["epub"]) == []


def test_check_exits_0_exactly_when_build_succeeds(book: Built, tmp_path: Path) -> None:
    result = run_cli("check", str(book.manuscript))
    assert result.returncode == 0, result.stdout + result.stderr  # build succeeded (the fixture)
    # The same book with one problem planted in its last file: check and build both refuse it.
    broken = tmp_path / book.name
    shutil.copytree(book.manuscript, broken)
    last = sorted(broken.rglob("*.md"))[-1]
    last.write_text(last.read_text(encoding="utf-8") + "\n![A lost picture](nowhere/lost.png)\n", encoding="utf-8")
    check = run_cli("check", str(broken))
    built = run_cli("build", str(broken), "-o", str(tmp_path / "out"), "--format", "epub")
    assert check.returncode == built.returncode == 4, check.stdout + built.stderr
    assert "BM501" in check.stdout and "image not found: nowhere/lost.png" in built.stderr


def _theme_font_pattern() -> re.Pattern[str]:
    """The names WeasyPrint gives the theme's @font-face families in a PDF ("Book Serif" italic -> Book-Serif-Italic)."""
    css = (REPO / "styles" / "print.css").read_text(encoding="utf-8")
    families = set(re.findall(r'@font-face\s*{[^}]*font-family:\s*"([^"]+)"', css))
    assert families, "no @font-face in the theme"
    names = "|".join(re.escape(f.replace(" ", "-")) for f in sorted(families, key=len, reverse=True))
    return re.compile(rf"^[A-Z]{{6}}\+({names})(-Bold)?(-Italic)?$")


def test_only_the_themes_fonts_are_in_the_pdf_and_no_glyph_is_missing(book: Built) -> None:
    listing = subprocess.run(["pdffonts", str(book.relative["pdf"])], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
    assert rows, listing
    theme = _theme_font_pattern()
    # Every font is a theme face, embedded and subset (built with a fontconfig that lists no font at all).
    assert [row[0] for row in rows if not theme.match(row[0])] == [], listing
    assert all(row[-5:-3] == ["yes", "yes"] for row in rows), listing
    assert "BM510" not in book.stderr and "no bundled font" not in book.stderr, book.stderr


def _display_lines(pdf: Path, manuscript: Path) -> list[tuple[int, str, str]]:
    """(page, text, next line's text) of every line set in display type: headings, running heads, contents, title pages."""
    import pymupdf

    from bookmaker.config import load_config
    from bookmaker.geometry import Geometry

    top = Geometry.from_config(load_config(manuscript)).margins.top

    found: list[tuple[int, str, str]] = []
    with pymupdf.open(pdf) as doc:
        pages = []
        sizes: Counter[float] = Counter()
        for page in doc:
            lines = []
            for block in page.get_text("dict")["blocks"]:
                for line in block.get("lines", []):
                    text = "".join(span["text"] for span in line["spans"]).strip()
                    if text:
                        size = max(span["size"] for span in line["spans"])
                        lines.append((line["bbox"], text, size))
                        sizes[round(size, 1)] += len(text)
            pages.append((page.rect.height, lines))
        body = sizes.most_common(1)[0][0]
        dests = {name: info["page"] for name, info in doc.resolve_names().items()}
        first_chapter = min((p for n, p in dests.items() if n not in ("half-title", "title-page", "copyright-page", "contents")
                             and p > dests.get("contents", 0)), default=len(pages))
        furniture = set(range(0, first_chapter))  # half-title, title, copyright and contents pages
    for number, (height, lines) in enumerate(pages):
        for i, (bbox, text, size) in enumerate(lines):
            head = bbox[3] <= top + 0.5  # above the text block: the running head
            if number in furniture or head or size > body * 1.15:
                following = lines[i + 1][1] if i + 1 < len(lines) else ""
                found.append((number + 1, text, following))
    return found


def test_no_display_line_is_hyphenated(book: Built) -> None:
    broken = [(page, text, following) for page, text, following in _display_lines(book.relative["pdf"], book.manuscript)
              if re.search(r"[a-zäöüßéèàç][-\u2010\u00ad]$", text)]
    assert broken == [], broken


def test_ace_finds_nothing_critical_or_serious(book: Built) -> None:
    assert book.ace is not None, "Ace by DAISY or chromium is missing (npm install; apt-get install chromium)"
    assert book.ace.wait(timeout=400) == 0, f"Ace failed on {book.name}"
    assert book.ace_out is not None
    report = json.loads((book.ace_out / "report.json").read_text())
    found = [
        (a["earl:test"]["earl:impact"], a["earl:test"]["dct:title"], doc.get("earl:testSubject", {}).get("url"))
        for doc in report["assertions"]
        for a in doc.get("assertions", [])
    ]
    assert [f for f in found if f[0] in ("critical", "serious")] == [], book.name



#: Nothing may be printed this close to the trim (printers ask for 0.125in-0.25in; the text block is further in).
SAFE_MARGIN_IN = 0.3
_RENDER_DPI = 40


def test_no_ink_within_the_safe_margin_of_the_trim(book: Built, tmp_path: Path) -> None:
    from PIL import Image

    subprocess.run(["pdftoppm", "-gray", "-png", "-r", str(_RENDER_DPI), str(book.relative["pdf"]), str(tmp_path / "p")], check=True)
    band = round(SAFE_MARGIN_IN * _RENDER_DPI)
    inked = []
    for path in sorted(tmp_path.glob("p-*.png")):
        with Image.open(path) as opened:
            image = opened.convert("L")
            width, height = image.size
            for box in ((0, 0, width, band), (0, height - band, width, height), (0, 0, band, height), (width - band, 0, width, height)):
                darkest = image.crop(box).getextrema()[0]
                if darkest < 160:
                    inked.append((path.stem, box, darkest))
                    break
    assert inked == [], f"{book.name}: ink near the trim on {len(inked)} pages, first {inked[:3]}"
