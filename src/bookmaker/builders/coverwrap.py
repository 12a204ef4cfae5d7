"""The paperback's cover wrap (back, spine, front on one sheet with bleed) and the stores' ebook cover image."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path

from PIL import Image, ImageCms, ImageFont, ImageOps

from bookmaker.builders import Builder
from bookmaker.config import BookConfig
from bookmaker.cover import ACCENT, BACKGROUND, CJK_FACE, INK, LATIN_FACES, _face_for, font_path, generate_cover, wrap
from bookmaker.geometry import Geometry
from bookmaker.log import logger
from bookmaker.markup import inline_html
from bookmaker.model import Book
from bookmaker.output import atomic_output
from bookmaker.printers import DEFAULT_PRINTER, CoverGeometry, Printer, cover_geometry, printer_named
from bookmaker.resources import default_styles, styles_dir

#: The stores' recommended ebook cover (Kindle, Kobo, Apple): 1600 x 2560 px, 1:1.6, sRGB JPEG.
EBOOK_COVER_SIZE = (1600, 2560)

#: The cover's faces: the typographic cover's own (bookmaker.cover), all bundled with the default theme.
_FACES = {
    "regular": ("EB Garamond", LATIN_FACES["regular"], "normal", "normal"),
    "italic": ("EB Garamond", LATIN_FACES["italic"], "italic", "normal"),
    "cjk": ("Noto Serif SC", CJK_FACE, "normal", "normal"),
}


@lru_cache(maxsize=16)
def _font(name: str) -> ImageFont.FreeTypeFont:
    # Measured at 100 units: widths scale linearly, so one size serves every point size.
    return ImageFont.truetype(str(font_path(name)), 100)


def text_width(text: str, style: str, size_pt: float, tracking: float = 0.0) -> float:
    """The advance width of ``text`` in points at ``size_pt`` (the face that has its characters)."""
    face = _face_for(text, style if style in ("regular", "italic") else "regular")
    return _font(face).getlength(text) * size_pt / 100 + tracking * size_pt * max(len(text) - 1, 0)


def fit_lines(text: str, style: str, size_pt: float, width_pt: float, max_lines: int, floor: float) -> tuple[float, list[str]]:
    """The largest size from ``size_pt`` down to ``floor`` at which ``text`` fits ``max_lines`` lines of ``width_pt``."""
    face = _face_for(text, style if style in ("regular", "italic") else "regular")
    font = _font(face)
    while True:
        lines = wrap(text, font, int(width_pt * 100 / size_pt))
        if len(lines) <= max_lines or size_pt <= floor:
            return size_pt, lines
        size_pt = max(size_pt * 0.92, floor)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % rgb


@dataclass(frozen=True)
class Palette:
    ground: tuple[int, int, int]
    ink: tuple[int, int, int]
    accent: tuple[int, int, int]


def palette_from_image(path: Path) -> Palette:
    """A ground for spine and back taken from the front image (its average colour, deepened), with legible ink."""
    with Image.open(path) as image:
        rgb = ImageOps.exif_transpose(image).convert("RGB")
        r, g, b = rgb.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    ground = (int(r * 0.55), int(g * 0.55), int(b * 0.55))
    luminance = 0.2126 * ground[0] + 0.7152 * ground[1] + 0.0722 * ground[2]
    if luminance > 140:
        return Palette(ground, (28, 28, 30), (90, 70, 40))
    return Palette(ground, INK, ACCENT)


@dataclass
class CoverResult:
    """What the cover build wrote."""

    path: Path
    geometry: CoverGeometry
    printer: Printer
    pages: int


class CoverWrapBuilder(Builder):
    """Lay out the cover wrap as one HTML page and let WeasyPrint write it (fonts embedded, bleed boxes set)."""

    name = "cover"
    suffix = "pdf"

    def __init__(self, book: Book, pages: int) -> None:
        super().__init__(book)
        config = book.config
        self.printer = printer_named(config.pdf.printer) or DEFAULT_PRINTER
        trim = Geometry.from_config(config)
        self.pages = pages
        self.geometry = cover_geometry(self.printer, (trim.width, trim.height), pages, config.pdf.paper)
        self.palette = palette_from_image(config.cover) if config.cover else Palette(BACKGROUND, INK, ACCENT)

    def output_path(self, outdir: Path) -> Path:
        return outdir / f"{self.book.slug}-cover.pdf"

    # ---- HTML -------------------------------------------------------------------------------

    def _font_faces(self) -> str:
        rules = []
        for family, file_name, style, weight in _FACES.values():
            url = (default_styles() / "fonts" / file_name).resolve().as_uri()
            rules.append(f"@font-face {{ font-family: '{family}'; src: url('{url}'); font-style: {style}; font-weight: {weight}; }}")
        return "\n".join(rules)

    def _css(self) -> str:
        g, pal = self.geometry, self.palette
        marks = "marks: crop;" if (self.book.config.pdf.cover_marks or "").lower() == "crop" else ""
        return f"""
{self._font_faces()}
@page {{ size: {g.width:.4f}in {g.height:.4f}in; margin: 0; bleed: {g.bleed:.4f}in; {marks}
         background: {_hex(pal.ground)}; }}
html, body {{ margin: 0; padding: 0; }}
body {{ font-family: 'EB Garamond', 'Noto Serif SC', serif; color: {_hex(pal.ink)}; position: relative;
        width: {g.width:.4f}in; height: {g.height:.4f}in; font-variant-ligatures: common-ligatures; }}
.abs {{ position: absolute; }}
.front-image {{ position: absolute; top: -{g.bleed:.4f}in; left: {g.spine_right:.4f}in;
                width: {g.trim_width + g.bleed:.4f}in; height: {g.height + 2 * g.bleed:.4f}in; object-fit: cover; }}
.frame {{ position: absolute; border: 0.6pt solid {_hex(pal.accent)}; }}
.frame-inner {{ position: absolute; border: 0.3pt solid {_hex(pal.accent)}; }}
.line {{ position: absolute; white-space: nowrap; text-align: center; }}
.rule {{ position: absolute; height: 0; border-top: 0.8pt solid {_hex(pal.accent)}; }}
.diamond {{ position: absolute; width: 5pt; height: 5pt; background: {_hex(pal.accent)}; transform: rotate(45deg); }}
.caps {{ text-transform: uppercase; letter-spacing: 0.16em; }}
.spine {{ position: absolute; display: flex; align-items: center; justify-content: center; white-space: nowrap;
          transform-origin: 0 0; }}
.spine span {{ display: inline-block; }}
.back-copy {{ position: absolute; font-size: 10.6pt; line-height: 1.42; text-align: justify; hyphens: auto; }}
.back-copy p {{ margin: 0 0 0.55em 0; text-indent: 0; }}
.back-copy p.lead {{ font-style: italic; font-size: 13pt; line-height: 1.3; text-align: left; hyphens: manual;
                     color: {_hex(pal.accent)}; margin-bottom: 0.8em; }}
.back-copy p.lead em {{ font-style: normal; }}
.back-copy a, .bio a {{ color: inherit; text-decoration: none; }}
.bio {{ position: absolute; font-size: 9pt; line-height: 1.38; text-align: left; hyphens: manual; }}
.bio img {{ float: left; width: 0.95in; height: 0.95in; object-fit: cover; border-radius: 50%;
            margin: 0.04in 0.16in 0.04in 0; }}
.bio .label {{ display: block; font-size: 7.6pt; letter-spacing: 0.18em; text-transform: uppercase;
               color: {_hex(pal.accent)}; margin-bottom: 0.3em; }}
.barcode {{ position: absolute; background: #ffffff; }}
.imprint {{ position: absolute; font-size: 8pt; letter-spacing: 0.18em; text-transform: uppercase; white-space: nowrap; }}
"""

    def _lines(self, lines: list[str], size: float, leading: float, top_pt: float, centre_x_in: float, width_in: float,
               classes: str = "", style: str = "") -> tuple[str, float]:
        """Centred lines from ``top_pt`` (points from the trim's top); returns the HTML and the y below them."""
        out = []
        y = top_pt
        for line in lines:
            out.append(
                f'<div class="line {classes}" style="top:{y:.2f}pt; left:{centre_x_in - width_in / 2:.4f}in; '
                f'width:{width_in:.4f}in; font-size:{size:.2f}pt; line-height:{size * leading:.2f}pt; {style}">{escape(line)}</div>'
            )
            y += size * leading
        return "".join(out), y

    def front(self) -> str:
        config, g = self.book.config, self.geometry
        left = g.spine_right
        if config.cover:
            return f'<img class="front-image" src="{config.cover.resolve().as_uri()}" alt=""/>'
        inset = 0.36
        parts = [
            f'<div class="frame" style="left:{left + inset:.4f}in; top:{inset:.4f}in; width:{g.trim_width - 2 * inset:.4f}in; '
            f'height:{g.height - 2 * inset:.4f}in;"></div>',
            f'<div class="frame-inner" style="left:{left + inset + 0.07:.4f}in; top:{inset + 0.07:.4f}in; '
            f'width:{g.trim_width - 2 * inset - 0.14:.4f}in; height:{g.height - 2 * inset - 0.14:.4f}in;"></div>',
        ]
        centre = left + g.trim_width / 2
        measure = (g.trim_width - 2 * 0.85) * 72
        height_pt = g.height * 72
        size, lines = fit_lines(config.title, "regular", min(g.trim_width * 10.5, 66), measure, 3, 24)
        html, y = self._lines(lines, size, 1.05, height_pt * 0.2, centre, g.trim_width - 1.0)
        parts.append(html)
        y += 18
        parts.append(f'<div class="rule" style="top:{y:.2f}pt; left:{centre - 0.55:.4f}in; width:0.42in;"></div>')
        parts.append(f'<div class="diamond" style="top:{y - 2.5:.2f}pt; left:{centre * 72 - 2.5:.2f}pt;"></div>')
        parts.append(f'<div class="rule" style="top:{y:.2f}pt; left:{centre + 0.13:.4f}in; width:0.42in;"></div>')
        y += 22
        if config.subtitle:
            sub_size, sub_lines = fit_lines(config.subtitle, "italic", min(g.trim_width * 3.4, 21), measure, 3, 11)
            html, y = self._lines(sub_lines, sub_size, 1.3, y, centre, g.trim_width - 1.0, style="font-style:italic;")
            parts.append(html)
        names = [c.name for c in config.creators]
        if names:
            byline = " & ".join(names) if len(names) <= 2 else ", ".join(names)
            size, lines = fit_lines(byline.upper(), "regular", min(g.trim_width * 2.6, 17), measure * 0.86, 2, 9)
            block = size * 1.35 * len(lines)
            html, _ = self._lines(lines, size, 1.35, height_pt * 0.84 - block, centre, g.trim_width - 1.0, classes="caps")
            parts.append(html)
        return "".join(parts)

    def spine(self) -> str:
        config, g = self.book.config, self.geometry
        if not g.spine_text:
            logger.info("The spine carries no text: %d pages are too few for %s", self.pages, self.printer.label)
            return ""
        if _mostly_cjk(config.title):
            return self.stacked_spine()
        # The spine reads top to bottom (the North American and British convention): a box as long as the
        # spine is high, rotated a quarter turn about its top-left corner and moved onto the spine.
        box = g.spine_text_box * 72
        size = min(box * 0.62, 15.0)
        length = (g.height - 2 * 0.5) * 72
        author = " & ".join(c.name for c in config.creators).upper()
        gap = 18.0
        publisher = (config.publisher or "").upper()

        def total(s: float) -> float:
            width = text_width(config.title, "regular", s) + gap
            width += text_width(author, "regular", s * 0.62, 0.16) if author else 0
            width += (gap + text_width(publisher, "regular", s * 0.45, 0.16)) if publisher else 0
            return width

        while total(size) > length and size > 5:
            size *= 0.94
        if total(size) > length:
            publisher = ""
        # The title's run is centred on the spine; when it would reach the imprint at the foot, it is
        # centred on the room above the imprint instead.
        if publisher:
            run = total(size) - gap - text_width(publisher, "regular", size * 0.45, 0.16)
            room = length / 2 - gap - text_width(publisher, "regular", size * 0.45, 0.16)
            if run / 2 > room:
                length -= gap + text_width(publisher, "regular", size * 0.45, 0.16)
        pieces = [f'<span style="font-size:{size:.2f}pt;">{escape(config.title)}</span>']
        if author:
            pieces.append(f'<span class="caps" style="font-size:{size * 0.62:.2f}pt; margin-left:{gap:.1f}pt; '
                          f'color:{_hex(self.palette.accent)};">{escape(author)}</span>')
        body = "".join(pieces)
        spine_centre_x = (g.spine_left + g.spine / 2) * 72
        top = 0.5 * 72
        # The rotated box: its height is the text box across the spine, centred on the spine's middle line.
        html = (f'<div class="spine" data-role="spine-text" style="left:{spine_centre_x + box / 2:.3f}pt; top:{top:.3f}pt; '
                f'width:{length:.3f}pt; height:{box:.3f}pt; line-height:{box:.3f}pt; transform: rotate(90deg);">{body}</div>')
        if publisher:
            # The imprint sits at the foot of the spine, in its own rotated box, right-aligned (the spine's foot).
            foot = text_width(publisher, "regular", size * 0.45, 0.16) + 2
            html += (f'<div class="spine" data-role="spine-imprint" style="left:{spine_centre_x + box / 2:.3f}pt; '
                     f'top:{(g.height - 0.42) * 72 - foot:.3f}pt; width:{foot:.3f}pt; height:{box:.3f}pt; '
                     f'line-height:{box:.3f}pt; transform: rotate(90deg);"><span class="caps" '
                     f'style="font-size:{size * 0.45:.2f}pt;">{escape(publisher)}</span></div>')
        return html

    def stacked_spine(self) -> str:
        """A Chinese or Japanese spine: the characters stand upright, one under the other (there is no
        vertical writing mode in the layout engine), the title first, then the CJK names of the authors."""
        config, g = self.book.config, self.geometry
        box = g.spine_text_box * 72
        title = [ch for ch in config.title if not ch.isspace()]
        names = [c.name for c in config.creators if _mostly_cjk(c.name)]
        author = [ch for ch in "\u3000".join(names) if not ch.isspace() or ch == "\u3000"]
        length = (g.height - 2 * 0.5) * 72
        gap = 1.2
        size = min(box * 0.7, 16.0)
        while size * 1.08 * (len(title) + gap + 0.75 * len(author)) > length and size > 5:
            size *= 0.94
        cells = [f'<div style="height:{size * 1.08:.2f}pt; line-height:{size * 1.08:.2f}pt;">{escape(ch)}</div>' for ch in title]
        cells.append(f'<div style="height:{size * gap:.2f}pt;"></div>')
        small = size * 0.75
        cells += [f'<div style="height:{small * 1.08:.2f}pt; line-height:{small * 1.08:.2f}pt; font-size:{small:.2f}pt; '
                  f'color:{_hex(self.palette.accent)};">{escape(ch)}</div>' for ch in author]
        height = size * 1.08 * (len(title) + gap) + small * 1.08 * len(author)
        left = (g.spine_left + g.spine / 2) * 72 - box / 2
        top = 0.5 * 72 + max((length - height) / 2, 0)
        return (f'<div class="abs" data-role="spine-text" lang="{escape(config.language)}" style="left:{left:.3f}pt; '
                f'top:{top:.3f}pt; width:{box:.3f}pt; font-size:{size:.2f}pt; text-align:center;">{"".join(cells)}</div>')

    def _inline(self, text: str) -> str:
        """A paragraph of book.yaml as the chapters would print it: *emphasis*, curly quotes, dashes."""
        config = self.book.config
        return inline_html(text, config.path, config.language, config.smart_punctuation)

    def back(self) -> str:
        config, g = self.book.config, self.geometry
        margin = 0.62
        width = g.trim_width - 2 * margin
        parts = []
        copy = config.cover_copy or config.description or ""
        paragraphs = [" ".join(p.split()) for p in copy.split("\n\n") if p.strip()]
        if len(paragraphs) == 1 and ". " in paragraphs[0][:220]:
            # One paragraph: its first sentence becomes the lead line, as a blurb's headline.
            head, tail = paragraphs[0].split(". ", 1)
            paragraphs = [head + ".", tail]
        size = 12.0 if sum(map(len, paragraphs)) < 900 else 10.6
        if paragraphs:
            first, rest = paragraphs[0], paragraphs[1:]
            lead_class = ' class="lead"' if rest and len(first) < 220 else ""
            html = f"<p{lead_class}>{self._inline(first)}</p>" + "".join(f"<p>{self._inline(p)}</p>" for p in rest)
            parts.append(f'<div class="back-copy" lang="{escape(config.language)}" style="left:{margin:.4f}in; '
                         f'top:{0.78:.4f}in; width:{width:.4f}in; font-size:{size:.1f}pt;">{html}</div>')
        barcode_w, barcode_h = g.barcode
        barcode_left = g.spine_left - g.barcode_offset - barcode_w
        barcode_top = g.height - g.barcode_offset - barcode_h
        if config.author_bio or config.author_photo:
            photo = (f'<img src="{config.author_photo.resolve().as_uri()}" alt="{escape(config.creators[0].name if config.creators else "")}"/>'
                     if config.author_photo else "")
            bio = self._inline(" ".join((config.author_bio or "").split()))
            parts.append(f'<div class="bio" style="left:{margin:.4f}in; width:{width:.4f}in; '
                         f'bottom:{g.height - barcode_top + 0.32:.4f}in;">{photo}'
                         f'<span class="label">About the author</span>{bio}</div>')
        parts.append(f'<div class="rule" style="top:{(barcode_top - 0.16) * 72:.2f}pt; left:{margin:.4f}in; width:{width:.4f}in; '
                     f'border-top-width:0.4pt;"></div>')
        # The barcode area stays clear: KDP prints its barcode in a white 2 x 1.2 in box here.
        parts.append(f'<div class="barcode" data-role="barcode" style="left:{barcode_left:.4f}in; top:{barcode_top:.4f}in; '
                     f'width:{barcode_w:.4f}in; height:{barcode_h:.4f}in;"></div>')
        imprint = config.publisher or ""
        if imprint:
            parts.append(f'<div class="imprint" style="left:{margin:.4f}in; top:{(barcode_top + barcode_h - 0.5) * 72:.2f}pt;">'
                         f'{escape(imprint)}</div>')
        isbn = config.isbns.get("paperback") or config.isbn
        if isbn:
            parts.append(f'<div class="imprint" style="left:{margin:.4f}in; top:{(barcode_top + barcode_h - 0.3) * 72:.2f}pt; '
                         f'letter-spacing:0.06em;">ISBN {escape(isbn)}</div>')
        return "".join(parts)

    def render_html(self) -> str:
        config = self.book.config
        return (
            f'<!DOCTYPE html><html lang="{escape(config.language)}"><head><meta charset="utf-8"/>'
            f"<title>{escape(config.title)} (cover)</title><style>{self._css()}</style></head>"
            f"<body>{self.back()}{self.spine()}{self.front()}</body></html>"
        )

    # ---- writing -----------------------------------------------------------------------------

    def build(self, outdir: Path) -> Path:
        return self.build_cover(outdir).path

    def _output_profile(self) -> Path | None:
        """The printer's CMYK profile (``*.icc`` in the manuscript or theme folder), as the interior uses it."""
        for folder in (self.book.config.root, styles_dir(self.book.config)):
            found = sorted(folder.glob("*.icc")) + sorted(folder.glob("*.icm"))
            if found:
                return found[0]
        return None

    def build_cover(self, outdir: Path) -> CoverResult:
        from bookmaker import engine

        config = self.book.config
        css, options = "", {}
        profile = self._output_profile() if Geometry.from_config(config).standard == "pdf/x-4" else None
        if profile is not None:
            # The cover follows the interior's PDF/X-4 with the same output intent (IngramSpark wants both).
            css = (f"@color-profile device-cmyk {{ src: url({profile.as_uri()}); "
                   "components: cyan, magenta, yellow, black; }\n")
            options = {"pdf_variant": "pdf/x-4", "output_intent": "device-cmyk"}
        layout = engine.LayoutEngine([config.root, styles_dir(config), default_styles()], (), config.root)
        document = layout.render(self.render_html(), engine.Styles((), css, default_styles()), options)
        target = self.output_path(outdir)
        with atomic_output(target) as tmp:
            engine.write_pdf(document, tmp, {"pdf_identifier": True, **options})
        return CoverResult(target, self.geometry, self.printer, self.pages)


def ebook_cover(config: BookConfig) -> bytes:
    """The stores' ebook cover: 1600 x 2560 px JPEG in sRGB (the author's image fitted, or the generated cover)."""
    if not config.cover:
        image = Image.open(io.BytesIO(generate_cover(config)))
    else:
        with Image.open(config.cover) as source:
            image = ImageOps.exif_transpose(source)
            icc = image.info.get("icc_profile")
            if icc:
                # Convert from the image's own profile so colours survive; stores assume sRGB.
                src_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                image = ImageCms.profileToProfile(image.convert("RGB") if image.mode not in ("RGB", "CMYK") else image,
                                                  src_profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
            image = ImageOps.fit(image.convert("RGB"), EBOOK_COVER_SIZE, Image.Resampling.LANCZOS)
    srgb = srgb_profile()
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=90, optimize=True, progressive=False, dpi=(300, 300), icc_profile=srgb)
    return out.getvalue()


def _mostly_cjk(text: str) -> bool:
    """Whether most of the letters of ``text`` are Chinese, Japanese or Korean characters."""
    from bookmaker.cjk import is_cjk

    letters = [ch for ch in text if ch.isalnum()]
    return bool(letters) and sum(1 for ch in letters if is_cjk(ch)) * 2 > len(letters)


def srgb_profile() -> bytes:
    """LittleCMS's sRGB profile with its creation date and profile id zeroed, so that the JPEG is reproducible
    (ICC.1:2022 7.2.1: the date is informative; an all-zero profile id means "not computed")."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data[24:36] = bytes(12)
    data[84:100] = bytes(16)
    return bytes(data)


def write_ebook_cover(book: Book, outdir: Path) -> Path:
    """``OUT/<slug>-cover.jpg``."""
    target = outdir / f"{book.slug}-cover.jpg"
    with atomic_output(target) as tmp:
        tmp.write_bytes(ebook_cover(book.config))
    return target
