"""Code blocks: Pygments highlighting for fenced blocks that name a language, and print line wrapping with a continuation mark."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lxml import etree

from bookmaker.log import warn

#: The body size of the print theme (``--body-size`` in print.css), in points.
BODY_SIZE_PT = 11.0
#: The code size the print theme sets (``--code-size`` in print.css, in ems of the body size).
CODE_SIZE_EM = 0.78
#: The code face whose advance width sets the column count (every glyph is as wide).
CODE_FONT = "JetBrainsMono-Regular.ttf"
#: Printed at the start of a continued line (U+21AA, in the code face).
CONTINUATION = "\u21aa"
#: Space that a list or a quotation takes from the text width, in ems of the body size (print.css).
LIST_INDENT_EM = 1.4
QUOTE_INDENT_EM = 3.2
#: A line is broken after a space or punctuation when one falls in its last quarter.
_BREAK_AFTER = " ,;.)]}>"


def _class_of(token_type) -> str:  # type: ignore[no-untyped-def]
    from pygments.token import STANDARD_TYPES

    while token_type not in STANDARD_TYPES:
        token_type = token_type.parent
    return STANDARD_TYPES[token_type]


def _lexer(language: str):  # type: ignore[no-untyped-def]
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        # stripnl off: leading and trailing blank lines are the author's.
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def highlight_block(code: etree._Element, language: str) -> bool:
    """Replace the text of ``<code>`` by Pygments token spans (short classes: ``k``, ``s2``, ...)."""
    lexer = _lexer(language)
    if lexer is None:
        return False
    text = "".join(code.itertext())
    for child in list(code):
        code.remove(child)
    code.text = None
    last: etree._Element | None = None
    for token_type, value in lexer.get_tokens(text):
        if not value:
            continue
        css = _class_of(token_type)
        if css:
            last = etree.SubElement(code, "span", {"class": css})
            last.text = value
        elif last is None:
            code.text = (code.text or "") + value
        else:
            last.tail = (last.tail or "") + value
    return True


def highlight_code(body: etree._Element, source: Path, text: str) -> None:
    """Highlight every fenced block whose info string names a language Pygments knows.

    Python-Markdown's fenced_code gives ``<pre><code class="language-rust">``; the block
    gets the ``highlight`` class that both themes style.  An unknown language is left
    plain with a warning (BM511).
    """
    from bookmaker.markup import line_of

    for code in body.xpath("//pre/code[starts-with(@class, 'language-')]"):
        classes = (code.get("class") or "").split()
        language = next(c for c in classes if c.startswith("language-")).removeprefix("language-")
        if language in ("text", "plain", "none", "txt", "output", "console-output"):
            continue
        if highlight_block(code, language):
            pre = code.getparent()
            pre.set("class", " ".join([*(pre.get("class") or "").split(), "highlight"]))
        else:
            warn(f"code block language '{language}' is not known to Pygments: printed without highlighting",
                 source, line_of(text, f"```{language}") or line_of(text, language), code="BM511")


@lru_cache(maxsize=4)
def _advance(path: Path) -> float:
    """The advance width of the code face in ems (0.6 for JetBrains Mono)."""
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as font:
        glyph = font.getBestCmap()[ord("0")]
        return font["hmtx"][glyph][0] / font["head"].unitsPerEm


def columns(text_width: float, body_size: float, fonts_dir: Path, indent_em: float = 0.0) -> int:
    """How many code characters fit on a line ``text_width`` points wide (minus ``indent_em``)."""
    try:
        advance = _advance(fonts_dir / CODE_FONT)
    except (OSError, KeyError):
        advance = 0.6
    usable = text_width - indent_em * body_size
    return max(20, int(usable / (advance * body_size * CODE_SIZE_EM)))


def _tokens(code: etree._Element) -> list[tuple[str | None, str]]:
    out: list[tuple[str | None, str]] = [(None, code.text or "")]
    for child in code:
        out.append((child.get("class"), "".join(child.itertext())))
        out.append((None, child.tail or ""))
    return [(cls, value) for cls, value in out if value]


def _break_at(line: str, limit: int) -> int:
    """Where to break ``line`` (longer than ``limit``): after a space or punctuation near the end, else at ``limit``."""
    for index in range(limit, int(limit * 0.75), -1):
        if line[index - 1] in _BREAK_AFTER:
            return index
    return limit


def _split_line(line: str, limit: int) -> list[str]:
    """``line`` as pieces of at most ``limit`` columns (continuations have the mark and a space before them)."""
    pieces: list[str] = []
    width = limit
    while len(line) > width:
        cut = _break_at(line, width)
        pieces.append(line[:cut])
        line = line[cut:]
        width = limit - 2
    pieces.append(line)
    return pieces


def wrap_block(pre: etree._Element, limit: int) -> bool:
    """Break the lines of a code block longer than ``limit`` columns; True if any was.

    Each continuation starts with a grey arrow (``<span class="code-cont">``), so a reader
    can tell a wrapped line from two lines; spacing and alignment within lines stay as typed.
    """
    code = pre.find("code")
    target = code if code is not None else pre
    tokens = _tokens(target)
    if not tokens or all(len(line) <= limit for line in "".join(v for _, v in tokens).split("\n")):
        return False
    # Lay the characters of each line out with their token class, then rebuild.
    out: list[tuple[str | None, str]] = []
    line_classes: list[tuple[str | None, str]] = []

    def flush() -> None:
        text = "".join(ch for _, ch in line_classes)
        position = 0
        for number, piece in enumerate(_split_line(text, limit)):
            if number:
                out.append((None, "\n"))
                out.append(("code-cont", CONTINUATION))
                out.append((None, " "))
            for cls, ch in line_classes[position:position + len(piece)]:
                out.append((cls, ch))
            position += len(piece)
        line_classes.clear()

    for cls, value in tokens:
        for ch in value:
            if ch == "\n":
                flush()
                out.append((None, "\n"))
            else:
                line_classes.append((cls, ch))
    flush()
    for child in list(target):
        target.remove(child)
    target.text = None
    last: etree._Element | None = None
    merged: list[tuple[str | None, str]] = []
    for cls, ch in out:
        if merged and merged[-1][0] == cls:
            merged[-1] = (cls, merged[-1][1] + ch)
        else:
            merged.append((cls, ch))
    for cls, value in merged:
        if cls is None:
            if last is None:
                target.text = (target.text or "") + value
            else:
                last.tail = (last.tail or "") + value
        else:
            last = etree.SubElement(target, "span", {"class": cls})
            if cls == "code-cont":
                last.set("aria-hidden", "true")
            last.text = value
    return True


def wrap_code(body: etree._Element, text_width: float, fonts_dir: Path, body_size: float = BODY_SIZE_PT) -> None:
    """Wrap every code block of a chapter for print, narrowed by the lists and quotations around it."""
    for pre in body.iter("pre"):
        indent = 0.0
        parent = pre.getparent()
        while parent is not None:
            if parent.tag in ("ul", "ol", "dd"):
                indent += LIST_INDENT_EM
            elif parent.tag == "blockquote":
                indent += QUOTE_INDENT_EM
            elif parent.tag in ("td", "th", "table"):
                indent = -1  # a table cell's width is unknown here: overflow-wrap breaks there
                break
            parent = parent.getparent()
        if indent >= 0:
            wrap_block(pre, columns(text_width, body_size, fonts_dir, indent))
