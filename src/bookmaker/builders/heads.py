"""Running heads: set in the font, size and tracking the theme's print.css gives them, and shortened to one line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

#: Running heads may use this share of the text width; longer ones are shortened (never wrapped).
RUNNING_HEAD_SHARE = 0.8
#: Fallback limit in characters when the running head's font cannot be measured.
RUNNING_HEAD_MAX = 48
#: CSS's initial font size (16px) in points: what an ``em`` of a margin box is relative to
#: when the theme sets no size on the page.
_INITIAL_SIZE = 12.0
_VAR_RE = re.compile(r"var\(\s*(--[\w-]+)\s*(?:,\s*([^)]*))?\)")
_LENGTH_RE = re.compile(r"^\s*(-?[\d.]+)\s*(pt|px|em|rem|in|mm|cm|pc)?\s*$")
_UNIT_PT = {"pt": 1.0, "px": 0.75, "in": 72.0, "mm": 72 / 25.4, "cm": 72 / 2.54, "pc": 12.0}


def shorten(text: str, limit: int = RUNNING_HEAD_MAX) -> str:
    """Cut a running head at a word boundary so it fits on one line (by characters)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:–—-")
    return f"{cut}\u2026"


@dataclass(frozen=True)
class HeadStyle:
    """How a running head is set: the font file, size in points, tracking in em, capitals."""

    font: Path | None
    size: float
    tracking: float = 0.0
    upper: bool = False


def _serialize(tokens: list[Any]) -> str:
    import tinycss2

    return tinycss2.serialize(tokens).strip()


def _declarations(content: list[Any]) -> tuple[dict[str, str], list[Any]]:
    """The declarations of a block (name -> value text) and its nested at-rules."""
    import tinycss2

    values: dict[str, str] = {}
    rules: list[Any] = []
    for item in tinycss2.parse_blocks_contents(content, skip_whitespace=True, skip_comments=True):
        if item.type == "declaration":
            values[item.lower_name if not item.name.startswith("--") else item.name] = _serialize(item.value)
        elif item.type == "at-rule":
            rules.append(item)
    return values, rules


class ThemeHeads:
    """The running-head styles of a print stylesheet, read from its ``@page`` margin boxes.

    Only what a theme writes for the heads is read: custom properties of ``:root``,
    ``@font-face`` rules and the ``@top-center`` boxes of ``@page``, ``@page :left`` and
    ``@page :right``.  A theme that cannot be read this way falls back to counting characters.
    """

    def __init__(self, stylesheet: Path) -> None:
        self.stylesheet = stylesheet
        self.variables: dict[str, str] = {}
        self.faces: list[tuple[str, str, str, Path]] = []  # (family, style, weight, file)
        self.boxes: dict[str, dict[str, str]] = {}  # page selector -> @top-center declarations
        try:
            self._read(stylesheet.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ImportError):
            pass

    def _read(self, css: str) -> None:
        import tinycss2

        for rule in tinycss2.parse_stylesheet(css, skip_whitespace=True, skip_comments=True):
            if rule.type == "qualified-rule" and _serialize(rule.prelude) in (":root", "html"):
                values, _ = _declarations(rule.content)
                self.variables.update({k: v for k, v in values.items() if k.startswith("--")})
            elif rule.type == "at-rule" and rule.lower_at_keyword == "font-face" and rule.content:
                values, _ = _declarations(rule.content)
                src = re.search(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", values.get("src", ""))
                if "font-family" in values and src:
                    self.faces.append((values["font-family"].strip("'\" "), values.get("font-style", "normal"),
                                       values.get("font-weight", "normal"), self.stylesheet.parent / src.group(1)))
            elif rule.type == "at-rule" and rule.lower_at_keyword == "page" and rule.content:
                selector = _serialize(rule.prelude)
                _, nested = _declarations(rule.content)
                for box in nested:
                    if box.lower_at_keyword == "top-center" and box.content:
                        values, _ = _declarations(box.content)
                        self.boxes.setdefault(selector, {}).update(values)

    def _resolve(self, value: str, depth: int = 0) -> str:
        if depth > 8:
            return value
        replaced = _VAR_RE.sub(lambda m: self.variables.get(m.group(1), m.group(2) or ""), value)
        return replaced if replaced == value else self._resolve(replaced, depth + 1)

    def style(self, side: str) -> HeadStyle | None:
        """The style of the head on ``side`` (``left`` or ``right``), or None if unreadable."""
        values = dict(self.boxes.get("", {}))
        values.update(self.boxes.get(f":{side}", {}))
        values = {k: self._resolve(v) for k, v in values.items()}
        if not values:
            return None
        size = _length(values.get("font-size", ""), _INITIAL_SIZE) or _INITIAL_SIZE
        tracking_pt = _length(values.get("letter-spacing", "0"), size) or 0.0
        italic = values.get("font-style", "normal") in ("italic", "oblique")
        bold = values.get("font-weight", "normal") in ("bold", "bolder", "600", "700", "800", "900")
        upper = "small-caps" in values.get("font-variant", "") or values.get("text-transform") == "uppercase"
        return HeadStyle(self._face(values.get("font-family", ""), italic, bold), size, tracking_pt / size, upper)

    def _face(self, families: str, italic: bool, bold: bool) -> Path | None:
        """The font file of the first family with an ``@font-face`` matching the style."""
        for family in (f.strip().strip("'\"") for f in families.split(",")):
            faces = [f for f in self.faces if f[0] == family]
            for _, style, weight, path in faces:
                if (style in ("italic", "oblique")) == italic and (weight in ("bold", "700")) == bold:
                    return path
            if faces:
                return faces[0][3]
        return None


def _length(value: str, em: float) -> float | None:
    """A CSS length in points (``em`` is the size one em stands for), or None."""
    match = _LENGTH_RE.match(value)
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2)
    if unit in ("em", "rem"):
        return number * em
    if unit is None:
        return number if number == 0 else None
    return number * _UNIT_PT[unit]


class HeadMeasure:
    """Measure a running head set in its font, to shorten it before it would wrap."""

    @lru_cache(maxsize=8)  # noqa: B019 - a few fonts per build
    def _metrics(self, path: Path) -> tuple[dict[int, str], dict[str, int], int] | None:
        if not path.is_file():
            return None
        try:
            from fontTools.ttLib import TTFont

            font = TTFont(str(path), lazy=True)
            return font.getBestCmap(), {k: v[0] for k, v in font["hmtx"].metrics.items()}, font["head"].unitsPerEm
        except Exception:  # noqa: BLE001 - an unreadable font only loses the measurement
            return None

    def width(self, text: str, style: HeadStyle) -> float | None:
        """The advance width in points of ``text`` (no kerning), or None if the font is missing."""
        metrics = self._metrics(style.font) if style.font else None
        if metrics is None:
            return None
        cmap, advances, upem = metrics
        total = 0.0
        for ch in text.upper() if style.upper else text:
            glyph = cmap.get(ord(ch))
            units = advances.get(glyph, upem) if glyph else upem  # CJK and the like: a full em
            total += units / upem * style.size + style.tracking * style.size
        return total

    def fit(self, text: str, limit: float, style: HeadStyle | None) -> str:
        """``text`` cut at a word and ended with an ellipsis so that it is at most ``limit`` points wide."""
        width = self.width(text, style) if style else None
        if style is None or width is None:
            return shorten(text)
        if width <= limit:
            return text
        words = text.split()
        while len(words) > 1:
            words.pop()
            candidate = " ".join(words).rstrip(" ,;:–—-") + "\u2026"
            if (self.width(candidate, style) or 0) <= limit:
                return candidate
        # One long word: cut by characters.
        candidate = text
        while len(candidate) > 1 and (self.width(candidate + "\u2026", style) or 0) > limit:
            candidate = candidate[:-1]
        return candidate.rstrip() + "\u2026"
