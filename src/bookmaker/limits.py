"""Resource limits: huge images and chapters are refused or reported before they exhaust the machine."""

from __future__ import annotations

import contextlib
import re
import resource
import signal
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

from lxml import etree
from PIL import Image as PILImage

from bookmaker.config import Limits
from bookmaker.errors import ManuscriptError
from bookmaker.log import warn


@contextlib.contextmanager
def image_header(path: Path) -> Iterator[PILImage.Image]:
    """Open an image lazily (Pillow reads only the header) with Pillow's own bomb check off.

    ``Image.open`` raises DecompressionBombError above 2 x MAX_IMAGE_PIXELS before the
    size can be read, with a message about DOS attacks; bookmaker applies its own,
    configurable limit to the size read from the header instead (see check_pixels).
    """
    saved = PILImage.MAX_IMAGE_PIXELS
    PILImage.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(path) as im:
                yield im
    finally:
        PILImage.MAX_IMAGE_PIXELS = saved


def check_pixels(width: int, height: int, limit: int, src: str, source: Path | str, line: int | None) -> None:
    """Refuse an image whose header announces more than ``limit`` pixels (before decoding it)."""
    if width * height > limit:
        raise ManuscriptError(
            f"image '{src}' is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels), over the limit of "
            f"{limit / 1e6:g} megapixels; scale it down or raise 'limits: {{max_image_pixels: N}}' in book.yaml",
            source,
            line,
        )


def bound_decoders(limit: int) -> None:
    """Make Pillow, which WeasyPrint decodes images with, refuse what bookmaker would refuse.

    Pillow warns above MAX_IMAGE_PIXELS and fails above twice that; tying it to the
    book's limit also covers images only a stylesheet refers to.
    """
    PILImage.MAX_IMAGE_PIXELS = limit


def check_chapter_size(path: Path, limit: int) -> None:
    """Warn about a chapter file over ``limit`` bytes: layout time grows with it, and it is likely a mistake."""
    size = path.stat().st_size
    if size > limit:
        warn(
            f"chapter is {size / 1e6:.1f} MB, over {limit / 1e6:g} MB; split it into several files "
            "(or raise 'limits: {max_chapter_bytes: N}' in book.yaml)",
            path,
            code="BM205",
        )


#: Deeper nesting than this (block quotes, lists, raw HTML) is refused: Python-Markdown recurses
#: per level (500 levels exhaust the stack) and libxml2 silently drops content below 256 levels.
MAX_NESTING = 50
#: More unmatched '[', '(' after ']' or '<' than this in one paragraph is refused: Python-Markdown's
#: inline patterns rescan the rest of the paragraph for each of them (24 KB of '![' took 69 s).
MAX_UNMATCHED = 500
_LIST_ITEM_RE = re.compile(r"^([ \t]*)(?:[-*+]|\d+[.)])[ \t]")
_QUOTE_RE = re.compile(r"^[ \t]*((?:>[ \t]*)+)")
_BRACKET_RE = re.compile(r"[\[\]()<>]")


def check_markdown_shape(text: str, path: Path) -> None:
    """Refuse, in one linear pass and before parsing, Markdown whose parse would take minutes or exhaust the stack."""
    block_start, opens = 1, [0, 0, 0]
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            block_start, opens = number + 1, [0, 0, 0]
            continue
        quote = _QUOTE_RE.match(line)
        if quote and quote.group(1).count(">") > MAX_NESTING:
            raise ManuscriptError(f"block quotes nested {quote.group(1).count('>')} deep; bookmaker allows {MAX_NESTING}", path, number)
        item = _LIST_ITEM_RE.match(line)
        if item and len(item.group(1).expandtabs(4)) > 4 * MAX_NESTING:
            raise ManuscriptError(f"a list nested more than {MAX_NESTING} deep; bookmaker allows {MAX_NESTING}", path, number)
        _count_unmatched(line, opens)
        worst = max(opens)
        if worst > MAX_UNMATCHED:
            char = "[(<"[opens.index(worst)]
            raise ManuscriptError(
                f"the paragraph starting here has over {MAX_UNMATCHED} '{char}' that are never closed, which Markdown "
                f"cannot parse in reasonable time; escape them as '\\{char}' or close them",
                path,
                block_start,
            )


def _count_unmatched(line: str, opens: list[int]) -> None:
    """Update the counts of open '[', '(' directly after ']' and '<' by one line (a paragraph spans lines)."""
    # Only the bracket characters change a count: visiting them alone keeps the pass cheap.
    for match in _BRACKET_RE.finditer(line):
        ch, at = match.group(), match.start()
        previous = line[at - 1] if at else ""
        if ch == "[":
            opens[0] += 1
        elif ch == "]" and opens[0]:
            opens[0] -= 1
        elif ch == "(" and previous == "]":
            opens[1] += 1
        elif ch == ")" and opens[1]:
            opens[1] -= 1
        elif ch == "<":
            opens[2] += 1
        elif ch == ">" and opens[2]:
            opens[2] -= 1


def tree_depth(root: etree._Element) -> int:
    """The nesting depth of an element tree, without recursion."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        el, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in el)
    return deepest


_budget_active = False


@contextlib.contextmanager
def budget(limits: Limits, source: Path) -> Iterator[None]:
    """Hold a build to ``limits.max_seconds`` of wall time and ``limits.max_memory_mb`` of memory.

    The time limit is a timer signal (main thread only; SIGALRM interrupts the Python code that
    runs when it fires), the memory limit the process's address-space limit (RLIMIT_AS), under
    which an allocation fails with MemoryError instead of taking the machine's memory.  Both are
    lifted when the block ends; nested uses share the outer budget.
    """
    global _budget_active
    if _budget_active or (limits.max_seconds is None and limits.max_memory_mb is None):
        yield
        return
    _budget_active = True
    saved_limit = resource.getrlimit(resource.RLIMIT_AS)
    timed = limits.max_seconds is not None and threading.current_thread() is threading.main_thread()
    saved_handler = signal.getsignal(signal.SIGALRM) if timed else None

    def out_of_time(_signum: int, _frame: object) -> None:
        raise ManuscriptError(
            f"the build took longer than limits.max_seconds ({limits.max_seconds} s) and was stopped", source
        )

    try:
        if limits.max_memory_mb is not None:
            wanted = limits.max_memory_mb * 1024 * 1024
            hard = saved_limit[1]
            resource.setrlimit(resource.RLIMIT_AS, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))
        if timed:
            signal.signal(signal.SIGALRM, out_of_time)
            signal.setitimer(signal.ITIMER_REAL, float(limits.max_seconds or 0))
        yield
    except MemoryError:
        raise ManuscriptError(
            f"the build needed more memory than limits.max_memory_mb ({limits.max_memory_mb} MB) and was stopped", source
        ) from None
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, saved_handler)
        resource.setrlimit(resource.RLIMIT_AS, saved_limit)
        _budget_active = False
