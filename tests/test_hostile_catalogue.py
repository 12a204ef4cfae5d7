"""Hostile and broken manuscripts (issue 14): nothing lost, nothing leaked, nothing crashes.

Each folder of ``tests/broken/hostile/`` is a case: ``book/`` is the manuscript (``{BASE}`` stands
for a counting HTTP server on 127.0.0.1) and ``expect.json`` its outcome: the class of the issue
it belongs to, the exit code, patterns the error output must hold.  Every case, whatever it
expects, is also held to the rules that hold for all: no traceback, never exit 1, previous
outputs byte-identical when the build fails, nothing fetched from the server, no reference to
it in the EPUB, and, for the cases whose point is a valid package (``"epubcheck": true``), EPUBCheck clean.  Binary cases are made in ``GENERATED``.
Class 1's interrupted and killed commits are in ``test_commit.py``.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from conftest import counting_server, epubcheck_messages

HOSTILE = Path(__file__).parent / "broken" / "hostile"
OLD = {"hostile.epub": b"PK the previous ebook", "hostile.pdf": b"%PDF-1.7 the previous print edition"}
EPOCH = "1780000000"
#: The class-4 inputs must fail fast and small (issue 14: "within 5 s under a 1 GB memory limit").
MEMORY_LIMIT = 1 << 30


@dataclass
class Outcome:
    code: int
    stderr: str
    out: Path
    seconds: float
    spec: dict[str, object] = field(default_factory=dict)
    #: EPUBCheck's messages when the book was built (run in the pool, beside the other builds).
    epubcheck: list[str] = field(default_factory=list)


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[str]]]:
    with counting_server(_Counter) as served:
        yield served


def _png(path: Path, size: tuple[int, int] = (16, 16)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (40, 90, 160)).save(path, format="PNG")


def _png_named_jpg(book: Path) -> None:
    _png(book / "photo.jpg")
    (book / "a.md").write_text("# One\n\n![A blue square](photo.jpg)\n", encoding="utf-8")


def _truncated_jpeg(book: Path) -> None:
    Image.new("RGB", (64, 64), (200, 30, 30)).save(book / "half.jpg", format="JPEG")
    data = (book / "half.jpg").read_bytes()
    (book / "half.jpg").write_bytes(data[: len(data) // 2])
    (book / "a.md").write_text("# One\n\n![A red square](half.jpg)\n", encoding="utf-8")


def _jpeg_cut_short(book: Path) -> None:
    Image.new("RGB", (64, 64), (30, 160, 30)).save(book / "cut.jpg", format="JPEG")
    data = (book / "cut.jpg").read_bytes()
    (book / "cut.jpg").write_bytes(data[:-40])  # the header reads, the end of the scan is gone
    (book / "a.md").write_text("# One\n\n![A green square](cut.jpg)\n", encoding="utf-8")


#: Cases with binary files: (class, make, exit, stderr patterns, checks).
GENERATED: dict[str, tuple[int, Callable[[Path], None], int, list[str], list[str]]] = {
    "c6-png-named-jpg": (6, _png_named_jpg, 0, [], ["epub-has:EPUB/images/photo.png", "opf-contains:media-type=\"image/png\"", "epubcheck"]),
    "c5-jpeg-cut-short": (5, _jpeg_cut_short, 0, [r"a\.md:3: image 'cut\.jpg' is cut short"], []),
    "c5-truncated-jpeg": (5, _truncated_jpeg, 4, [r"a\.md:3: image 'half\.jpg' cannot be read: it is corrupt"], []),
}


def _cases() -> list[str]:
    return sorted([p.name for p in HOSTILE.iterdir() if (p / "expect.json").is_file()] + list(GENERATED))


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _prepare(case: str, work: Path, base: str) -> tuple[Path, dict[str, object]]:
    book = work / "book"
    if case in GENERATED:
        cls, make, code, patterns, checks = GENERATED[case]
        book.mkdir(parents=True)
        (book / "book.yaml").write_text("title: Hostile Ground\nauthor: Ada Marsh\nlanguage: en\nslug: hostile\n", encoding="utf-8")
        make(book)
        return book, {"class": cls, "exit": code, "stderr": patterns, "checks": [c for c in checks if c != "epubcheck"],
                      "epubcheck": "epubcheck" in checks}
    shutil.copytree(HOSTILE / case / "book", book)
    for path in book.rglob("*"):
        if path.is_file() and path.suffix in (".md", ".yaml", ".css", ".j2", ".svg"):
            data = path.read_bytes()
            if b"{BASE}" in data:
                path.write_bytes(data.replace(b"{BASE}", base.encode()))
    _png(book / "pic.png")
    return book, json.loads((HOSTILE / case / "expect.json").read_text(encoding="utf-8"))


def _run(case: str, root: Path, base: str) -> Outcome:
    work = root / case
    book, spec = _prepare(case, work, base)
    out = work / "out"
    out.mkdir()
    for name, data in OLD.items():
        (out / name).write_bytes(data)
    args = list(spec.get("args", ["--format", "epub"]))  # type: ignore[call-overload]
    if "--format" not in args:
        args += ["--format", "epub"]
    manuscript = str(work / spec["manuscript"]) if "manuscript" in spec else str(book)
    output = spec.get("output", str(out))
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, **spec.get("env", {})}  # type: ignore[dict-item]
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bookmaker", "build", manuscript, "-o", str(output), *args],
        cwd=work, env=env, capture_output=True, text=True, timeout=240,
        preexec_fn=_limits if spec["class"] == 4 else None,
    )
    seconds = time.monotonic() - start
    epub = out / "hostile.epub"
    # EPUBCheck takes seconds of Java per book: run where validity is the point of the case.
    checked = epubcheck_messages(epub) if result.returncode == 0 and epub.is_file() and spec.get("epubcheck") else []
    return Outcome(result.returncode, result.stderr, out, seconds, spec, checked)


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, server: tuple[str, list[str]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every selected case built once, two at a time (each is a separate ``bookmaker`` process)."""
    selected = [item.callspec.params["case"] for item in request.session.items
                if item.module is request.module and hasattr(item, "callspec") and "case" in item.callspec.params]
    cases = selected or _cases()
    root = tmp_path_factory.mktemp("hostile")
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(cases, pool.map(lambda case: _run(case, root, server[0]), cases)))


def _epub_texts(epub: Path) -> dict[str, str]:
    with zipfile.ZipFile(epub) as z:
        return {n: z.read(n).decode("utf-8", "replace") for n in z.namelist() if not n.endswith((".png", ".jpg", ".gif", ".woff2", ".otf"))}


def _check(check: str, epub: Path, texts: dict[str, str], stderr: str) -> None:
    kind, _, arg = check.partition(":")
    chapters = "".join(v for k, v in texts.items() if k.startswith("EPUB/text/"))
    opf = texts["EPUB/content.opf"]
    if kind == "epub-has":
        with zipfile.ZipFile(epub) as z:
            assert arg in z.namelist(), z.namelist()
    elif kind == "epub-lacks":
        assert not any(arg in v for v in texts.values()), arg
    elif kind == "epub-contains":
        name, _, needle = arg.partition(":")
        assert needle in texts[name], texts[name]
    elif kind == "xhtml-contains":
        assert arg in chapters, chapters
    elif kind == "opf-contains":
        assert arg in opf, opf
    elif kind == "nav-contains":
        assert arg in texts["EPUB/nav.xhtml"]
    elif kind == "short-messages":
        assert all(len(line) < 400 for line in stderr.splitlines()), max(len(line) for line in stderr.splitlines())
    elif kind == "page-list-unique":
        targets = re.findall(r'<a href="([^"]+#page-[^"]+)"', texts["EPUB/nav.xhtml"])
        labels = [t.rsplit("#page-", 1)[1] for t in targets]
        assert labels and len(labels) == len(set(labels)), labels
    else:
        raise AssertionError(f"unknown check {check}")


@pytest.mark.parametrize("case", _cases())
def test_hostile_case(case: str, outcomes: dict[str, Outcome], server: tuple[str, list[str]]) -> None:
    o = outcomes[case]
    spec = o.spec
    assert "Traceback" not in o.stderr, o.stderr
    assert o.code != 1, o.stderr  # exit 1 is for bugs in bookmaker only
    assert o.code == spec["exit"], o.stderr
    for pattern in spec["stderr"]:  # type: ignore[union-attr]
        assert re.search(pattern, o.stderr), f"{pattern!r} not in:\n{o.stderr}"
    for absent in spec.get("stderr_absent", []):  # type: ignore[union-attr]
        assert absent not in o.stderr, o.stderr
    if spec["class"] == 4:
        assert o.seconds < 5, f"{o.seconds:.1f} s under a 1 GB memory limit"
    names = sorted(p.name for p in o.out.iterdir())
    if o.code != 0:
        # A failed build changes nothing: the old outputs, byte for byte, and nothing else.
        assert names == sorted(OLD), names
        assert all((o.out / n).read_bytes() == d for n, d in OLD.items())
        assert re.search(r"^(error|Error): ", o.stderr, re.M)  # click's usage errors say "Error:"
        return
    epub = o.out / "hostile.epub"
    assert epub.read_bytes() != OLD["hostile.epub"]
    texts = _epub_texts(epub)
    base = server[0]
    assert not any(base in v or "127.0.0.1" in v for v in texts.values()), "the EPUB refers to the counting server"
    for check in spec.get("checks", []):  # type: ignore[union-attr]
        _check(check, epub, texts, o.stderr)
    assert o.epubcheck == []


def test_nothing_was_fetched(outcomes: dict[str, Outcome], server: tuple[str, list[str]]) -> None:
    assert outcomes and server[1] == []


def test_catalogue_covers_every_class() -> None:
    classes: dict[int, int] = {}
    for case in _cases():
        cls = GENERATED[case][0] if case in GENERATED else json.loads((HOSTILE / case / "expect.json").read_text())["class"]
        classes[cls] = classes.get(cls, 0) + 1
    assert sorted(classes) == [1, 2, 3, 4, 5, 6] and min(classes.values()) >= 5, classes
