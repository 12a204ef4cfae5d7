"""Print-shop preflight: the printer's rules run on the laid-out interior and cover PDFs themselves (read with PyMuPDF).

Codes (documented in lint.py's table too; all are warnings, ``--strict`` makes them fail):

BM800 trim size not offered by the printer        BM809 live transparency (KDP flattens badly, PDF/X-1a forbids it)
BM801 page count outside the printer's range      BM810 no PDF/X version or no output intent (IngramSpark)
BM802 odd page count                              BM811 printer's marks where the printer rejects them
BM803 inside margin too small for the page count  BM812 cover size or spine width not the printer's
BM804 outside margin too small                    BM813 spine text on a book too thin for it
BM805 something reaches the trim without bleed    BM814 spine text closer than 0.0625 in to a fold
BM806 font not embedded                           BM815 something printed in the barcode area
BM807 image below 300 dpi at its printed size     BM816 no cover wrap to check
BM808 text smaller than 7 pt
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bookmaker.printers import INCH, CoverGeometry, Printer

#: A mark this close to a trim edge (points) counts as reaching it.
EDGE = 0.75
#: Tolerance for sizes compared with the printer's computation (inches).
SIZE_TOLERANCE = 0.01

RULES: dict[str, str] = {
    "BM800": "trim size in the printer's list",
    "BM801": "page count within the printer's limits for the paper",
    "BM802": "even page count",
    "BM803": "inside margin (gutter) for the page count",
    "BM804": "outside margins (top, bottom, fore-edge)",
    "BM805": "bleed present where anything reaches the trim edge",
    "BM806": "every font embedded",
    "BM807": "images at least 300 dpi at their printed size",
    "BM808": "text at least 7 pt",
    "BM809": "no live transparency",
    "BM810": "PDF/X with an output intent",
    "BM811": "no printer's marks",
    "BM812": "cover size and spine width as the printer computes them",
    "BM813": "spine text only on a book thick enough",
    "BM814": "spine text at least 0.0625 in from the folds",
    "BM815": "barcode area clear",
    "BM816": "cover wrap present",
}


@dataclass(frozen=True)
class PreflightFinding:
    """One rule broken, on one page of one file."""

    code: str
    message: str
    file: str
    page: int | None = None

    @property
    def where(self) -> str:
        return f"{self.file}, page {self.page}" if self.page else self.file


@dataclass
class Check:
    """One rule run: what was required and how many findings it gave."""

    code: str
    rule: str
    required: str
    findings: int = 0


@dataclass
class PreflightReport:
    """Every rule that was run on which files, and what it found."""

    printer: str
    interior: str | None
    cover: str | None
    pages: int | None
    checks: list[Check] = field(default_factory=list)
    findings: list[PreflightFinding] = field(default_factory=list)

    def add(self, code: str, required: str) -> Check:
        check = Check(code, RULES[code], required)
        self.checks.append(check)
        return check

    def found(self, check: Check, message: str, file: str, page: int | None = None) -> None:
        check.findings += 1
        self.findings.append(PreflightFinding(check.code, message, file, page))

    def as_dict(self) -> dict[str, Any]:
        return {
            "printer": self.printer, "interior": self.interior, "cover": self.cover, "pages": self.pages,
            "checks": [asdict(c) | {"passed": c.findings == 0} for c in self.checks],
            "findings": [asdict(f) for f in self.findings],
        }

    def as_text(self) -> str:
        lines = [f"Preflight for {self.printer}", f"  interior: {self.interior or '-'} ({self.pages or '?'} pages)",
                 f"  cover:    {self.cover or '-'}", ""]
        for check in self.checks:
            status = "ok  " if not check.findings else f"{check.findings:>3} "
            lines.append(f"  {status} {check.code} {check.rule} ({check.required})")
        lines.append("")
        for f in self.findings:
            lines.append(f"{f.where}: {f.code} {f.message}")
        lines.append(f"{len(self.findings)} finding(s)" if self.findings else "no findings: the files meet the printer's rules")
        return "\n".join(lines) + "\n"

    def write(self, outdir: Path, stem: str) -> tuple[Path, Path]:
        """``OUT/<stem>-preflight.txt`` and ``.json``."""
        from bookmaker.output import atomic_output

        text_path, json_path = outdir / f"{stem}-preflight.txt", outdir / f"{stem}-preflight.json"
        with atomic_output(text_path) as tmp:
            tmp.write_text(self.as_text(), encoding="utf-8")
        with atomic_output(json_path) as tmp:
            tmp.write_text(json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return text_path, json_path


# ---- reading the PDF -------------------------------------------------------------------------


def _open(path: Path) -> Any:
    import pymupdf

    return pymupdf.open(str(path))


def _box(doc: Any, page: Any, key: str) -> Any:
    """A page box (TrimBox, BleedBox, MediaBox) in PyMuPDF's page coordinates, read from the PDF itself."""
    import pymupdf

    kind, value = doc.xref_get_key(page.xref, key)
    if kind != "array":
        kind, value = doc.xref_get_key(page.xref, "MediaBox")
    if kind != "array":
        # Inherited from the page tree; PyMuPDF resolves it.
        return page.mediabox * page.transformation_matrix if key == "MediaBox" else _box(doc, page, "MediaBox")
    x0, y0, x1, y1 = (float(v) for v in value.strip("[] ").split())
    return pymupdf.Rect(x0, y0, x1, y1) * page.transformation_matrix


@dataclass
class Mark:
    """Something printed on a page: its rectangle and what it is."""

    rect: Any
    kind: str  # text, image, drawing
    text: str = ""
    size: float = 0.0
    superscript: bool = False


def _marks(page: Any) -> Iterator[Mark]:
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", []):
            for span in line["spans"]:
                if span["text"].strip():
                    import pymupdf

                    yield Mark(pymupdf.Rect(span["bbox"]), "text", span["text"], span["size"], bool(span["flags"] & 1))
    for info in page.get_image_info():
        import pymupdf

        yield Mark(pymupdf.Rect(info["bbox"]), "image", size=0.0, text=f"{info['width']}x{info['height']}")
    for drawing in page.get_drawings():
        # A white fill on a white page prints nothing: it is not a mark.
        if drawing.get("fill") in ((1.0, 1.0, 1.0),) and not drawing.get("color"):
            continue
        yield Mark(drawing["rect"], "drawing")


#: Note numbers (calls and the markers before the notes) are set small on purpose; the 7 pt rule is for running text.
_NOTE_NUMBER_RE = re.compile(r"^[0-9*\u2020\u2021\u00a7]{1,3}\.?$")
_ALPHA_RE = re.compile(r"/(ca|CA)\s+([0-9.]+)")
_BLEND_RE = re.compile(r"/BM\s*/(\w+)")


def _value_after(source: str, key: str) -> str | None:
    """The value of ``/key`` at the top level of the PDF dictionary ``source``: ``N 0 R``, or a whole ``<<...>>``."""
    depth, i = 0, 0
    token = f"/{key}"
    while i < len(source):
        if source.startswith("<<", i):
            depth += 1
            i += 2
            continue
        if source.startswith(">>", i):
            depth -= 1
            i += 2
            continue
        if depth == 1 and source.startswith(token, i) and not re.match(r"[^\s/<\[(]", source[i + len(token):i + len(token) + 1] or " "):
            rest = source[i + len(token):].lstrip()
            ref = re.match(r"\d+ 0 R", rest)
            if ref:
                return ref.group(0)
            if rest.startswith("<<"):
                level, j = 0, 0
                while j < len(rest):
                    if rest.startswith("<<", j):
                        level, j = level + 1, j + 2
                    elif rest.startswith(">>", j):
                        level, j = level - 1, j + 2
                        if level == 0:
                            return rest[:j]
                    else:
                        j += 1
            return None
        i += 1
    return None


class _Transparency:
    """Whether a page draws with live transparency: an ExtGState with alpha < 1, a soft mask or a blend mode
    that its content (or a form it draws) selects with ``gs``, or an image with a soft mask it draws with ``Do``.

    Resources are shared between pages (WeasyPrint writes one dictionary), so only what a page's own
    content streams use counts for that page.
    """

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self.memo: dict[int, bool] = {}

    def _dict_text(self, xref: int, key: str) -> str | None:
        """A dictionary-valued key of ``xref`` as PDF source (following one indirect reference)."""
        kind, value = self.doc.xref_get_key(xref, key)
        if kind == "xref":
            return self.doc.xref_object(int(value.split()[0]), compressed=True)
        return value if kind == "dict" else None

    def _entry(self, resources: str | None, category: str, name: str) -> int | str | None:
        """The object ``/name`` of ``/category`` in a Resources dictionary: its xref, or its inline source."""
        if not resources:
            return None
        body = _value_after(resources, category)
        if body is None:
            return None
        if body.endswith(" R"):
            body = self.doc.xref_object(int(body.split()[0]), compressed=True)
        value = _value_after(body, name)
        if value is None:
            return None
        return int(value.split()[0]) if value.endswith(" R") else value

    @staticmethod
    def _transparent_state(text: str) -> bool:
        if any(float(v) < 0.999 for _, v in _ALPHA_RE.findall(text)):
            return True
        if "/SMask" in text and not re.search(r"/SMask\s*/None", text):
            return True
        return any(mode not in ("Normal", "Compatible") for mode in _BLEND_RE.findall(text))

    def stream(self, content: bytes, resources: str | None, depth: int = 0) -> bool:
        text = content.decode("latin-1")
        for name in set(re.findall(r"/([^\s/\[\]()<>{}%]+)\s+gs\b", text)):
            entry = self._entry(resources, "ExtGState", name)
            source = self.doc.xref_object(entry, compressed=True) if isinstance(entry, int) else entry
            if source and self._transparent_state(source):
                return True
        for name in set(re.findall(r"/([^\s/\[\]()<>{}%]+)\s+Do\b", text)):
            entry = self._entry(resources, "XObject", name)
            if isinstance(entry, int) and depth < 12 and self.xobject(entry, resources, depth):
                return True
        return False

    def xobject(self, xref: int, inherited: str | None, depth: int) -> bool:
        if xref in self.memo:
            return self.memo[xref]
        self.memo[xref] = False  # cycles end here
        source = self.doc.xref_object(xref, compressed=True)
        if "/Image" in source:
            result = "/SMask" in source and not re.search(r"/SMask\s*/None", source)
        else:
            own = self._dict_text(xref, "Resources") or inherited
            result = self.stream(self.doc.xref_stream(xref) or b"", own, depth + 1)
        self.memo[xref] = result
        return result

    def page(self, page: Any) -> bool:
        resources = self._dict_text(page.xref, "Resources")
        return self.stream(page.read_contents(), resources)


def _pdfx(doc: Any) -> tuple[str | None, bool]:
    """(GTS_PDFXVersion from the Info dictionary or XMP, whether the catalog has an output intent)."""
    catalog = doc.pdf_catalog()
    kind, intents = doc.xref_get_key(catalog, "OutputIntents")
    has_intent = kind in ("array", "xref") and intents not in ("[]", "")
    version = None
    meta = doc.get_xml_metadata() or ""
    match = re.search(r"GTS_PDFXVersion[\">=\s]*([^<\"]+)", meta)
    if match:
        version = match.group(1).strip()
    kind, info = doc.xref_get_key(-1, "Info")
    if version is None and kind == "xref":
        info_text = doc.xref_object(int(info.split()[0]))
        match = re.search(r"/GTS_PDFXVersion\s*\(([^)]*)\)", info_text)
        if match:
            version = match.group(1)
    return version, has_intent


# ---- the rules -------------------------------------------------------------------------------


def _inches(points: float) -> str:
    return f"{points / INCH:.3f} in"


def check_interior(report: PreflightReport, printer: Printer, paper: str, path: Path) -> None:
    """The interior rules of ``printer`` on the PDF at ``path``."""
    doc = _open(path)
    name = path.name
    pages = doc.page_count
    report.interior, report.pages = name, pages

    first = doc[0]
    trim = _box(doc, first, "TrimBox")
    check = report.add("BM800", f"{len(printer.trims)} sizes")
    if not printer.accepts_trim(trim.width, trim.height):
        report.found(check, f"the trim {trim.width / INCH:.3f} x {trim.height / INCH:.3f} in is not one of {printer.label}'s sizes", name, 1)

    low, high = printer.page_range[paper]
    check = report.add("BM801", f"{low}-{high} pages on {paper} paper")
    if not low <= pages <= high:
        report.found(check, f"{pages} pages; {printer.label} prints {low}-{high} on {paper} paper", name)
    check = report.add("BM802", "an even number of pages")
    if pages % 2:
        report.found(check, f"{pages} pages is odd: the printer adds a blank page at the end", name, pages)

    gutter = printer.min_gutter(pages) * INCH if printer.gutter_by_pages else 0.375 * INCH
    bleed_any = False
    checks = {
        code: report.add(code, required) for code, required in (
            ("BM803", f"at least {_inches(gutter)} for {pages} pages"),
            ("BM804", f"at least {printer.outside_margin[0]} in ({printer.outside_margin[1]} in with bleed)"),
            ("BM805", f"{printer.bleed} in of bleed"),
            ("BM806", "embedded"),
            ("BM807", f"{printer.min_dpi} dpi"),
            ("BM808", f"{printer.min_text_pt:g} pt, note numbers excepted"),
            ("BM809", "alpha 1, no soft masks or blend modes"),
            ("BM811", "none" if not printer.marks_allowed else "allowed"),
        )
    }
    transparency = _Transparency(doc)
    seen_fonts: set[str] = set()
    for index, page in enumerate(doc):
        number = index + 1
        trim = _box(doc, page, "TrimBox")
        bleed_box = _box(doc, page, "BleedBox")
        has_bleed = bleed_box.width > trim.width + 1 or bleed_box.height > trim.height + 1
        bleed_any = bleed_any or has_bleed
        recto = number % 2 == 1
        content = None
        smallest: Mark | None = None
        for mark in _marks(page):
            rect = mark.rect
            if rect.is_empty and mark.kind != "drawing":
                continue
            outside = rect.x1 <= trim.x0 or rect.x0 >= trim.x1 or rect.y1 <= trim.y0 or rect.y0 >= trim.y1
            if outside and mark.kind == "drawing":
                if not printer.marks_allowed and checks["BM811"].findings < 3:
                    report.found(checks["BM811"], "printer's marks (crop or registration marks) outside the trim", name, number)
                continue
            reaches = (rect.x0 <= trim.x0 + EDGE or rect.x1 >= trim.x1 - EDGE or rect.y0 <= trim.y0 + EDGE
                       or rect.y1 >= trim.y1 - EDGE)
            if reaches:
                if not has_bleed:
                    report.found(checks["BM805"], f"a{'n' if mark.kind == 'image' else ''} {mark.kind} reaches the trim edge "
                                 "but the page has no bleed (pdf.bleed: 0.125in)", name, number)
                continue  # art that bleeds is not measured against the margins
            content = rect if content is None else content | rect
            if mark.kind == "text" and mark.size < printer.min_text_pt and not mark.superscript and not _NOTE_NUMBER_RE.match(mark.text.strip()):
                if smallest is None or mark.size < smallest.size:
                    smallest = mark
        if smallest is not None:
            report.found(checks["BM808"], f"text at {smallest.size:.1f} pt ({smallest.text.strip()[:30]!r}); "
                         f"{printer.label} prints {printer.min_text_pt:g} pt and larger", name, number)
        if content is not None:
            inside = (content.x0 - trim.x0) if recto else (trim.x1 - content.x1)
            outside_edge = (trim.x1 - content.x1) if recto else (content.x0 - trim.x0)
            if inside < gutter - 0.5:
                report.found(checks["BM803"], f"the inside margin is {_inches(inside)}; {pages} pages need {_inches(gutter)}", name, number)
            least = printer.outside_margin[1 if has_bleed else 0] * INCH
            for label, value in (("top", content.y0 - trim.y0), ("bottom", trim.y1 - content.y1), ("outside", outside_edge)):
                if value < least - 0.5:
                    report.found(checks["BM804"], f"the {label} margin is {_inches(value)}; at least {_inches(least)}", name, number)
        for font in page.get_fonts(full=True):
            xref, ext, kind, basename = font[0], font[1], font[2], font[3]
            if ext == "n/a" and kind != "Type3" and basename not in seen_fonts:
                seen_fonts.add(basename)
                report.found(checks["BM806"], f"the font {basename} is not embedded", name, number)
        for info in page.get_image_info():
            width_in, height_in = info["bbox"][2] / INCH - info["bbox"][0] / INCH, info["bbox"][3] / INCH - info["bbox"][1] / INCH
            if width_in <= 0.05 or height_in <= 0.05:
                continue
            dpi = min(info["width"] / width_in, info["height"] / height_in)
            if dpi < printer.min_dpi - 0.5:
                report.found(checks["BM807"], f"an image prints at {dpi:.0f} dpi ({info['width']}x{info['height']} px on "
                             f"{width_in:.2f} x {height_in:.2f} in); {printer.label} needs {printer.min_dpi}", name, number)
        if transparency.page(page):
            report.found(checks["BM809"], "live transparency on this page (flatten it, or use pdf.standard: pdf/x-4 "
                         "where the printer accepts it)", name, number)
    if printer.needs_pdfx:
        _check_pdfx(report, doc, name)


def _check_pdfx(report: PreflightReport, doc: Any, name: str, what: str = "") -> None:
    check = report.add("BM810", f"GTS_PDFXVersion and an output intent{what}")
    version, intent = _pdfx(doc)
    if not version:
        report.found(check, "the PDF declares no PDF/X version (pdf.standard: pdf/x-4 and the printer's CMYK profile)", name)
    if not intent:
        report.found(check, "the PDF has no output intent (put the printer's .icc profile in the manuscript folder)", name)


def check_cover(report: PreflightReport, printer: Printer, expected: CoverGeometry, path: Path | None) -> None:
    """The cover rules: its size against the printer's computation, the spine text, the barcode area."""
    check = report.add("BM816", "OUT/<slug>-cover.pdf")
    if path is None or not path.is_file():
        report.found(check, "no cover wrap was built (bookmaker build --format cover)", "cover")
        return
    doc = _open(path)
    name = path.name
    report.cover = name
    page = doc[0]
    media, trim = _box(doc, page, "MediaBox"), _box(doc, page, "TrimBox")
    check = report.add("BM812", f"{expected.full_width:.3f} x {expected.full_height:.3f} in with bleed, "
                                f"spine {expected.spine:.3f} in")
    width, height = media.width / INCH, media.height / INCH
    if abs(width - expected.full_width) > SIZE_TOLERANCE or abs(height - expected.full_height) > SIZE_TOLERANCE:
        report.found(check, f"the cover is {width:.3f} x {height:.3f} in; {printer.label} computes "
                     f"{expected.full_width:.3f} x {expected.full_height:.3f} in for {report.pages} pages", name, 1)
    trim_spine = trim.width / INCH - 2 * expected.trim_width
    if abs(trim_spine - expected.spine) > SIZE_TOLERANCE:
        report.found(check, f"the spine is {trim_spine:.3f} in; {printer.label} computes {expected.spine:.3f} in", name, 1)

    # The folds of this file: the back and front panels are each as wide as the interior's trim.
    fold_left = trim.x0 + expected.trim_width * INCH
    fold_right = trim.x1 - expected.trim_width * INCH
    barcode_w, barcode_h = expected.barcode
    bx1 = fold_left - expected.barcode_offset * INCH
    by1 = trim.y1 - expected.barcode_offset * INCH
    import pymupdf

    barcode = pymupdf.Rect(bx1 - barcode_w * INCH, by1 - barcode_h * INCH, bx1, by1)
    spine_check = report.add("BM813", f"from {printer.spine_text_min_pages} pages"
                             + (f" and a {printer.spine_text_min_width} in spine" if printer.spine_text_min_width else ""))
    fold_check = report.add("BM814", f"{expected.fold_margin} in")
    barcode_check = report.add("BM815", f"{barcode_w} x {barcode_h} in, {expected.barcode_offset} in from the spine and the foot")
    for mark in _marks(page):
        rect = mark.rect
        if mark.kind == "text" and rect.x0 < fold_right and rect.x1 > fold_left:
            if not expected.spine_text:
                report.found(spine_check, f"spine text {mark.text.strip()[:30]!r} on a book of {report.pages} pages", name, 1)
            margin = min(rect.x0 - fold_left, fold_right - rect.x1) / INCH
            if margin < expected.fold_margin - 0.002:
                report.found(fold_check, f"spine text {mark.text.strip()[:30]!r} is {max(margin, 0):.3f} in from a fold", name, 1)
        if mark.kind in ("text", "image") and rect.intersects(barcode) and not rect.contains(media):
            report.found(barcode_check, f"a{'n' if mark.kind == 'image' else ''} {mark.kind} is printed in the barcode area", name, 1)
    if printer.needs_pdfx:
        _check_pdfx(report, doc, name, " (cover)")
    # Fonts, resolution and transparency are the interior's rules, run on the cover too.
    for font in page.get_fonts(full=True):
        if font[1] == "n/a" and font[2] != "Type3":
            report.found(report.add("BM806", "embedded (cover)"), f"the font {font[3]} is not embedded", name, 1)
    if _Transparency(doc).page(page):
        report.found(report.add("BM809", "no live transparency (cover)"), "live transparency on the cover", name, 1)
    for info in page.get_image_info():
        width_in = (info["bbox"][2] - info["bbox"][0]) / INCH
        height_in = (info["bbox"][3] - info["bbox"][1]) / INCH
        if width_in > 0.05 and height_in > 0.05:
            dpi = min(info["width"] / width_in, info["height"] / height_in)
            if dpi < printer.min_dpi - 0.5:
                report.found(report.add("BM807", f"{printer.min_dpi} dpi (cover)"),
                             f"a cover image prints at {dpi:.0f} dpi; {printer.label} needs {printer.min_dpi}", name, 1)


def preflight(printer: Printer, paper: str, interior: Path, cover: Path | None, with_cover: bool = True) -> PreflightReport:
    """Run every rule of ``printer`` on the interior PDF and the cover wrap.

    The cover is measured against what the printer computes from the interior PDF as written
    (its trim box and page count), not from bookmaker's own geometry.
    """
    from bookmaker.printers import cover_geometry

    report = PreflightReport(printer.name, None, None, None)
    check_interior(report, printer, paper, interior)
    if with_cover:
        doc = _open(interior)
        trim = _box(doc, doc[0], "TrimBox")
        expected = cover_geometry(printer, (trim.width, trim.height), doc.page_count, paper)
        check_cover(report, printer, expected, cover)
    return report
