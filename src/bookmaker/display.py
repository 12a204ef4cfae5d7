"""Display type for print: long titles broken between words into balanced lines (WeasyPrint 70 has no text-wrap: balance)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path

from markupsafe import Markup

#: A computed line must fit in this share of the measure: kerning and rounding in the real
#: layout must never wrap a line again (which would leave a one-word line).
SAFETY = 0.97
#: Titles of more words than this are left to the layout engine.
MAX_WORDS = 40


@dataclass(frozen=True)
class DisplayStyle:
    """How a kind of display line is set in the print theme (the values of print.css)."""

    font: str
    size: float  # points
    tracking: float = 0.0  # ems
    small_caps: bool = False


#: The display styles of the default print theme (print.css; body size 11pt).
STYLES = {
    "half-title": DisplayStyle("EBGaramond-Regular.otf", 11 * 1.7, 0.05, small_caps=True),
    "book-title": DisplayStyle("EBGaramond-Regular.otf", 11 * 3.0, 0.03),
    "book-subtitle": DisplayStyle("EBGaramond-Italic.otf", 11 * 1.25),
    "chapter-title": DisplayStyle("EBGaramond-Regular.otf", 11 * 1.75),
    "part-title": DisplayStyle("EBGaramond-Regular.otf", 11 * 2.0),
    "matter-title": DisplayStyle("EBGaramond-Regular.otf", 11 * 1.55),
}


class FontMetrics:
    """Advance widths of a font's characters, with its small capitals (``smcp``)."""

    def __init__(self, path: Path) -> None:
        from fontTools.ttLib import TTFont

        with TTFont(str(path), lazy=True) as font:
            self.upem = font["head"].unitsPerEm
            self.cmap = dict(font.getBestCmap())
            self.advances = {name: metric[0] for name, metric in font["hmtx"].metrics.items()}
            self.smcp = _single_substitutions(font, "smcp")

    def width(self, text: str, style: DisplayStyle) -> float:
        """The width of ``text`` in points (no kerning; tracking after every character)."""
        total = 0.0
        for ch in text:
            glyph = self.cmap.get(ord(ch))
            if glyph and style.small_caps:
                glyph = self.smcp.get(glyph, glyph)
            units = self.advances.get(glyph, self.upem) if glyph else self.upem  # CJK: a full em
            total += units / self.upem * style.size + style.tracking * style.size
        return total


def _single_substitutions(font, tag: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """glyph -> substitute for the single substitutions of feature ``tag`` (empty if none)."""
    if "GSUB" not in font:
        return {}
    table = font["GSUB"].table
    mapping: dict[str, str] = {}
    indices = {i for record in table.FeatureList.FeatureRecord if record.FeatureTag == tag
               for i in record.Feature.LookupListIndex}
    for index in sorted(indices):
        lookup = table.LookupList.Lookup[index]
        for sub in lookup.SubTable:
            if getattr(sub, "ExtSubTable", None) is not None:
                sub = sub.ExtSubTable
            for source, target in (getattr(sub, "mapping", None) or {}).items():
                mapping.setdefault(source, target)
    return mapping


@lru_cache(maxsize=8)
def metrics(path: Path) -> FontMetrics | None:
    """The metrics of a bundled font, or None if it cannot be read."""
    try:
        return FontMetrics(path)
    except Exception:  # noqa: BLE001 - an unreadable font only loses the balancing
        return None


def balanced_lines(words: list[str], measure: float, width: Callable[[str], float]) -> list[str]:
    """``words`` in the fewest lines that fit ``measure``, broken so that the lines are as
    even as possible (least squared difference from the average line); one line if it fits.

    Dynamic programming over (lines, words), as in Knuth and Plass's paragraph breaking,
    with the average line as the target instead of the full measure.
    """
    whole = " ".join(words)
    if len(words) < 2 or width(whole) <= measure:
        return [whole]
    n = len(words)
    spans = {(a, b): width(" ".join(words[a:b])) for a in range(n) for b in range(a + 1, n + 1)}
    for count in range(2, n + 1):
        target = width(whole) / count
        cost: dict[tuple[int, int], tuple[float, int]] = {(0, 0): (0.0, 0)}
        for k in range(1, count + 1):
            for j in range(k, n + 1):
                options = [
                    (cost[(k - 1, i)][0] + (target - spans[(i, j)]) ** 2, i)
                    for i in range(k - 1, j)
                    if (k - 1, i) in cost and spans[(i, j)] <= measure
                ]
                if options:
                    cost[(k, j)] = min(options)
        if (count, n) in cost:
            lines, j = [], n
            for k in range(count, 0, -1):
                i = cost[(k, j)][1]
                lines.append(" ".join(words[i:j]))
                j = i
            return lines[::-1]
    return [whole]


def balance(text: str | None, kind: str, measure: float, fonts_dir: Path) -> Markup:
    """``text`` as escaped HTML with ``<br>`` between balanced lines (as-is if it fits on one)."""
    if not text:
        return Markup("")
    words = text.split()
    style = STYLES[kind]
    font = metrics(fonts_dir / style.font)
    if font is None or len(words) > MAX_WORDS or len(words) < 2:
        return Markup(escape(text, quote=False))
    lines = balanced_lines(words, measure * SAFETY, lambda line: font.width(line, style))
    return Markup("<br>".join(escape(line, quote=False) for line in lines))
