"""Read a printed book back from its PDF (PyMuPDF) for the structural print tests.

Everything here looks at the PDF only, the way a printer's preflight would: text lines
with their boxes, the running head above the text block, the folio below it, named
destinations (WeasyPrint writes one per element id), links, fonts and the outline.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pymupdf

_ROMAN = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
          (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]
FOLIO_RE = re.compile(r"^(\d+|[ivxlcdm]+)$")


def roman(number: int) -> str:
    out = ""
    for value, letters in _ROMAN:
        while number >= value:
            out, number = out + letters, number - value
    return out


@dataclass
class Line:
    """One line of text as PyMuPDF reads it, with the boxes of its characters."""

    text: str
    bbox: tuple[float, float, float, float]
    chars: list[tuple[str, tuple[float, float, float, float]]]
    size: float
    fonts: set[str]
    #: (character, baseline origin, font size) of every character.
    origins: list[tuple[str, tuple[float, float], float]] = field(default_factory=list)


@dataclass
class PageText:
    """The lines of one page split into running head, text block and folio."""

    number: int  # 1-based
    width: float
    height: float
    lines: list[Line]
    head: list[Line] = field(default_factory=list)
    body: list[Line] = field(default_factory=list)
    foot: list[Line] = field(default_factory=list)
    drawings: int = 0
    images: int = 0

    @property
    def head_text(self) -> str:
        return " ".join(line.text for line in self.head).strip()

    @property
    def folio(self) -> str | None:
        text = " ".join(line.text for line in self.foot).strip()
        return text or None

    @property
    def is_blank(self) -> bool:
        return not self.lines and not self.drawings and not self.images


class BookPdf:
    """A built PDF with the margins it was laid out with (points from the trim's top left)."""

    def __init__(self, path: Path, top: float, bottom: float) -> None:
        self.path = path
        self.doc = pymupdf.open(path)
        self.top = top
        self.bottom = bottom
        self.pages: list[PageText] = [self._read(page, i + 1) for i, page in enumerate(self.doc)]

    def close(self) -> None:
        self.doc.close()

    def _read(self, page: pymupdf.Page, number: int) -> PageText:
        raw = page.get_text("rawdict")
        lines: list[Line] = []
        for block in raw["blocks"]:
            for line in block.get("lines", []):
                chars = [(c["c"], tuple(c["bbox"])) for span in line["spans"] for c in span["chars"]]
                text = "".join(c for c, _ in chars).strip()
                if not text:
                    continue
                sizes = [span["size"] for span in line["spans"]]
                origins = [(c["c"], tuple(c["origin"]), span["size"]) for span in line["spans"] for c in span["chars"]]
                lines.append(Line(text, tuple(line["bbox"]), chars, max(sizes), {s["font"] for s in line["spans"]}, origins))
        lines.sort(key=lambda ln: (round(ln.bbox[1], 1), ln.bbox[0]))
        rect = page.rect
        result = PageText(number, rect.width, rect.height, lines)
        for line in lines:
            if line.bbox[3] <= self.top + 0.5:
                result.head.append(line)
            elif line.bbox[1] >= rect.height - self.bottom - 0.5:
                result.foot.append(line)
            else:
                result.body.append(line)
        result.drawings = len(page.get_drawings())
        result.images = len(page.get_image_info())
        return result

    @cached_property
    def dests(self) -> dict[str, int]:
        """Element id -> 1-based page number (WeasyPrint writes a named destination per id)."""
        return {name: info["page"] + 1 for name, info in self.doc.resolve_names().items()}

    def links(self, number: int) -> list[dict]:
        return self.doc[number - 1].get_links()

    def outline(self) -> list[list]:
        return self.doc.get_toc()

    def fonts(self) -> set[tuple[str, str, str]]:
        """(base font, file type, subtype) of every font on every page."""
        found = set()
        for page in self.doc:
            for xref, ext, subtype, basefont, *_ in page.get_fonts(full=True):
                found.add((basefont, ext, subtype))
        return found

    def glyph_names(self, number: int) -> list[tuple[str, str, tuple[float, float, float, float]]]:
        """(character, glyph name, bbox) of every glyph drawn on a page, from the embedded fonts."""
        from fontTools.ttLib import TTFont

        page = self.doc[number - 1]
        orders: dict[str, list[str]] = {}
        for xref, _ext, _subtype, basefont, *_ in page.get_fonts(full=True):
            if basefont in orders:
                continue
            _name, _e, _t, buffer = self.doc.extract_font(xref)
            try:
                orders[basefont] = TTFont(io.BytesIO(buffer)).getGlyphOrder()
            except Exception:  # noqa: BLE001 - a font fontTools cannot read has no names
                orders[basefont] = []
        result = []
        for span in page.get_texttrace():
            font = span["font"]
            order = next((o for name, o in orders.items() if name.split("+")[-1] == font or name == font), [])
            for unicode, gid, _origin, bbox in span["chars"]:
                name = order[gid] if 0 <= gid < len(order) else "?"
                result.append((chr(unicode) if unicode > 0 else "", name, tuple(bbox)))
        return result

    def catalog_key(self, key: str) -> str:
        return self.doc.xref_get_key(self.doc.pdf_catalog(), key)[1]


def expected_labels(pages: int, body_start: int | None) -> list[str]:
    """The folio every page should carry: lower roman before ``body_start`` (1-based), arabic from 1 there."""
    labels = []
    for number in range(1, pages + 1):
        if body_start is None or number < body_start:
            labels.append(roman(number))
        else:
            labels.append(str(number - body_start + 1))
    return labels


def toc_rows(pdf: BookPdf, first: int, last: int) -> list[tuple[str, str, int]]:
    """(entry text, printed number, target page) of every linked contents entry."""
    rows = []
    for number in range(first, last + 1):
        page = pdf.pages[number - 1]
        boxes: dict[int, pymupdf.Rect] = {}
        for link in pdf.links(number):
            target = link.get("page")
            if target is None and link.get("nameddest"):
                target = pdf.dests.get(link["nameddest"], 0) - 1
            rect = link["from"]
            if target is None or target < 0 or rect.width < 1:
                continue
            # One entry may wrap onto several lines, each with its own link box.
            boxes[target] = boxes[target] | rect if target in boxes else pymupdf.Rect(rect)
        for target, rect in sorted(boxes.items(), key=lambda item: item[1].y0):
            # PyMuPDF reads each leader dot as a line of its own: gather the pieces in the box.
            pieces = sorted(
                (ln for ln in page.body if rect.y0 - 1 <= (ln.bbox[1] + ln.bbox[3]) / 2 <= rect.y1 + 1),
                key=lambda ln: (round(ln.bbox[1]), ln.bbox[0]),
            )
            text = " ".join(ln.text for ln in pieces)
            words = re.sub(r"(\s*\.)+\s+", " ", text).split()
            if len(words) < 2:
                continue
            rows.append((" ".join(words[:-1]), words[-1], target + 1))
    return rows
