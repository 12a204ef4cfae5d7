"""The catalogue of broken manuscripts: each mistake gets one precise message, a documented exit code, no traceback."""

from __future__ import annotations

import logging
import os
import re
import shutil
import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from bookmaker.errors import EXIT_CONFIG, EXIT_MANUSCRIPT, EXIT_OUTPUT, ManuscriptError
from bookmaker.log import WarningCounter, logger
from bookmaker.pipeline import read_book
from conftest import run_cli, write_book

BROKEN = Path(__file__).parent / "broken"
YAML = "title: A Small Life\nauthor: Jane Doe\nlanguage: en\n"


def png(path: Path, size: tuple[int, int] = (8, 8)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, "white").save(path)
    return path


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header announces width x height but holds almost no data: decoding it would fail."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    path.write_bytes(body)
    return path


def run_case(work: Path, book: Path, *extra: str) -> tuple[int, str, Path]:
    out = work / "out"
    result = run_cli("build", str(book), "-o", str(out), "--format", "epub", *extra, cwd=work, timeout=60)
    return result.returncode, result.stderr, out


def assert_clean_failure(code: int, stderr: str, expected_code: int, patterns: list[str], out: Path) -> None:
    assert "Traceback" not in stderr, stderr
    assert code == expected_code, stderr
    for pattern in patterns:
        assert re.search(pattern, stderr), f"{pattern!r} not in:\n{stderr}"
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors, stderr
    # Nothing half-written: a failed build leaves no output and no temporary file behind.
    assert not out.exists() or not any(out.iterdir())


def _folder_cases() -> list[str]:
    return sorted(p.name for p in BROKEN.iterdir() if (p / "expect.txt").is_file())


def make_work(tmp_path: Path) -> Path:
    """A working folder with a real image one and two levels above the manuscript, to tempt ``../``."""
    png(tmp_path / "outside.png")
    png(tmp_path / "work" / "outside.png")
    png(tmp_path / "work" / "cover.png")
    (tmp_path / "work" / "outside.md").write_text("# Outside\n\nSECRET-OUTSIDE\n", encoding="utf-8")
    return tmp_path / "work"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return make_work(tmp_path)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, Path, float]]:
    """Run every CLI case of the catalogue once, a few at a time: each is a separate ``bookmaker`` process."""
    jobs: dict[str, tuple[Path, Path]] = {}
    for case in _folder_cases():
        work = make_work(tmp_path_factory.mktemp(case))
        shutil.copytree(BROKEN / case, work / "book", ignore=shutil.ignore_patterns("expect.txt"))
        jobs[case] = (work, work / "book")
    for case, (make, _, _) in GENERATED.items():
        work = make_work(tmp_path_factory.mktemp(case))
        make(write_book(work / "book", {"book.yaml": YAML, "a.md": "# One\n\nText.\n"}))
        jobs[case] = (work, work / "book")

    def run(case: str) -> tuple[str, tuple[int, str, Path, float]]:
        start = time.monotonic()
        code, stderr, out = run_case(*jobs[case])
        return case, (code, stderr, out, time.monotonic() - start)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(run, jobs))


@pytest.mark.parametrize("case", _folder_cases())
def test_broken_folder(case: str, catalogue: dict[str, tuple[int, str, Path, float]]) -> None:
    lines = (BROKEN / case / "expect.txt").read_text(encoding="utf-8").splitlines()
    expected_code = int(lines[0].split()[1])
    code, stderr, out, _ = catalogue[case]
    assert_clean_failure(code, stderr, expected_code, [p for p in lines[1:] if p], out)


def _not_utf8_chapter(book: Path) -> None:
    (book / "a.md").write_bytes(b"# One\n\nCaf\xe9 au lait.\n")


def _not_utf8_config(book: Path) -> None:
    (book / "book.yaml").write_bytes(b"title: Caf\xe9\nauthor: A\nlanguage: en\n")


def _image_corrupt(book: Path) -> None:
    (book / "a.md").write_text("# One\n\n![A chart](chart.png)\n", encoding="utf-8")
    (book / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0garbage" * 20)


def _image_format(book: Path) -> None:
    (book / "a.md").write_text("# One\n\n![A chart](chart.bmp)\n", encoding="utf-8")
    Image.new("RGB", (4, 4)).save(book / "chart.bmp")


def _image_huge_header(book: Path) -> None:
    (book / "a.md").write_text("# One\n\n![A chart](huge.png)\n", encoding="utf-8")
    png_header_only(book / "huge.png", 12_000, 12_000)


def _image_over_configured_limit(book: Path) -> None:
    (book / "book.yaml").write_text(YAML + "limits:\n  max_image_pixels: 100\n", encoding="utf-8")
    (book / "a.md").write_text("# One\n\n![A chart](chart.png)\n", encoding="utf-8")
    png(book / "chart.png", (20, 20))


def _image_symlink_out(book: Path) -> None:
    (book / "a.md").write_text("# One\n\n![A chart](chart.png)\n", encoding="utf-8")
    (book / "chart.png").symlink_to(book.parent / "outside.png")


def _image_symlink_device(book: Path) -> None:
    (book / "a.md").write_text("# One\n\n![Noise](noise.png)\n", encoding="utf-8")
    (book / "noise.png").symlink_to("/dev/urandom")


def _chapter_symlink_out(book: Path) -> None:
    (book / "b.md").symlink_to(book.parent / "outside.md")


def _cover_symlink_out(book: Path) -> None:
    (book / "book.yaml").write_text(YAML + "cover: cover.png\n", encoding="utf-8")
    (book / "cover.png").symlink_to(book.parent / "cover.png")


def _theme(book: Path) -> Path:
    (book / "book.yaml").write_text(YAML + "styles: theme\n", encoding="utf-8")
    (book / "theme" / "templates").mkdir(parents=True)
    return book / "theme"


def _theme_file_symlink_out(book: Path) -> None:
    (_theme(book) / "epub.css").symlink_to(book.parent / "outside.md")


def _theme_template_symlink_out(book: Path) -> None:
    (_theme(book) / "templates" / "page.xhtml.j2").symlink_to(book.parent / "outside.md")


def _theme_template_code(book: Path) -> None:
    payload = '{{ cycler.__init__.__globals__.os.system("touch PWNED") }}'
    (_theme(book) / "templates" / "titlepage.xhtml.j2").write_text(payload, encoding="utf-8")


def _svg_with_script(book: Path) -> None:
    (book / "a.md").write_text("# One\n\n![A drawing](drawing.svg)\n", encoding="utf-8")
    (book / "drawing.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', encoding="utf-8")


GENERATED: dict[str, tuple[Callable[[Path], None], int, list[str]]] = {
    "not-utf8-chapter": (_not_utf8_chapter, EXIT_MANUSCRIPT, [r"a\.md:3: not UTF-8"]),
    "not-utf8-config": (_not_utf8_config, EXIT_CONFIG, [r"book\.yaml:1: not UTF-8"]),
    "image-corrupt": (_image_corrupt, EXIT_MANUSCRIPT, [r"a\.md:3: image 'chart\.png' cannot be read"]),
    "image-format": (_image_format, EXIT_MANUSCRIPT, [r"a\.md:3: image 'chart\.bmp' is BMP; use PNG, JPEG, GIF or SVG"]),
    "image-huge-header": (_image_huge_header, EXIT_MANUSCRIPT, [r"a\.md:3: image 'huge\.png' is 12000x12000 pixels \(144 megapixels\), over the limit of 100 megapixels"]),
    "image-over-configured-limit": (_image_over_configured_limit, EXIT_MANUSCRIPT, [r"a\.md:3: image 'chart\.png' is 20x20 pixels .*max_image_pixels"]),
    "image-symlink-out": (_image_symlink_out, EXIT_MANUSCRIPT, [r"a\.md:3: image 'chart\.png' links to a file outside the manuscript folder"]),
    "image-symlink-device": (_image_symlink_device, EXIT_MANUSCRIPT, [r"a\.md:3: image 'noise\.png' links to a file outside the manuscript folder"]),
    "chapter-symlink-out": (_chapter_symlink_out, EXIT_MANUSCRIPT, [r"b\.md: chapter links to a file outside the manuscript folder"]),
    "theme-file-symlink-out": (_theme_file_symlink_out, EXIT_MANUSCRIPT, [r"theme/epub\.css: theme file 'epub\.css' links to a file outside the styles folder"]),
    "theme-template-symlink-out": (_theme_template_symlink_out, EXIT_MANUSCRIPT, [r"page\.xhtml\.j2: template 'page\.xhtml\.j2' links to a file outside its theme folder"]),
    "theme-template-code": (_theme_template_code, EXIT_MANUSCRIPT, [r"a theme template reads '__init__' of a type, which templates may not do"]),
    "svg-with-script": (_svg_with_script, EXIT_MANUSCRIPT, [r"a\.md:3: image 'drawing\.svg' contains <script>"]),
    "cover-symlink-out": (_cover_symlink_out, EXIT_CONFIG, [r"book\.yaml:4: 'cover' cover\.png is outside the manuscript folder"]),
}


@pytest.mark.parametrize("case", sorted(GENERATED))
def test_broken_generated(case: str, catalogue: dict[str, tuple[int, str, Path, float]]) -> None:
    _, expected_code, patterns = GENERATED[case]
    code, stderr, out, seconds = catalogue[case]
    assert seconds < 30, "a refused resource must not hang the build"
    assert_clean_failure(code, stderr, expected_code, patterns, out)


def test_output_path_is_a_file(work: Path) -> None:
    book = write_book(work / "book", {"book.yaml": YAML, "a.md": "# One\n\nText.\n"})
    (work / "out").write_text("I am a file", encoding="utf-8")
    result = run_cli("build", str(book), "-o", str(work / "out"), "--format", "epub", cwd=work, timeout=60)
    assert "Traceback" not in result.stderr
    assert result.returncode == EXIT_OUTPUT, result.stderr
    assert re.search(r"error: out: cannot write outputs here: it is a file", result.stderr), result.stderr
    assert (work / "out").read_text(encoding="utf-8") == "I am a file"


def test_every_config_problem_reported_at_once(catalogue: dict[str, tuple[int, str, Path, float]]) -> None:
    """The whole book.yaml is checked before anything stops: four problems, four lines, one run."""
    _, stderr, _, _ = catalogue["many-problems"]
    assert len([line for line in stderr.splitlines() if "book.yaml" in line]) == 4, stderr


# -- warnings: the book still builds, the message names file and line; --strict fails -------------

@pytest.fixture
def warnings_seen() -> Iterator[list[str]]:
    counter = WarningCounter()
    logger.addHandler(counter)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield counter.messages
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)


WARNING_CASES = {
    "footnote-without-definition": ("# One\n\nA claim.[^gone]\n", r"a\.md:3: footnote reference \[\^gone\] has no definition"),
    "footnote-never-referenced": ("# One\n\nText.\n\n[^lonely]: Nobody calls me.\n", r"a\.md:5: footnote \[\^lonely\] is defined but never referenced"),
    "raw-script": ("# One\n\nText.\n\n<script>alert(1)</script>\n", r"a\.md:5: removed <script>"),
    "event-handler": ("# One\n\n<p onclick=\"steal()\">Hi</p>\n", r"a\.md:3: removed the 'onclick' attribute of <p>"),
    "javascript-link": ("# One\n\nSee [this](javascript:alert(1)).\n", r"a\.md:3: removed a 'javascript:alert\(1\)' URL from <a>"),
    "attachment-link": ("# One\n\nText.\n\n<a rel=\"attachment\" href=\"a.md\">me</a>\n", r"a\.md:5: removed rel=\"attachment\" from <a>"),
}


@pytest.mark.parametrize("case", sorted(WARNING_CASES))
def test_warning_names_file_and_line(case: str, make_book: Callable[..., Path], warnings_seen: list[str]) -> None:
    text, pattern = WARNING_CASES[case]
    book = make_book({"book.yaml": YAML, "a.md": text})
    read_book(book)
    assert any(re.search(pattern, m) for m in warnings_seen), warnings_seen


def test_large_chapter_warns(make_book: Callable[..., Path], warnings_seen: list[str]) -> None:
    book = make_book({"book.yaml": YAML + "limits: {max_chapter_bytes: 1000}\n", "a.md": "# One\n\n" + "word " * 400 + "\n"})
    read_book(book)
    assert any(re.search(r"a\.md: chapter is 0\.0 MB, over 0\.001 MB", m) for m in warnings_seen), warnings_seen


def test_default_limits_keep_normal_books_quiet(make_book: Callable[..., Path], warnings_seen: list[str]) -> None:
    book = make_book({"book.yaml": YAML, "a.md": "# One\n\n![A chart](chart.png)\n"})
    png(book / "chart.png", (3000, 2000))
    assert len(read_book(book).images) == 1
    assert warnings_seen == []


def test_huge_image_refused_without_decoding(make_book: Callable[..., Path]) -> None:
    """A 40 000 x 40 000 header is refused by its size, not by Pillow's bomb check or a decode."""
    book = make_book({"book.yaml": YAML, "a.md": "# One\n\n![Big](big.png)\n"})
    png_header_only(book / "big.png", 40_000, 40_000)
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ManuscriptError, match=r"40000x40000 pixels \(1600 megapixels\)"):
        read_book(book)
    assert Image.MAX_IMAGE_PIXELS in (before, 100_000_000)


def test_catalogue_is_complete() -> None:
    """Every mistake of issue 5 has a case (a folder or a generated one)."""
    cases = set(_folder_cases()) | set(GENERATED) | set(WARNING_CASES)
    assert {"yaml-syntax", "front-matter-yaml", "missing-title", "wrong-type", "unknown-kind", "contents-missing",
            "contents-twice", "not-utf8-chapter", "empty-manuscript", "image-missing", "image-corrupt", "image-format",
            "cover-not-image", "bad-language", "bad-date", "bad-isbn", "footnote-without-definition",
            "footnote-never-referenced", "duplicate-ids"} <= cases
    assert os.path.isdir(BROKEN)
