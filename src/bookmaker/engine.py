"""The layout engine: every use of WeasyPrint (and of its internals) in the book, in one module."""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bookmaker.cjk import is_cjk
from bookmaker.log import logger, warn
from bookmaker.sandbox import ProjectFetcher

# ---- the footnote placement fix -------------------------------------------------------------------
#
# A narrow correction of WeasyPrint 70's footnote placement (WeasyPrint #1564 family).
#
# WeasyPrint lays out a footnote when it lays out the line that calls it.  Two paths in
# ``weasyprint.layout.block._linebox_layout`` then separate the note from its call:
#
# 1. When a later line of the same paragraph overflows the page and orphans/widows forbid
#    breaking just before it, WeasyPrint *moves the page's last footnote to the next page*
#    to make room for the line, although the call stays on this page.
# 2. When a break moves the paragraph's last lines to the next page to satisfy ``widows``,
#    the notes called in those lines stay on this page, before their calls.
#
# The fix keeps the engine's own algorithm and changes those two spots: the overflowing
# line is broken like any other (notes are never pushed away to make room for text), and
# notes whose calling lines moved to the next page move with them.  The patch is applied
# only to the exact source it was written for; any other WeasyPrint version is left alone
# with one BM530 warning per process (footnotes may then land a page after their call).

_REPORT = "report = not context.in_column and can_break_now and not could_break_before"
_BREAK = """                abort, stop, resume_at = _break_line(
                    context, box, line, new_children, needed, page_is_empty, index,
                    skip_stack, resume_at, absolute_boxes, fixed_boxes)
"""
_BREAK_FIXED = _BREAK + """                _bookmaker_drop_moved_notes(context, new_children, new_footnotes)
"""
_POLICY_BREAK = """                            abort, stop, resume_at = _break_line(
                                context, box, line, new_children, needed, page_is_empty,
                                index, skip_stack, resume_at, absolute_boxes,
                                fixed_boxes)
"""
_POLICY_BREAK_FIXED = _POLICY_BREAK + """                            _bookmaker_drop_moved_notes(context, new_children, new_footnotes)
"""

_applied: bool | None = None


def _drop_moved_notes(context, new_children, new_footnotes):  # type: ignore[no-untyped-def]
    """Unlayout the notes laid out for lines that a widows break just moved to the next page."""
    kept = set()
    for line in new_children:
        for descendant in line.descendants():
            if getattr(descendant, "footnote", None) is not None:
                kept.add(id(descendant.footnote))
    for footnote in list(new_footnotes):
        if id(footnote) not in kept:
            context.unlayout_footnote(footnote)
            new_footnotes.remove(footnote)


def apply_footnote_fix() -> bool:
    """Patch ``_linebox_layout`` once per process; True if the fix is active.

    When the installed WeasyPrint is not the one the patch was written for, the build goes
    on unpatched and says so once (BM530): a note may then print a page after its call.
    """
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    import weasyprint
    from weasyprint.layout import block

    reason = None
    source = ""
    if not weasyprint.__version__.startswith("70."):
        reason = f"it was written for WeasyPrint 70, found {weasyprint.__version__}"
    else:
        try:
            source = textwrap.dedent(inspect.getsource(block._linebox_layout))
        except (OSError, TypeError):
            reason = "the source of WeasyPrint's line layout cannot be read"
        else:
            if source.count(_REPORT) != 1 or source.count(_BREAK) != 1 or source.count(_POLICY_BREAK) != 1:
                reason = "WeasyPrint's line layout is not the expected one"
    if reason is not None:
        warn(f"the footnote placement fix is not applied ({reason}); a footnote may print on the page "
             "after its call", code="BM530")
        return False
    patched = (
        source.replace(_REPORT, "report = False")
        .replace(_BREAK, _BREAK_FIXED)
        .replace(_POLICY_BREAK, _POLICY_BREAK_FIXED)
    )
    namespace = dict(vars(block))
    namespace["_bookmaker_drop_moved_notes"] = _drop_moved_notes
    exec(compile(patched, block.__file__, "exec"), namespace)  # noqa: S102 - our own patch of a known source
    block._linebox_layout = namespace["_linebox_layout"]
    _applied = True
    return True


def footnote_fix_applied() -> bool:
    """Whether the fix is active in this process."""
    return bool(_applied)


# ---- layout -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Styles:
    """The stylesheets of a layout: the theme's files, then generated CSS (page geometry)."""

    files: tuple[Path, ...]
    generated: str
    #: Where relative URLs of the generated CSS resolve (the theme folder).
    generated_base: Path


class LayoutEngine:
    """Lay HTML out with WeasyPrint, reading only the project's files (``ProjectFetcher``)."""

    def __init__(self, roots: Sequence[Path], allow: Sequence[str], base: Path) -> None:
        self.fetcher = ProjectFetcher(list(roots), allow)
        self.base = base

    def render(self, html_text: str, styles: Styles, options: dict[str, Any]):  # type: ignore[no-untyped-def]
        """Lay ``html_text`` out once; returns a WeasyPrint ``Document``."""
        from weasyprint import CSS, HTML
        from weasyprint.text.fonts import FontConfiguration

        from bookmaker.fonts import theme_fonts_only

        apply_footnote_fix()
        # One FontConfiguration for every CSS and the render, or @font-face is ignored (engine-notes 9).
        with theme_fonts_only():
            fonts = FontConfiguration()
        # Like fonts, @color-profile rules only reach the PDF through one shared dict (PDF/X output intent).
        profiles: dict[str, Any] = {}
        css = [
            CSS(filename=str(p), font_config=fonts, color_profiles=profiles, url_fetcher=self.fetcher)
            for p in styles.files
        ]
        css.append(CSS(string=styles.generated, font_config=fonts, color_profiles=profiles,
                       url_fetcher=self.fetcher, base_url=str(styles.generated_base) + "/"))
        return HTML(string=html_text, base_url=str(self.base) + "/", url_fetcher=self.fetcher).render(
            stylesheets=css, font_config=fonts, color_profiles=profiles, **options)


def page_count(document) -> int:  # type: ignore[no-untyped-def]
    """How many pages a laid-out document has."""
    return len(document.pages)


def write_pdf(document, target: Path, options: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """Draw a laid-out document into ``target``."""
    document.write_pdf(str(target), **options)


# ---- what the layout tells ----------------------------------------------------------------------


def folios(document, first_body_id: str | None) -> list[str]:  # type: ignore[no-untyped-def]
    """The folio of every page as printed: lower roman before the body matter, arabic from 1."""
    from bookmaker.builders import roman

    body_start = next((i for i, page in enumerate(document.pages) if first_body_id in page.anchors), None)
    return [roman(i + 1).lower() if body_start is None or i < body_start else str(i - body_start + 1)
            for i in range(len(document.pages))]


def page_map(document, labels: Sequence[str]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The printed folio of each anchored element (the page where it starts)."""
    found: dict[str, str] = {}
    for page, label in zip(document.pages, labels):
        for anchor in page.anchors:
            found.setdefault(anchor, label)
    return found


def image_resolutions(document, sizes: dict[str, tuple[int, int]]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The lowest resolution (DPI) each image prints at, by its ``src`` URI; ``sizes`` gives
    the pixel size of every image by URI."""
    lowest: dict[str, float] = {}
    for page in document.pages:
        for box in _descendants(page._page_box):
            element = getattr(box, "element", None)
            if element is None or getattr(box, "element_tag", None) != "img" or not hasattr(box, "replacement"):
                continue
            uri = element.get("src") or ""
            width, height = sizes.get(uri, (0, 0))
            if not width or not height:
                continue
            width_in, height_in = box.width / 96, box.height / 96
            if width_in <= 0 or height_in <= 0:
                continue
            dpi = min(width / width_in, height / height_in)
            lowest[uri] = min(dpi, lowest.get(uri, dpi))
    return lowest


#: Ids that ``anchors.anchor_blocks`` gives to the blocks of chapter bodies.
_BLOCK_ID_RE = re.compile(r".+-b\d+$")
#: Line ends after which the next line continues the same word: WeasyPrint's hyphenation
#: character (U+2010), hard hyphens and dashes (a break after them adds no space).
_JOINING_ENDS = ("\u2010", "-", "\u2013", "\u2014", "/")


def page_starts(document, labels: Sequence[str]) -> dict[str, tuple[str, int]]:  # type: ignore[no-untyped-def]
    """For every page whose first line of text continues a block from an earlier page, the
    block's id and how many of its words (whitespace-separated) were printed before.

    Text is read from WeasyPrint's laid-out boxes, leaving out margin boxes (running heads,
    folios) and footnotes, which stand outside the reading order.
    """
    from weasyprint.formatting_structure import boxes

    printed: dict[str, list[str]] = {}
    starts: dict[str, tuple[str, int]] = {}

    def lines_of(box, block: str | None, in_note: bool, in_line: bool, out: list[tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
        if isinstance(box, boxes.MarginBox):
            return
        element = getattr(box, "element", None)
        if element is not None:
            if "footnote" in (element.get("class") or "").split():
                in_note = True
            element_id = element.get("id")
            if element_id and _BLOCK_ID_RE.match(element_id):
                block = element_id
        # A ::first-line box is a line box inside the paragraph's first line box: one line.
        if isinstance(box, boxes.LineBox) and not in_line:
            if block and not in_note:
                out.append((block, ""))
            in_line = True
        if isinstance(box, boxes.TextBox):
            if block and not in_note and out:
                out[-1] = (out[-1][0], out[-1][1] + box.text)
            return
        for child in getattr(box, "children", None) or ():
            lines_of(child, block, in_note, in_line, out)

    for page, label in zip(document.pages, labels):
        lines: list[tuple[str, str]] = []
        lines_of(page._page_box, None, False, False, lines)
        lines = [(block, text) for block, text in lines if text.strip()]
        if lines:
            block = lines[0][0]
            before = printed.get(block)
            if before:
                starts[label] = (block, len(_join_lines(before).split()))
        for block, text in lines:
            printed.setdefault(block, []).append(text)
    return starts


def _join_lines(lines: list[str]) -> str:
    """Lines of one block as running text: a hyphenated word is whole again."""
    text = ""
    for line in lines:
        line = line.strip()
        if text.endswith(_JOINING_ENDS) or (text and line and is_cjk(text[-1]) and is_cjk(line[0])):
            text = text.removesuffix("\u2010") + line
        else:
            text = f"{text} {line}" if text else line
    return text


def _descendants(box) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    stack = [box]
    while stack:
        current = stack.pop()
        yield current
        children = getattr(current, "children", None)
        if children:
            stack.extend(children)
        footnotes = getattr(current, "footnotes", None)
        if footnotes:
            stack.extend(footnotes)


def column_tops(document, container: str, item: str, stand_in: str = "") -> list[str]:  # type: ignore[no-untyped-def]
    """The ids of the ``item`` elements that begin a column of a multi-column ``container``.

    For each page and each column (the left or right half of the container's box), the
    innermost ``item`` whose first box is the highest in that column, when nothing else
    (a letter-group heading) stands above it.  An item that continues from an earlier
    column is left out: its start is elsewhere.  Used for "Xiaomi (continued)" in the index.
    """
    from weasyprint.formatting_structure import boxes

    seen: set[str] = set()
    tops: list[str] = []
    for page in document.pages:
        frames: list[tuple[float, float]] = []
        found: list[tuple[float, float, int, str | None]] = []  # (x, y, depth, id or None)

        def walk(box, depth: int, inside: bool) -> None:  # type: ignore[no-untyped-def]
            element = getattr(box, "element", None)
            classes = (element.get("class") or "").split() if element is not None else []
            if isinstance(box, boxes.BlockBox) and element is not None:
                if container in classes and box.element_tag != "html":
                    frames.append((box.content_box_x(), box.width))
                    inside = True
                elif inside and item in classes:
                    found.append((box.position_x, box.position_y, depth, element.get("id")))
                    depth += 1
                elif inside and stand_in and stand_in in classes:
                    found.append((box.position_x, box.position_y, 99, element.get("data-for")))
                elif inside and box.element_tag in ("h1", "h2", "h3", "h4", "h5", "h6", "p"):
                    found.append((box.position_x, box.position_y, -1, None))
            for child in getattr(box, "children", None) or ():
                walk(child, depth, inside)

        walk(page._page_box, 0, False)
        if not frames:
            continue
        x0, width = frames[0]
        for column in (0, 1):
            members = [f for f in found if (f[0] >= x0 + width / 2) == bool(column)]
            if not members:
                continue
            top = min(f[1] for f in members)
            at_top = [f for f in members if f[1] - top < 1]
            innermost = max(at_top, key=lambda f: f[2])
            if innermost[3] is not None and innermost[3] not in seen and innermost[2] >= 0:
                tops.append(innermost[3])
        seen.update(f[3] for f in found if f[3] and f[2] != 99)
    return tops
