"""The demo EPUB read in a real reading engine: epub.js, paginated, in headless Debian chromium.

tests/epubjs/read.mjs opens the book in epub.js (npm ``epubjs``) driven by ``puppeteer-core``,
served from 127.0.0.1 only, turns every page with ``rendition.next()`` and reports, as JSON,
what each page shows. This test checks what a reader would see (issue 4, item 8): the cover
shows, no page is empty (so no chapter is preceded by a blank page), and the Chinese name is
drawn by the font embedded in the book. The Node tools come from package.json (scripts/test
runs ``npm install``); when they or chromium are missing the test fails, it does not skip.
"""

from __future__ import annotations

import json
import posixpath
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from conftest import REPO, save_artifact

CHROMIUM = Path("/usr/bin/chromium")
READER = REPO / "tests" / "epubjs" / "read.mjs"
OPF = "{http://www.idpf.org/2007/opf}"


def spine_hrefs(epub: Path) -> list[str]:
    """The spine, as hrefs relative to the package document (as epub.js reports them)."""
    with zipfile.ZipFile(epub) as z:
        container = ElementTree.fromstring(z.read("META-INF/container.xml"))
        opf_path = container.find(".//{urn:oasis:names:tc:opendocument:xmlns:container}rootfile").get("full-path")
        opf = ElementTree.fromstring(z.read(opf_path))
    manifest = {item.get("id"): item.get("href") for item in opf.iter(f"{OPF}item")}
    return [posixpath.normpath(manifest[ref.get("idref")]) for ref in opf.iter(f"{OPF}itemref")]


def read_in_epubjs(epub: Path, out: Path) -> dict:
    node = shutil.which("node")
    assert node, "node is not installed (scripts/test installs it)"
    for package in ("epubjs", "jszip", "puppeteer-core"):
        assert (REPO / "node_modules" / package / "package.json").is_file(), (
            f"node_modules/{package} is missing: run `PUPPETEER_SKIP_DOWNLOAD=1 npm install` (scripts/test does)"
        )
    assert CHROMIUM.is_file(), "Debian's chromium is missing (scripts/test installs it)"
    out.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        [node, str(READER), str(epub), str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(out), "CHROMIUM": str(CHROMIUM)},
    )
    assert run.stdout.strip(), f"read.mjs printed nothing (exit {run.returncode}): {run.stderr[-3000:]}"
    result = json.loads(run.stdout)
    assert run.returncode == 0 and "error" not in result, result.get("error") or run.stderr[-3000:]
    return result


def test_demo_epub_in_epubjs(demo_build: Path, tmp_path: Path) -> None:
    epub = demo_build / "lei-jun.epub"
    result = read_in_epubjs(epub, tmp_path / "shots")
    for name, shot in result["screenshots"].items():
        save_artifact(f"epubjs-{name}.png", Path(shot))

    # Nothing but the local server was asked for: the browser never tried the network.
    assert result["blockedRequests"] == []
    assert result["consoleErrors"] == []

    # (1) The cover shows: the first thing displayed is the cover page, and its image is
    # loaded and laid out at a real size inside the visible page (a 0x0 box hides it).
    spine = spine_hrefs(epub)
    cover = result["cover"]
    assert cover["index"] == 0 and cover["href"] == spine[0] == "pages/cover.xhtml", cover
    assert cover["bodyType"] == "cover" and cover["role"] == "doc-cover", cover
    assert cover["naturalWidth"] >= 1600 and cover["naturalHeight"] >= 2560, cover
    assert cover["visibility"] == "visible" and cover["display"] != "none" and float(cover["opacity"]) > 0.9, cover
    # At least half the page's height and most of the image on screen (viewer: 480x720).
    assert cover["visibleHeight"] >= 360 and cover["visibleWidth"] >= 200, cover
    assert cover["visibleHeight"] >= 0.95 * cover["height"] and cover["visibleWidth"] >= 0.95 * cover["width"], cover
    # The page really is the (dark) cover picture: most pixels painted, many colours.
    assert cover["ink"]["ink"] > 0.3 * cover["ink"]["pixels"] and cover["ink"]["colours"] > 20, cover["ink"]

    # (2) Turning pages from the cover to the end: every section of the spine comes in order,
    # every page is on screen, and no page is empty, so no chapter is preceded by a blank page.
    pages = result["pages"]
    assert pages[-1]["atEnd"], f"did not reach the end in {len(pages)} steps"
    visited = [p["href"] for i, p in enumerate(pages) if i == 0 or p["href"] != pages[i - 1]["href"]]
    assert visited == spine
    for i, p in enumerate(pages[:-1]):
        nxt = pages[i + 1]
        same = nxt["href"] == p["href"] and nxt["page"] == p["page"] + 1
        following = nxt["index"] == p["index"] + 1 and nxt["page"] == 1 and p["page"] == p["pages"]
        assert same or following, f"page turn {i} went from {p} to {nxt}"
    blank = [
        f"page {i} ({p['href']} {p['page']}/{p['pages']}), before {pages[i + 1]['href'] if i + 1 < len(pages) else 'the end'}"
        for i, p in enumerate(pages)
        if (p["chars"] == 0 and p["images"] == 0) or p["ink"] < 200
    ]
    assert blank == [], "empty pages in epub.js:\n" + "\n".join(blank)

    # (3) Chinese text renders: the page with 雷军 draws both glyphs with the font embedded in
    # the EPUB (a web font, not a system font; tofu would come from a fallback), and ink is there.
    cjk = result.get("cjk")
    assert cjk, "no page showed the span with 雷军"
    assert cjk["text"] == "雷军" and cjk["href"] == "text/prologue.xhtml", cjk
    assert {"family": "bookmaker CJK", "status": "loaded"} in cjk["faces"], cjk["faces"]
    assert [f for f in cjk["fonts"] if not f["isCustomFont"]] == [], cjk["fonts"]
    assert sum(f["glyphCount"] for f in cjk["fonts"]) == 2, cjk["fonts"]
    assert cjk["ink"]["ink"] >= 30, cjk["ink"]
