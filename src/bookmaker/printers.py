"""Print-on-demand printers' rules as data (trims, page counts, paper caliper, margins) and the cover geometry they imply."""

from __future__ import annotations

from dataclasses import dataclass

from bookmaker.geometry import GUTTER_MAX, GUTTER_TABLE

PRINTERS = ("kdp", "ingramspark", "none")
PAPERS = ("white", "cream", "color")

#: Distances in points (1 in = 72 pt).
INCH = 72.0


@dataclass(frozen=True)
class Printer:
    """What one print-on-demand service accepts for a paperback."""

    name: str
    label: str
    #: Accepted trims, (width, height) in inches.
    trims: tuple[tuple[float, float], ...]
    #: Paper -> inches of spine per page (a page is one side of a leaf, as the printers count).
    caliper: dict[str, float]
    #: Paper -> (fewest, most) pages.
    page_range: dict[str, tuple[int, int]]
    #: Cover stock added to the spine, in inches (0 for KDP, whose formula is pages x caliper only).
    cover_allowance: float
    #: Spine text needs at least this many pages (KDP) ...
    spine_text_min_pages: int
    #: ... and a spine at least this wide, in inches.
    spine_text_min_width: float
    #: Keep spine text this far from each fold, in inches (both printers' variance allowance).
    spine_fold_margin: float = 0.0625
    #: Bleed on every outer edge of the cover and of pages that bleed, in inches.
    bleed: float = 0.125
    #: Keep text this far inside the cover's trim, in inches.
    cover_safe: float = 0.125
    #: The barcode area on the back cover (width, height) and its distance from the spine fold and the foot, in inches.
    barcode: tuple[float, float] = (2.0, 1.2)
    barcode_offset: float = 0.25
    #: Outside (top, bottom, fore-edge) margin at least, without and with bleed, in inches.
    outside_margin: tuple[float, float] = (0.25, 0.375)
    #: Crop marks rejected (KDP) or accepted.
    marks_allowed: bool = False
    #: Live transparency rejected (PDF/X-1a-style flattening wanted).
    no_transparency: bool = True
    #: The PDF must declare PDF/X with an output intent.
    needs_pdfx: bool = False
    #: The inside margin must follow KDP's table for the page count.
    gutter_by_pages: bool = True
    #: Smallest text size in points and lowest image resolution.
    min_text_pt: float = 7.0
    min_dpi: int = 300

    def spine_width(self, pages: int, paper: str) -> float:
        """The spine width in inches for ``pages`` pages on ``paper``."""
        return pages * self.caliper[paper] + self.cover_allowance

    def spine_text_allowed(self, pages: int, paper: str) -> bool:
        return pages >= self.spine_text_min_pages and self.spine_width(pages, paper) >= self.spine_text_min_width

    def accepts_trim(self, width_pt: float, height_pt: float) -> bool:
        """Whether the trim (in points) is one of the printer's sizes, to 0.02 in."""
        return any(abs(width_pt / INCH - w) <= 0.02 and abs(height_pt / INCH - h) <= 0.02 for w, h in self.trims)

    def min_gutter(self, pages: int) -> float:
        """The inside margin in inches that a book of ``pages`` pages needs (KDP's table)."""
        for last, inches in GUTTER_TABLE:
            if pages <= last:
                return inches
        return GUTTER_MAX


#: KDP paperback (kdp.amazon.com help: "Trim size, bleed, and margins", "Cover calculator"; restated in
#: apparatus-and-press.md section 4).
KDP = Printer(
    name="kdp",
    label="Amazon KDP paperback",
    trims=(
        (5, 8), (5.06, 7.81), (5.25, 8), (5.5, 8.5), (6, 9), (6.14, 9.21), (6.69, 9.61), (7, 10), (7.44, 9.69),
        (7.5, 9.25), (8, 10), (8.25, 6), (8.25, 8.25), (8.5, 8.5), (8.5, 11), (8.27, 11.69), (8.25, 11),
    ),
    caliper={"white": 0.002252, "cream": 0.0025, "color": 0.002347},
    page_range={"white": (24, 828), "cream": (24, 776), "color": (72, 600)},
    cover_allowance=0.0,
    spine_text_min_pages=79,
    spine_text_min_width=0.0,
)

#: IngramSpark paperback.  Its spine figures come from its own cover-template generator, which publishes
#: no formula; the pages-per-inch values below (50 lb white and creme ~472 PPI, colour ~444 PPI, plus about
#: 0.002 in for the cover stock) are the reverse-engineered ones used by open calculators.  Check the
#: template IngramSpark generates for the final page count before upload.
INGRAMSPARK = Printer(
    name="ingramspark",
    label="IngramSpark paperback",
    trims=(
        (4, 6), (4.25, 6.87), (4.37, 7), (4.72, 7.48), (5, 7), (5, 8), (5.06, 7.81), (5.25, 8), (5.5, 8.25),
        (5.5, 8.5), (5.83, 8.27), (6, 9), (6.14, 9.21), (6.69, 9.61), (7, 10), (7.44, 9.69), (7.5, 9.25), (8, 10),
        (8.25, 11), (8.5, 8.5), (8.5, 11), (8.27, 11.69),
    ),
    caliper={"white": 1 / 472, "cream": 1 / 472, "color": 1 / 444},
    page_range={"white": (18, 1200), "cream": (18, 1200), "color": (18, 1200)},
    cover_allowance=0.002,
    spine_text_min_pages=48,
    spine_text_min_width=0.25,
    needs_pdfx=True,
    gutter_by_pages=False,
    # IngramSpark asks for 0.5 in margins all round; its minimum is 0.25 in from the trim.
    outside_margin=(0.25, 0.375),
)

BY_NAME: dict[str, Printer] = {"kdp": KDP, "ingramspark": INGRAMSPARK}


def printer_named(name: str | None) -> Printer | None:
    """The printer for ``pdf.printer`` (None for ``none`` or unset)."""
    return BY_NAME.get((name or "none").lower())


@dataclass(frozen=True)
class CoverGeometry:
    """The flat cover of a paperback (inches): back, spine and front side by side, bleed all round."""

    trim_width: float
    trim_height: float
    spine: float
    bleed: float
    spine_text: bool
    fold_margin: float
    safe: float
    barcode: tuple[float, float]
    barcode_offset: float

    @property
    def width(self) -> float:
        """Trimmed width: back + spine + front."""
        return 2 * self.trim_width + self.spine

    @property
    def height(self) -> float:
        return self.trim_height

    @property
    def full_width(self) -> float:
        """Width of the PDF page, bleed included (what the printer's calculator gives)."""
        return self.width + 2 * self.bleed

    @property
    def full_height(self) -> float:
        return self.height + 2 * self.bleed

    @property
    def spine_left(self) -> float:
        """x of the back/spine fold from the trimmed left edge."""
        return self.trim_width

    @property
    def spine_right(self) -> float:
        return self.trim_width + self.spine

    @property
    def spine_text_box(self) -> float:
        """How wide spine text may be: the spine less the fold margin on both sides."""
        return max(self.spine - 2 * self.fold_margin, 0.0)


def cover_geometry(printer: Printer, trim_pt: tuple[float, float], pages: int, paper: str) -> CoverGeometry:
    """The cover that ``printer`` computes for a book of ``pages`` pages on ``paper`` at trim ``trim_pt`` (points)."""
    return CoverGeometry(
        trim_width=trim_pt[0] / INCH,
        trim_height=trim_pt[1] / INCH,
        spine=printer.spine_width(pages, paper),
        bleed=printer.bleed,
        spine_text=printer.spine_text_allowed(pages, paper),
        fold_margin=printer.spine_fold_margin,
        safe=printer.cover_safe,
        barcode=printer.barcode,
        barcode_offset=printer.barcode_offset,
    )


#: The cover geometry when no printer is named: KDP's, the strictest common case.
DEFAULT_PRINTER = KDP
