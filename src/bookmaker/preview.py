"""``bookmaker preview``: serve the book as HTML on 127.0.0.1 and reload the browser when a file is saved."""

from __future__ import annotations

import copy
import json
import mimetypes
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from lxml import etree, html

from bookmaker.builders import Builder, chapter_label, roman
from bookmaker.citations import Citations
from bookmaker.clock import build_datetime
from bookmaker.config import BookConfig, load_config
from bookmaker.errors import BookmakerError, Report
from bookmaker.labels import labels_for
from bookmaker.lint import Finding, collect_warnings
from bookmaker.model import Book, Chapter, Note
from bookmaker.reader import read_chapter, read_source, settle_ids
from bookmaker.render import template_env
from bookmaker.resources import default_styles, style_file, styles_dir
from bookmaker.passes import run_passes

#: How long a reload request waits for a change before answering "nothing new" (seconds).
LONG_POLL_SECONDS = 25.0


class PreviewBuilder(Builder):
    """Render chapters for the screen: one page per chapter, notes at the end of each page."""

    name = "preview"
    suffix = "html"

    def get_target_uri(self, chapter_id: str, anchor: str | None = None) -> str:
        href = f"{chapter_id}.html"
        return f"{href}#{anchor}" if anchor else href

    def get_image_uri(self, name: str) -> str:
        return f"images/{name}"

    def make_noteref(self, chapter: Chapter, note: Note, ref_id: str) -> etree._Element:
        a = etree.Element("a", {"class": "noteref", "href": f"#{note.id}", "id": ref_id, "role": "doc-noteref"})
        a.text = str(note.number)
        return a

    def chapter_html(self, chapter: Chapter) -> tuple[str, list[tuple[Note, str]]]:
        """The chapter body and each note's content, as HTML strings."""
        body = inner_html(self.resolve_body(chapter))
        notes = [(note, inner_html(self.resolve_body(chapter, note.body))) for note in chapter.notes]
        return body, notes


def inner_html(tree: etree._Element) -> str:
    """The content of an element (without the element itself) as HTML."""
    parts = [escape(tree.text, quote=False)] if tree.text else []
    parts += [html.tostring(child, encoding="unicode", method="html") for child in tree]
    return "".join(parts)


@dataclass
class Response:
    """What the server sends back for a path."""

    status: int
    content_type: str
    body: bytes


class PreviewSite:
    """The book as the server sees it: the model, rendered chapters, errors, and a change counter."""

    def __init__(self, manuscript: Path) -> None:
        self.manuscript = manuscript
        self.book: Book | None = None
        #: The chapters as read, before the passes: a save re-reads one and the passes run on copies.
        self.chapters: list[Chapter] = []
        #: Errors that stop the preview, by the file that caused them (None: the whole book).
        self.errors: dict[Path | None, str] = {}
        self.warnings: list[Finding] = []
        #: Rendered chapter bodies by chapter id; a save drops only the changed chapter's entry.
        self.rendered: dict[str, tuple[str, list[tuple[Note, str]]]] = {}
        #: Chapter ids in the order they were rendered (tests read it to see what was redone).
        self.render_log: list[str] = []
        #: Paths requested so far, in order (tests see a browser's reload in it).
        self.requests: list[str] = []
        self.version = 0
        self.changed = threading.Condition()
        self.lock = threading.RLock()
        self.load()

    # -- model ----------------------------------------------------------------------
    def load(self) -> None:
        """Read the whole book (at start, and when book.yaml or the set of files changes)."""
        from bookmaker.pipeline import read_manuscript

        with self.lock:
            warnings: list[Finding] = []
            report = Report()
            try:
                with collect_warnings(warnings):
                    config = load_config(self.manuscript)
                    # Read as build reads it, citations lifted out for the format_citations pass
                    # (the page shows them formatted, not as raw [@key]).
                    chapters, citations = read_manuscript(config, report)
                    report.raise_errors()
                    book = self._book(config, chapters, build_datetime(), citations)
            except BookmakerError as exc:
                self.errors = {None: str(exc)}
                return
            self.chapters, self.book, self.errors, self.warnings, self.rendered = chapters, book, {}, warnings, {}
            self.env = template_env(styles_dir(book.config))
            self.labels = labels_for(book.config)
            self.env.globals.update(roman=roman, label=self.labels)
            self.builder = PreviewBuilder(book)

    @staticmethod
    def _book(config: BookConfig, chapters: list[Chapter], build_date: datetime,
              citations: Citations | None = None) -> Book:
        """A Book of copies of the chapters as read, through the passes ``build`` runs (which change them)."""
        book = Book(config=config, chapters=[copy.deepcopy(c) for c in chapters], identifier="", build_date=build_date,
                    citations=citations)
        report = Report()
        run_passes(book, report)
        report.raise_errors()
        return book

    def reread_chapter(self, path: Path) -> None:
        """Read one changed chapter again and redo the book-wide passes, which are cheap."""
        assert self.book is not None
        book = self.book
        if book.citations is not None:
            # Citations are numbered and formatted across the whole book (ibid., first full
            # note, the bibliography): read it all again.
            self.load()
            return
        index = next(i for i, c in enumerate(self.chapters) if c.source.resolve() == path.resolve())
        old = self.chapters[index]
        warnings: list[Finding] = []
        try:
            with collect_warnings(warnings):
                chapter = read_chapter(read_source(path), book.config, old.id)
                if chapter.id != old.id or chapter.author_ids != old.author_ids:
                    # The author changed ids: which made-up ids must move is the whole book's question.
                    self.load()
                    return
                chapters = self.chapters[:index] + [chapter] + self.chapters[index + 1 :]
                chapters = settle_ids(chapters, book.config, {c.id for c in chapters})
                new_book = self._book(book.config, chapters, book.build_date)
        except BookmakerError as exc:
            self.errors[path.resolve()] = str(exc)
            return
        self.chapters, self.book, self.builder = chapters, new_book, PreviewBuilder(new_book)
        self.errors.pop(path.resolve(), None)
        shown = {w.path for w in warnings}
        self.warnings = [w for w in self.warnings if w.path not in shown] + warnings
        self.rendered.pop(old.id, None)
        self.rendered.pop(chapter.id, None)

    def apply_changes(self, changed: set[Path]) -> None:
        """Bring the model up to date with saved files, then wake every waiting browser."""
        with self.lock:
            sources = {c.source.resolve() for c in self.book.chapters} if self.book else set()
            chapters = {p.resolve() for p in changed if p.suffix == ".md"}
            full = (
                self.book is None
                or None in self.errors
                or any(p.name == "book.yaml" for p in changed)
                or not chapters <= sources
                or any(not p.is_file() for p in chapters)
            )
            if full:
                self.load()
            else:
                for path in sorted(chapters):
                    self.reread_chapter(path)
            # Style and image changes need no re-rendering: the browser fetches them again.
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def wait_for_change(self, since: int, timeout: float = LONG_POLL_SECONDS) -> int:
        """Block until the version moves past ``since`` (or the timeout passes); return it."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while self.version <= since:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(left)
            return self.version

    # -- pages --------------------------------------------------------------------------
    def respond(self, path: str) -> Response:
        """The response for a request path."""
        path = unquote(urlsplit(path).path)
        with self.lock:
            if path.startswith("/styles/"):
                return self._file(self._style_path(path.removeprefix("/styles/")))
            if path.startswith("/images/") and self.book is not None:
                image = self.book.images.get(path.removeprefix("/images/"))
                return self._file(image.source if image else None)
            if self.errors or self.book is None:
                return self._html(self._page("Error", self._error_html()), HTTPStatus.OK)
            if path in ("/", "/index.html"):
                return self._html(self._page(self.labels("contents"), self._contents_html()))
            if path.endswith(".html"):
                chapter_id = path[1:].removesuffix(".html")
                for chapter in self.book.chapters:
                    if chapter.id == chapter_id:
                        return self._html(self._chapter_page(chapter))
        return self._html(self._page("Not found", "<p>No such page. <a href=\"/\">Contents</a></p>"), HTTPStatus.NOT_FOUND)

    def _chapter_page(self, chapter: Chapter) -> str:
        assert self.book is not None
        if chapter.id not in self.rendered:
            self.rendered[chapter.id] = self.builder.chapter_html(chapter)
            self.render_log.append(chapter.id)
        body, notes = self.rendered[chapter.id]
        chapters = self.book.chapters
        index = chapters.index(chapter)
        content = self.env.get_template("preview-chapter.j2").render(
            chapter=chapter,
            body=body,
            notes=notes,
            previous=chapters[index - 1] if index > 0 else None,
            next=chapters[index + 1] if index + 1 < len(chapters) else None,
            number_label=chapter_label(chapter, self.labels),
        )
        return self._page(chapter.title, content)

    def _contents_html(self) -> str:
        assert self.book is not None
        return self.env.get_template("preview-contents.j2").render(
            config=self.book.config, toc=self.book.toc, warnings=self.warnings
        )

    def _error_html(self) -> str:
        items = "".join(f"<li><pre>{escape(message)}</pre></li>" for message in self.errors.values())
        return (
            '<section class="preview-error"><h1>The book cannot be shown</h1>'
            f"<ul>{items}</ul><p>Fix the file and save it: this page reloads by itself.</p></section>"
        )

    def _page(self, title: str, content: str) -> str:
        env = getattr(self, "env", None) or template_env()
        book_title = self.book.config.title if self.book else "bookmaker preview"
        language = self.book.config.language if self.book else "en"
        return env.get_template("preview-page.j2").render(
            title=title, book_title=book_title, lang=language, content=content, version=self.version
        )

    def _style_path(self, name: str) -> Path | None:
        theme = styles_dir(self.book.config) if self.book else default_styles()
        if name == "screen.css" and self.book is not None:
            return style_file(self.book.config, "screen.css")
        for folder in (theme, default_styles()):
            candidate = (folder / name).resolve()
            # Serve only files inside the theme folders, whatever the request path says.
            if candidate.is_relative_to(folder.resolve()) and candidate.is_file():
                return candidate
        return None

    @staticmethod
    def _file(path: Path | None) -> Response:
        if path is None or not path.is_file():
            return Response(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return Response(HTTPStatus.OK, kind, path.read_bytes())

    @staticmethod
    def _html(text: str, status: int = HTTPStatus.OK) -> Response:
        return Response(status, "text/html; charset=utf-8", text.encode("utf-8"))


class _Handler(BaseHTTPRequestHandler):
    site: PreviewSite

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        parts = urlsplit(self.path)
        self.site.requests.append(parts.path)
        if parts.path == "/__reload":
            raw = parse_qs(parts.query).get("since", ["0"])[0] or "0"
            if not raw.isdigit():
                # A hand-typed or stale URL: answer it, never a traceback in the author's terminal.
                self.send_error(400, "since must be a whole number")
                return
            since = int(raw)
            version = self.site.wait_for_change(since)
            self._send(Response(HTTPStatus.OK, "application/json", json.dumps({"version": version}).encode()))
            return
        self._send(self.site.respond(self.path))

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        # Every request must see the latest save.
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        pass


class PreviewServer:
    """The HTTP server and the watcher thread; ``close()`` stops both."""

    def __init__(self, manuscript: Path, port: int = 0, watch: bool = True) -> None:
        self.site = PreviewSite(manuscript)
        handler = type("Handler", (_Handler,), {"site": self.site})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.httpd.serve_forever, name="preview-http", daemon=True)]
        if watch:
            self.threads.append(threading.Thread(target=self._watch, name="preview-watch", daemon=True))

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> PreviewServer:
        for thread in self.threads:
            thread.start()
        return self

    def _watch(self) -> None:
        from bookmaker.watch import iter_changes, watched_folders

        for changed in iter_changes(watched_folders(self.site.manuscript), self.stop):
            self.site.apply_changes(changed)

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        with self.site.changed:
            # Wake long polls so their threads end with the server.
            self.site.version += 1
            self.site.changed.notify_all()
