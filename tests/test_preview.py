"""``bookmaker preview``: pages over HTTP, live reload after a save, errors shown in the page."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bookmaker.preview import PreviewServer
from conftest import MINIMAL_YAML, REPO, write_book

BOOK = {
    "book.yaml": MINIMAL_YAML,
    "01-one.md": "# One\n\nFirst words.[^a]\n\n[^a]: A note.\n",
    "02-two.md": "# Two\n\nSecond words, with 中文 text and a [link](01-one.md).\n\n![A square](images/sq.png \"A caption\")\n",
}


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> float:
    """Seconds until ``predicate()`` holds; fails after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.fixture
def server(tmp_path: Path) -> Iterator[PreviewServer]:
    from PIL import Image

    root = write_book(tmp_path / "manuscript", BOOK)
    (root / "images").mkdir()
    Image.new("RGB", (20, 20), "red").save(root / "images" / "sq.png")
    preview = PreviewServer(root, port=0).start()
    # Give the watcher a moment to register its inotify watches before tests save files.
    time.sleep(0.3)
    yield preview
    preview.close()


def test_serves_contents_chapters_notes_figures_and_fonts(server):
    status, contents = fetch(server.url)
    assert status == 200
    assert '<a href="one.html">' in contents and '<a href="two.html">' in contents
    status, one = fetch(server.url + "one.html")
    assert status == 200
    assert 'class="noteref" href="#one-fn-1"' in one and 'id="one-fn-1"' in one and "A note." in one
    assert "/__reload?since=" in one  # the live-reload script
    _, two = fetch(server.url + "two.html")
    assert "A caption</figcaption>" in two and 'src="images/sq.png"' in two
    assert 'href="one.html"' in two
    status, css = fetch(server.url + "styles/screen.css")
    assert status == 200 and "NotoSerifSC-Regular.otf" in css
    with urllib.request.urlopen(server.url + "styles/fonts/NotoSerifSC-Regular.otf") as font:
        assert font.read(4) == b"OTTO"
    with urllib.request.urlopen(server.url + "images/sq.png") as image:
        assert image.read(4) == b"\x89PNG"
    assert fetch(server.url + "styles/../../pyproject.toml")[0] == 404
    assert fetch(server.url + "no-such-chapter.html")[0] == 404


def test_a_save_reloads_within_a_second_and_rerenders_only_that_chapter(server):
    fetch(server.url + "one.html")
    fetch(server.url + "two.html")
    assert sorted(server.site.render_log) == ["one", "two"]
    version = server.site.version
    (server.site.manuscript / "02-two.md").write_text("# Two\n\nRewritten words.\n", encoding="utf-8")
    # The browser's long poll answers as soon as the change is seen.
    with urllib.request.urlopen(server.url + f"__reload?since={version}", timeout=30) as response:
        assert json.load(response)["version"] > version
    assert wait_for(lambda: "Rewritten words." in fetch(server.url + "two.html")[1]) < 1.0
    fetch(server.url + "one.html")
    assert server.site.render_log == ["one", "two", "two"]


def test_errors_show_in_the_page_and_the_server_keeps_running(server):
    chapter = server.site.manuscript / "01-one.md"
    chapter.write_text("---\nkind: chapterr\n---\n# One\n", encoding="utf-8")
    wait_for(lambda: "The book cannot be shown" in fetch(server.url + "one.html")[1])
    page = fetch(server.url + "one.html")[1]
    assert "01-one.md:2: &#x27;kind&#x27;: unknown kind" in page
    chapter.write_text("# One\n\nMended.\n", encoding="utf-8")
    wait_for(lambda: "Mended." in fetch(server.url + "one.html")[1])
    config = server.site.manuscript / "book.yaml"
    config.write_text("title: [\n", encoding="utf-8")
    wait_for(lambda: "book.yaml:" in fetch(server.url)[1])
    config.write_text(MINIMAL_YAML.replace("A Small Life", "A Longer Life"), encoding="utf-8")
    wait_for(lambda: "A Longer Life" in fetch(server.url)[1])


def test_a_new_chapter_file_appears_in_the_contents(server):
    (server.site.manuscript / "03-three.md").write_text("# Three\n\nMore.\n", encoding="utf-8")
    wait_for(lambda: '<a href="three.html">' in fetch(server.url)[1])


def test_cli_prints_the_url_and_serves(tmp_path):
    root = write_book(tmp_path / "manuscript", BOOK)
    (root / "02-two.md").write_text("# Two\n\nNo image here.\n", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "bookmaker", "preview", str(root), "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("previewing ") and "http://127.0.0.1:" in line
        url = line.split(" at ", 1)[1].split()[0]
        status, page = fetch(url + "one.html")
        assert status == 200 and "First words." in page
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_a_real_browser_reloads_after_a_save(server, tmp_path):
    # No driver needed: the server's request log shows the page being fetched again.
    browser = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
         f"--user-data-dir={tmp_path / 'profile'}", server.url + "one.html"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        requests = server.site.requests
        wait_for(lambda: "/__reload" in requests, timeout=60)
        loads = requests.count("/one.html")
        (server.site.manuscript / "01-one.md").write_text("# One\n\nEdited in the browser test.\n", encoding="utf-8")
        # A second of margin over the server-side test: the browser runs beside the whole suite.
        assert wait_for(lambda: requests.count("/one.html") > loads, timeout=10) < 2.0
        assert "Edited in the browser test." in fetch(server.url + "one.html")[1]
    finally:
        browser.terminate()
        browser.wait(timeout=30)


def test_citations_are_formatted_in_the_preview_and_after_a_save(tmp_path: Path) -> None:
    from test_citations import BIB

    files = {
        "book.yaml": "title: Sources\nauthor: Ann Writer\nlanguage: en\nbibliography: refs.bib\n"
                     "citation-style: chicago-author-date\n",
        "01-one.md": "# One\n\nThe phones sold out in minutes [@shirky2015, 45].\n",
        "refs.bib": BIB,
    }
    root = write_book(tmp_path / "manuscript", files)
    preview = PreviewServer(root, port=0).start()
    try:
        time.sleep(0.3)
        _, page = fetch(preview.url + "one.html")
        assert "[@shirky2015" not in page and "Shirky 2015, 45" in page, page
        (root / "01-one.md").write_text("# One\n\nAs Li argues [@li2016, 12].\n", encoding="utf-8")
        wait_for(lambda: "Li Wanqiang 2016, 12" in fetch(preview.url + "one.html")[1])
        assert "[@li2016" not in fetch(preview.url + "one.html")[1]
    finally:
        preview.close()
