"""The build stays inside the project: no network, no file outside the manuscript, no scripts, safe metadata."""

from __future__ import annotations

import http.server
import os
import re
import socket
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree, html

from bookmaker.engine import project_fetcher
from bookmaker.errors import ManuscriptError
from bookmaker.log import WarningCounter, logger
from bookmaker.sandbox import host_allowed, require_inside
from bookmaker.sanitize import is_script_url, sanitize_html, svg_problem
from conftest import counting_server, epubcheck_messages, run_cli, write_book

YAML = "title: A Small Life\nauthor: Jane Doe\nlanguage: en\ndate: 2026-01-15\n"
EPOCH = {"SOURCE_DATE_EPOCH": "1780000000"}


# -- a local server that counts every request ---------------------------------------------------

class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        type(self).hits.append(self.path)
        body = b"body { color: red }" if self.path.endswith(".css") else b"x"
        self.send_response(200)
        self.send_header("Content-Type", "text/css" if self.path.endswith(".css") else "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """``(base URL, list of requested paths)`` of a server on 127.0.0.1."""
    with counting_server(_Counter) as served:
        yield served


@pytest.fixture
def warnings_seen() -> Iterator[list[str]]:
    counter = WarningCounter()
    logger.addHandler(counter)
    try:
        yield counter.messages
    finally:
        logger.removeHandler(counter)


# -- the fetcher, unit by unit --------------------------------------------------------------------

@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "images").mkdir(parents=True)
    (root / "images" / "ok.txt").write_text("inside", encoding="utf-8")
    (tmp_path / "outside.txt").write_text("SECRET-OUTSIDE", encoding="utf-8")
    (root / "link.txt").symlink_to(tmp_path / "outside.txt")
    (root / "noise").symlink_to("/dev/urandom")
    os.mkfifo(root / "pipe")
    return root


def _read(response: object) -> bytes:
    body = response.body if hasattr(response, "body") else response
    return body if isinstance(body, bytes) else body.read()  # type: ignore[union-attr]


def test_fetcher_serves_files_inside_the_project(project: Path) -> None:
    fetcher = project_fetcher([project])
    assert _read(fetcher.fetch((project / "images" / "ok.txt").as_uri())) == b"inside"
    assert _read(fetcher.fetch("data:text/plain,hello")) == b"hello"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/hostname",
        "file:///etc/passwd",
        "{root}/../outside.txt",
        "{root}/images/../../outside.txt",
        "{root}/%2e%2e/outside.txt",
        "{root}/link.txt",
        "{root}/noise",
        "{root}/pipe",
        "file:///dev/urandom",
        "{root}",
        "ftp://127.0.0.1/x",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_fetcher_refuses_everything_else(url: str, project: Path, warnings_seen: list[str]) -> None:
    url = url.replace("{root}", project.as_uri())
    fetcher = project_fetcher([project])
    start = time.monotonic()
    with pytest.raises(ValueError, match="refused"):
        fetcher.fetch(url)
    # /dev/urandom and a FIFO never end when read: they must be refused, not read.
    assert time.monotonic() - start < 2
    assert fetcher.refused == [url]
    assert any(url in message and "refused to load" in message for message in warnings_seen), warnings_seen


def test_fetcher_network_only_for_allowed_hosts(server: tuple[str, list[str]], project: Path) -> None:
    base, hits = server
    with pytest.raises(ValueError, match="refused"):
        project_fetcher([project]).fetch(f"{base}/a.css")
    with pytest.raises(ValueError, match="refused"):
        project_fetcher([project], ["example.org"]).fetch(f"{base}/a.css")
    assert hits == []
    response = project_fetcher([project], ["127.0.0.1"]).fetch(f"{base}/a.css")
    assert b"color: red" in _read(response)
    assert hits == ["/a.css"]


def test_host_allowed() -> None:
    assert host_allowed("https://Fonts.Example.org/x.woff2", ["fonts.example.org"])
    assert not host_allowed("https://fonts.example.org.evil.net/x", ["fonts.example.org"])
    assert not host_allowed("file://fonts.example.org/etc/passwd", ["fonts.example.org"])
    assert not host_allowed("https://user@evil.net/x", ["user"])


def test_require_inside(project: Path) -> None:
    require_inside(project / "images" / "ok.txt", project, "image", "a.md", 3)
    with pytest.raises(ManuscriptError, match="image is outside the manuscript folder; copy the file into it"):
        require_inside(project / ".." / "outside.txt", project, "image", "a.md", 3)
    with pytest.raises(ManuscriptError, match="image links to a file outside the manuscript folder"):
        require_inside(project / "link.txt", project, "image", "a.md", 3)


# -- raw HTML --------------------------------------------------------------------------------------

def _sanitized(markup: str, warnings_seen: list[str]) -> str:
    body = html.fragment_fromstring(markup, create_parent="div")
    sanitize_html(body, Path("a.md"), markup)
    return etree.tostring(body, encoding="unicode", method="xml")


def test_sanitizer_removes_scripts_and_keeps_the_text(warnings_seen: list[str]) -> None:
    markup = (
        '<p>Before <script>alert(1)</script>after <b onmouseover="x()">bold</b></p>\n'
        '<p><a href=" JaVa&#x09;script:alert(1)">link</a> <a href="https://example.org/">web</a></p>\n'
        '<object data="x.swf"><embed src="x.swf"/></object><iframe src="https://example.org"></iframe>\n'
        '<p><a rel="attachment nofollow" href="secret.txt">att</a></p><video poster="https://example.org/p.png"></video>\n'
    )
    out = _sanitized(markup, warnings_seen)
    for gone in ("script", "onmouseover", "javascript", "object", "embed", "iframe", "attachment", "poster"):
        assert gone not in out.lower(), out
    assert "Before after " in out and ">bold</b>" in out and 'href="https://example.org/"' in out
    assert 'rel="nofollow"' in out and ">att</a>" in out
    assert [m.split(":")[1] for m in warnings_seen] == ["1", "1", "2", "3", "3", "4", "4"], warnings_seen


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JAVASCRIPT:x", "java\nscript:x", "vbscript:x", "data:text/html,<script>"])
def test_script_urls(url: str) -> None:
    assert is_script_url(url)


@pytest.mark.parametrize("url", ["https://example.org/javascript:", "notes.md#javascript", "data:image/png;base64,AA"])
def test_not_script_urls(url: str) -> None:
    assert not is_script_url(url)


# -- a hostile manuscript, built for real (its metadata is full of &, <, quotes and emoji) ----------

TITLE = 'Tom & Jerry <3 "Quotes" \u2019n\u2019 \U0001F389'
AUTHOR = "Zo\u00eb O'Brien & <Sons>"
#: The title as printed: the book's smart punctuation curls its straight quotes (the title gets
#: the language's quotes like the text); &, < and the emoji stay as written.
TITLE_PRINTED = 'Tom & Jerry <3 \u201cQuotes\u201d \u2019n\u2019 \U0001F389'
CHAPTER = 'Cats & Dogs <b>not bold</b> "yes" \U0001F431'


HOSTILE_YAML = (
    f"title: '{TITLE}'\nauthor: \"Zo\u00eb O'Brien & <Sons>\"\nlanguage: en\ndate: 2026-01-15\n"
    "publisher: 'A&B \"Press\" <Ltd>'\ndescription: 'Less < more & \"quoted\" \U0001F4DA'\nslug: hostile\n"
)

def _hostile_book(root: Path, base: str, extra_yaml: str = "") -> Path:
    """A manuscript whose Markdown, raw HTML and theme CSS point at a server and at files outside it."""
    outside = root.parent
    (outside / "outside.txt").write_text("LEAKOUTSIDETXT", encoding="utf-8")
    (outside / "outside.css").write_text('body::after { content: "LEAKOUTSIDECSS" }', encoding="utf-8")
    book = write_book(root / "manuscript", {
        "book.yaml": HOSTILE_YAML + "styles: theme\n" + extra_yaml,
        "a.md": f"""\
            ---
            title: '{CHAPTER}'
            ---

            Text & more <i>italic</i>.

            A [web link]({base}/markdown-link) is only a link.

            <link rel="stylesheet" href="{base}/raw-link.css">
            <style>@import url("{base}/raw-style.css");</style>
            <iframe src="{base}/iframe"></iframe>
            <object data="{base}/object"></object>
            <embed src="{base}/embed">
            <p style="background: url({base}/style-attr.png)">Styled.</p>
            <video poster="{base}/poster.png"></video>

            <p><a rel="attachment" href="file:///etc/hostname">hostname</a>
            <a rel="attachment" href="../../outside.txt">outside</a>
            <a rel="attachment" href="secret.txt">symlink</a></p>
            """,
        "theme/print.css": f"""\
            @import url("{base}/theme-import.css");
            @import url("inside.css");
            @import url("secret.css");
            @import url("../../outside.css");
            @import url("file:///etc/hostname");
            @font-face {{ font-family: Remote; src: url("{base}/font.woff2"); }}
            @font-face {{ font-family: Local; src: url("secret.txt"); }}
            body {{ background: url("{base}/background.png"); font-family: Remote, Local, serif; }}
            h1 {{ background: url("file:///dev/urandom"); }}
            """,
        "theme/inside.css": 'h1::after { content: " INSIDECSSLOADED" }',
    })
    (book / "secret.txt").symlink_to(outside / "outside.txt")
    (book / "theme" / "secret.css").symlink_to(outside / "outside.css")
    return book


def _pdf_bytes_and_text(pdf: Path) -> tuple[bytes, str, int]:
    """Every stream of the PDF decompressed, its text, and its number of embedded files."""
    import pymupdf

    with pymupdf.open(pdf) as doc:
        streams = [doc.xref_stream(x) or b"" for x in range(1, doc.xref_length()) if doc.xref_is_stream(x)]
        # Without spaces and hyphens: a marker broken over two lines is still found.
        text = re.sub(r"[\s\-\u00ad\u2010]", "", "".join(page.get_text() for page in doc))
        return pdf.read_bytes() + b"".join(streams), text, doc.embfile_count()


def _epub_bytes(epub: Path) -> bytes:
    with zipfile.ZipFile(epub) as z:
        return b"".join(z.read(name) for name in z.namelist())


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """The hostile book built once (both formats) with a counting server up."""
    hits: list[str] = []
    handler = type("Handler", (_Counter,), {"hits": hits})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    root = tmp_path_factory.mktemp("hostile")
    book = _hostile_book(root, base)
    out = root / "out"
    start = time.monotonic()
    result = run_cli("build", str(book), "-o", str(out), env=EPOCH, timeout=180)
    seconds = time.monotonic() - start
    time.sleep(0.2)  # let a late request, if any, be counted
    yield {"result": result, "hits": list(hits), "out": out, "seconds": seconds, "base": base, "book": book}
    httpd.shutdown()
    httpd.server_close()


def test_hostile_book_builds_with_warnings(hostile: dict[str, object]) -> None:
    result = hostile["result"]
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
    assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]
    stderr: str = result.stderr  # type: ignore[attr-defined]
    for needle in ("removed <link>", "removed <style>", "removed <iframe>", "removed <object>", "removed <embed>",
                   "removed a style attribute", "removed rel=\"attachment\"", "removed <video>"):
        assert needle in stderr, stderr
    assert re.search(r"a\.md:\d+: removed <iframe>", stderr)
    for refused in ("theme-import.css", "font.woff2", "background.png", "file:///etc/hostname", "outside.css", "file:///dev/urandom"):
        assert re.search(rf"warning: refused to load '[^']*{re.escape(refused)}", stderr), (refused, stderr)
    assert hostile["seconds"] < 120  # /dev/urandom did not hang the build


def test_hostile_book_makes_no_request(hostile: dict[str, object]) -> None:
    assert hostile["hits"] == []


def test_hostile_book_leaks_no_byte(hostile: dict[str, object]) -> None:
    out: Path = hostile["out"]  # type: ignore[assignment]
    pdf, epub = next(out.glob("*.pdf")), next(out.glob("*.epub"))
    pdf_data, pdf_text, attachments = _pdf_bytes_and_text(pdf)
    epub_data = _epub_bytes(epub)
    # The control: CSS inside the theme is loaded, and its text would be found the same way.
    assert "INSIDECSSLOADED" in pdf_text
    assert attachments == 0
    secrets = [b"LEAKOUTSIDETXT", b"LEAKOUTSIDECSS"]
    hostname = Path("/etc/hostname").read_bytes().strip() if Path("/etc/hostname").is_file() else b""
    if len(hostname) >= 6:
        secrets.append(hostname)
    for secret in secrets:
        assert secret not in pdf_data, secret
        assert secret.decode() not in pdf_text, secret
        assert secret not in epub_data, secret
    with zipfile.ZipFile(epub) as z:
        names = z.namelist()
    assert not [n for n in names if "outside" in n or "secret" in n or "hostname" in n], names


def test_hostile_epub_is_valid_and_unscripted(hostile: dict[str, object]) -> None:
    out: Path = hostile["out"]  # type: ignore[assignment]
    epub = next(out.glob("*.epub"))
    assert epubcheck_messages(epub) == []
    data = _epub_bytes(epub).lower()
    for needle in (b"<script", b"<iframe", b"<object", b"<embed", b"onclick", b"javascript:", b'rel="attachment"'):
        assert needle not in data, needle
    with zipfile.ZipFile(epub) as z:
        opf = next(n for n in z.namelist() if n.endswith(".opf"))
        assert b"scripted" not in z.read(opf)


def test_hostile_book_strict_fails(hostile: dict[str, object], tmp_path: Path) -> None:
    result = run_cli("build", str(hostile["book"]), "-o", str(tmp_path / "out"), "--strict", env=EPOCH, timeout=180)
    assert "Traceback" not in result.stderr
    assert result.returncode == 6, result.stderr
    # A strict failure commits nothing (issue 14): the output folder holds no output and no staging
    # leftovers, only the layout cache that the next build starts from.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) in ([], [".bookmaker-cache"])


def test_allowed_host_is_fetched(server: tuple[str, list[str]], tmp_path: Path) -> None:
    """The control for the zero-request test: with the host allowed, the same CSS does reach the server."""
    base, hits = server
    book = write_book(tmp_path / "manuscript", {
        "book.yaml": YAML + "styles: theme\nnetwork:\n  allow: [127.0.0.1]\n",
        "a.md": "# Allowed\n\nText.\n",
        "theme/print.css": f'@import url("{base}/theme-import.css");\n',
    })
    result = run_cli("build", str(book), "-o", str(tmp_path / "out"), "--format", "pdf", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "/theme-import.css" in hits


def test_remote_markdown_image_is_an_error_without_request(server: tuple[str, list[str]], tmp_path: Path) -> None:
    base, hits = server
    book = write_book(tmp_path / "manuscript", {"book.yaml": YAML, "a.md": f"# Remote\n\n![A chart]({base}/chart.png)\n"})
    result = run_cli("build", str(book), "-o", str(tmp_path / "out"), timeout=60)
    assert "Traceback" not in result.stderr
    assert result.returncode == 4, result.stderr
    assert re.search(r"a\.md:3: image 'http://127\.0\.0\.1:\d+/chart\.png' is not a file in the manuscript", result.stderr)
    assert hits == []


def test_metadata_is_escaped_everywhere(hostile: dict[str, object]) -> None:
    """Title, author, publisher and a chapter title with &, <, quotes and emoji, read back from every file
    (the same EPUB passes EPUBCheck in test_hostile_epub_is_valid_and_unscripted)."""
    import pymupdf

    out: Path = hostile["out"]  # type: ignore[assignment]
    epub = out / "hostile.epub"

    ns = {"dc": "http://purl.org/dc/elements/1.1/", "opf": "http://www.idpf.org/2007/opf",
          "x": "http://www.w3.org/1999/xhtml", "ncx": "http://www.daisy.org/z3986/2005/ncx/"}
    with zipfile.ZipFile(epub) as z:
        names = z.namelist()
        opf = etree.fromstring(z.read(next(n for n in names if n.endswith(".opf"))))
        nav = etree.fromstring(z.read(next(n for n in names if n.endswith("nav.xhtml"))))
        ncx = etree.fromstring(z.read(next(n for n in names if n.endswith(".ncx"))))
        chapter = etree.fromstring(z.read(next(n for n in names if n.endswith("text/a.xhtml"))))
    assert opf.xpath("string(//dc:title)", namespaces=ns) == TITLE_PRINTED
    assert opf.xpath("string(//dc:creator)", namespaces=ns) == AUTHOR
    assert opf.xpath("string(//dc:publisher)", namespaces=ns) == 'A&B "Press" <Ltd>'
    # The description is inline Markdown with the book's smart punctuation (README, 'Markdown in
    # book.yaml'): its straight quotes curl, its < and & stay text.
    assert opf.xpath("string(//dc:description)", namespaces=ns) == 'Less < more & \u201cquoted\u201d \U0001F4DA'
    assert CHAPTER in [" ".join(t.split()) for t in nav.xpath("//x:nav//x:a//text()", namespaces=ns)] or any(
        CHAPTER in "".join(a.itertext()) for a in nav.xpath("//x:nav//x:a", namespaces=ns))
    assert ncx.xpath("string(//ncx:docTitle/ncx:text)", namespaces=ns) == TITLE_PRINTED
    assert any(CHAPTER in t for t in ncx.xpath("//ncx:navLabel/ncx:text/text()", namespaces=ns))
    assert chapter.xpath("string(//x:title)", namespaces=ns) == CHAPTER
    assert chapter.xpath("count(//x:b)", namespaces=ns) == 0  # markup in a title stays text

    with pymupdf.open(out / "hostile.pdf") as doc:
        meta = doc.metadata
        text = "".join(page.get_text() for page in doc)
    assert meta["title"] == TITLE_PRINTED
    assert meta["author"] == AUTHOR
    assert "Cats & Dogs <b>not bold</b>" in text


def test_theme_template_cannot_run_code(tmp_path: Path) -> None:
    """Theme templates come with the manuscript: Jinja2's sandbox stops the classic escape to ``os``."""
    book = write_book(tmp_path / "manuscript", {
        "book.yaml": YAML + "styles: theme\n",
        "a.md": "# One\n\nText.\n",
        "theme/templates/titlepage.xhtml.j2": '{{ cycler.__init__.__globals__.os.system("touch PWNED") }}',
        "theme/templates/copyright.xhtml.j2": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    })
    result = run_cli("build", str(book), "-o", str(tmp_path / "out"), "--format", "epub", cwd=tmp_path, timeout=60)
    assert "Traceback" not in result.stderr
    assert result.returncode == 4, result.stderr
    assert "which templates may not do" in result.stderr
    assert not (tmp_path / "PWNED").exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


SVG = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">{}</svg>'


def test_clean_svg_is_accepted() -> None:
    body = '<defs><linearGradient id="g"/></defs><rect fill="url(#g)" width="1" height="1"/><use xlink:href="#g"/>'
    assert svg_problem(SVG.format(body).encode()) is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("<script>alert(1)</script>", "contains <script>"),
        ('<rect onclick="x()"/>', "event handler ('onclick')"),
        ('<image xlink:href="file:///etc/hostname"/>', "refers to 'file:///etc/hostname'"),
        ('<image href="../../outside.png"/>', "refers to '../../outside.png'"),
        ('<image href="https://example.org/x.png"/>', "refers to 'https://example.org/x.png'"),
        ("<style>@import url(https://example.org/a.css);</style>", "<style> that loads another file"),
        ('<foreignObject><p xmlns="http://www.w3.org/1999/xhtml">x</p></foreignObject>', "contains <foreignobject>"),
    ],
)
def test_unsafe_svg_is_refused(body: str, problem: str) -> None:
    assert problem in (svg_problem(SVG.format(body).encode()) or "")


def test_svg_with_entities_is_refused() -> None:
    xxe = b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/hostname">]><svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>'
    assert "declares XML entities" in (svg_problem(xxe) or "")
