"""Print geometry: trim sizes, bleed, printer's marks, PDF standards and margins by page count.

``book.yaml`` names the page (``pdf: { trim: 6x9in, bleed: 0.125in, marks: crop,
standard: pdf/x-4 }``); this module validates those values and turns them into the
``@page`` rules WeasyPrint lays the book out with.  The theme (print.css) never sets
the page size or margins: they are generated here because the inside margin (the
gutter) depends on the page count, which is only known after a first layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from bookmaker.config import BookConfig, PdfOptions
from bookmaker.errors import ConfigError, format_location

#: Points per unit (CSS: 1in = 72pt = 96px, 1pc = 12pt).
UNITS = {"in": 72.0, "mm": 72 / 25.4, "cm": 72 / 2.54, "pt": 1.0, "pc": 12.0, "px": 0.75}

#: Named trim sizes, (width, height) in points.
TRIM_PRESETS: dict[str, tuple[float, float]] = {
    "5x8in": (5 * 72, 8 * 72),
    "5.25x8in": (5.25 * 72, 8 * 72),
    "5.5x8.5in": (5.5 * 72, 8.5 * 72),
    "6x9in": (6 * 72, 9 * 72),
    "a5": (148 * UNITS["mm"], 210 * UNITS["mm"]),
    "b-format": (129 * UNITS["mm"], 198 * UNITS["mm"]),
    "royal": (156 * UNITS["mm"], 234 * UNITS["mm"]),
}
DEFAULT_TRIM = "6x9in"

#: Inside margin required for binding, by page count (Amazon KDP's print-on-demand table):
#: (last page count of the band, gutter in inches).
GUTTER_TABLE: tuple[tuple[int, float], ...] = ((150, 0.375), (300, 0.5), (500, 0.625), (700, 0.75))
GUTTER_MAX = 0.875

#: Nothing may be printed closer than this to a trim edge (print-on-demand safe zone).
SAFE_ZONE = 0.5 * 72

STANDARDS = ("pdf/a-3b", "pdf/ua-1", "pdf/x-4")
MARKS = ("crop", "cross", "crop cross")

#: Accepted trim range, so that a typo (60x9in, 6x9mm) is caught instead of printed.
MIN_SIDE, MAX_SIDE = 3 * 72, 17 * 72
MAX_BLEED = 0.5 * 72

_LENGTH_RE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(in|mm|cm|pt|pc|px)?\s*$", re.I)
_TRIM_RE = re.compile(
    r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(in|mm|cm|pt|pc|px)?\s*[x×]\s*(\d+(?:\.\d+)?|\.\d+)\s*(in|mm|cm|pt|pc|px)\s*$", re.I
)


def parse_length(text: str) -> float | None:
    """A length such as ``0.125in`` or ``3mm`` in points; None if it is not one (``0`` needs no unit)."""
    match = _LENGTH_RE.match(text)
    if not match:
        return None
    number, unit = float(match.group(1)), (match.group(2) or "").lower()
    if not unit:
        return 0.0 if number == 0 else None
    return number * UNITS[unit]


def parse_trim(text: str) -> tuple[float, float] | None:
    """A preset name or ``WxH`` with units (``6x9in``, ``140x216mm``, ``6in x 9in``) in points."""
    key = text.strip().lower().replace(" ", "")
    if key in TRIM_PRESETS:
        return TRIM_PRESETS[key]
    match = _TRIM_RE.match(text)
    if not match:
        return None
    w, w_unit, h, h_unit = match.groups()
    h_unit = h_unit.lower()
    w_unit = (w_unit or h_unit).lower()
    return float(w) * UNITS[w_unit], float(h) * UNITS[h_unit]


def gutter_for(pages: int) -> float:
    """The binding gutter in points that a book of ``pages`` pages needs (KDP's table)."""
    for last, inches in GUTTER_TABLE:
        if pages <= last:
            return inches * 72
    return GUTTER_MAX * 72


def _fmt(points: float) -> str:
    return f"{points:.2f}pt"


@dataclass(frozen=True)
class Margins:
    """Page margins in points; ``inside`` is at the spine (left on a recto, right on a verso)."""

    top: float
    bottom: float
    inside: float
    outside: float


@dataclass(frozen=True)
class Geometry:
    """The validated page set-up of a print edition (sizes in points)."""

    width: float
    height: float
    trim_name: str = DEFAULT_TRIM
    bleed: float = 0.0
    marks: str | None = None
    standard: str | None = None
    #: The page count the gutter is chosen for (0 until the book has been laid out once).
    pages: int = 0

    # ---- construction -------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: BookConfig) -> Geometry:
        """Validate ``config.pdf``; raise ConfigError naming book.yaml and the key for each problem."""
        return cls.from_options(config.pdf, config.path)

    @classmethod
    def from_options(cls, options: PdfOptions, path: Path | str = "book.yaml") -> Geometry:
        problems: list[str] = []
        lines = _pdf_key_lines(Path(path))

        def problem(key: str, message: str) -> None:
            problems.append(format_location(path, lines.get(key), f"'pdf.{key}': {message}"))

        trim_text = (options.trim or DEFAULT_TRIM).strip()
        size = parse_trim(trim_text)
        width, height = TRIM_PRESETS[DEFAULT_TRIM]
        if size is None:
            problem(
                "trim",
                f"expected a trim size such as 6x9in, 140x216mm or one of {', '.join(TRIM_PRESETS)}, got {trim_text!r}",
            )
        else:
            width, height = size
            if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
                problem("trim", f"{trim_text!r} is {width / 72:.2f} x {height / 72:.2f} in; each side must be 3-17 in")
            elif width >= height:
                problem("trim", f"{trim_text!r} is wider than it is tall; give it as width x height of a portrait page")

        bleed = 0.0
        if options.bleed:
            parsed = parse_length(options.bleed)
            if parsed is None:
                problem("bleed", f"expected a length such as 0.125in or 3mm, got {options.bleed!r}")
            elif parsed > MAX_BLEED:
                problem("bleed", f"{options.bleed!r} is more than 0.5in; printers ask for about 0.125in (3 mm)")
            else:
                bleed = parsed

        marks = None
        if options.marks:
            words = options.marks.lower().split()
            if words == ["none"]:
                marks = None
            elif not words or any(w not in ("crop", "cross") for w in words) or len(set(words)) != len(words):
                problem("marks", f"expected one of {', '.join(MARKS)} or none, got {options.marks!r}")
            else:
                marks = " ".join(sorted(words))

        standard = None
        if options.standard:
            value = options.standard.strip().lower()
            if value not in STANDARDS:
                problem("standard", f"expected one of {', '.join(STANDARDS)}, got {options.standard!r}")
            else:
                standard = value

        if problems:
            raise ConfigError(problems)
        if marks and not bleed:
            # Marks are drawn in the bleed area: give them room the way print shops expect.
            bleed = 0.125 * 72
        name = trim_text.lower().replace(" ", "") if trim_text.lower().replace(" ", "") in TRIM_PRESETS else trim_text
        return cls(width=width, height=height, trim_name=name, bleed=bleed, marks=marks, standard=standard)

    def for_pages(self, pages: int) -> Geometry:
        """The same set-up with margins for a book of ``pages`` pages."""
        return replace(self, pages=pages)

    # ---- derived measures --------------------------------------------------------------------

    @property
    def gutter(self) -> float:
        """The binding allowance in points for the current page count."""
        return gutter_for(self.pages)

    @property
    def margins(self) -> Margins:
        """Margins that scale with the trim, keep every mark 0.5in from the edge and grow at the spine."""
        outside = min(max(0.1 * self.width, 0.55 * 72), 0.9 * 72)
        top = min(max(0.095 * self.height, 0.85 * 72), 1.05 * 72)
        bottom = top + 0.05 * 72
        # The gutter is what binding swallows; the reader still needs a visible inside margin.
        inside = self.gutter + 0.25 * 72
        return Margins(top=top, bottom=bottom, inside=inside, outside=outside)

    @property
    def text_width(self) -> float:
        m = self.margins
        return self.width - m.inside - m.outside

    @property
    def text_height(self) -> float:
        m = self.margins
        return self.height - m.top - m.bottom

    def text_box(self, page_number: int) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the text block of a 1-based page, in points from the trim's top left."""
        m = self.margins
        left = m.inside if page_number % 2 else m.outside
        return left, m.top, left + self.text_width, m.top + self.text_height

    # ---- CSS ---------------------------------------------------------------------------------

    def css(self) -> str:
        """``@page`` size, bleed, marks and mirrored margins, plus the measures the theme uses."""
        m = self.margins
        lines = [
            "/* Generated by bookmaker.geometry: page size and margins (do not edit, set pdf: in book.yaml). */",
            "@page {",
            f"  size: {_fmt(self.width)} {_fmt(self.height)};",
            f"  margin: {_fmt(m.top)} {_fmt(m.outside)} {_fmt(m.bottom)} {_fmt(m.inside)};",
        ]
        if self.bleed:
            lines.append(f"  bleed: {_fmt(self.bleed)};")
        if self.marks:
            lines.append(f"  marks: {self.marks};")
        lines += [
            "}",
            f"@page :left {{ margin-left: {_fmt(m.outside)}; margin-right: {_fmt(m.inside)}; }}",
            f"@page :right {{ margin-left: {_fmt(m.inside)}; margin-right: {_fmt(m.outside)}; }}",
            ":root {",
            # Openers sink about a third of the way down the page (measured from the trim's top).
            f"  --opener-sink: {_fmt(max(self.height / 3 - m.top, 0))};",
            f"  --part-sink: {_fmt(max(self.height * 0.36 - m.top, 0))};",
            f"  --text-width: {_fmt(self.text_width)};",
            f"  --text-height: {_fmt(self.text_height)};",
            # A figure and its caption must fit on one page: the image gets the text block less room
            # for a three-line caption.
            f"  --figure-max-height: {_fmt(self.text_height * 0.72)};",
            "}",
        ]
        return "\n".join(lines) + "\n"


def _pdf_key_lines(path: Path) -> dict[str, int]:
    """Line numbers of the keys under ``pdf:`` in book.yaml (best effort, for error messages)."""
    try:
        from bookmaker.config import parse_yaml

        data = parse_yaml(path.read_text(encoding="utf-8"), path)
    except Exception:  # noqa: BLE001 - only used to point at a line
        return {}
    section = data.get("pdf") if isinstance(data, dict) else None
    lines = getattr(section, "lines", None)
    return dict(lines) if isinstance(lines, dict) else {}
