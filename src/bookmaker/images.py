"""Image sizes: the intrinsic size of every image (SVG at 96 px/in, raster at its DPI or 300), the author's explicit sizes, and images in tables."""

from __future__ import annotations

import re

from lxml import etree

from bookmaker.errors import Report
from bookmaker.limits import image_header
from bookmaker.log import warn
from bookmaker.markup import line_in_file
from bookmaker.model import Book, Image

#: CSS px per inch (CSS 2.1 section 4.3.2); SVG user units are CSS px.
PX_PER_IN = 96.0
#: A raster image without a resolution of its own is taken as made for print.
DEFAULT_DPI = 300.0
_UNITS_PX = {"px": 1.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "pt": 96 / 72, "pc": 16.0, "q": 96 / 101.6}
#: A size the author may give: ``{width=40%}``, ``{width=1.5in}``, ``{width=300}`` (px), also em.
_LENGTH_RE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%|px|in|cm|mm|pt|pc|q|em|rem)?\s*$", re.I)
#: The class both themes give a table whose cells hold images (fixed layout: equal columns).
TABLE_CLASS = "with-images"


def _svg_length(value: str | None) -> float | None:
    """An SVG width or height in CSS px; None for a percentage, ``auto`` or nonsense."""
    match = _LENGTH_RE.match(value or "")
    if not match or (match.group(2) or "").lower() in ("%", "em", "rem"):
        return None
    number = float(match.group(1))
    return number * _UNITS_PX[(match.group(2) or "px").lower()] if number > 0 else None


def svg_size(data: bytes) -> tuple[float, float] | None:
    """The size of an SVG in CSS px: its width and height, else its viewBox (SVG 2, 8.2)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None
    width, height = _svg_length(root.get("width")), _svg_length(root.get("height"))
    box = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", root.get("viewBox") or "")]
    ratio = box[2] / box[3] if len(box) == 4 and box[2] > 0 and box[3] > 0 else None
    if width and height:
        return width, height
    if width and ratio:
        return width, width / ratio
    if height and ratio:
        return height * ratio, height
    if ratio:
        return box[2], box[3]
    return None


def raster_size(image: Image) -> tuple[float, float] | None:
    """The size of a raster image in CSS px: its pixels at its own DPI, else at 300 DPI."""
    if not image.width or not image.height:
        return None
    dpi = (DEFAULT_DPI, DEFAULT_DPI)
    try:
        with image_header(image.source) as im:
            found = im.info.get("dpi")
    except Exception:  # noqa: BLE001 - read_image has already vetted the file
        found = None
    if found and len(found) == 2 and all(isinstance(d, int | float) and 30 <= d <= 5000 for d in found):
        # Pillow reports 72 for a JPEG that only says "no unit"; 72 is a screen default,
        # not a print resolution, so such images are taken at 300 DPI as well.
        if not all(abs(d - 72) < 0.5 for d in found):
            dpi = (float(found[0]), float(found[1]))
    return image.width / dpi[0] * PX_PER_IN, image.height / dpi[1] * PX_PER_IN


def intrinsic_size(image: Image) -> tuple[float, float] | None:
    """The size an image prints at unless the author or its box says otherwise (CSS px)."""
    if image.media_type == "image/svg+xml":
        try:
            return svg_size(image.source.read_bytes())
        except OSError:
            return None
    return raster_size(image)


def _explicit(value: str) -> str | None:
    """An author's size as a CSS length (a bare number is px); None if it is not one."""
    match = _LENGTH_RE.match(value)
    if not match or float(match.group(1)) <= 0:
        return None
    unit = (match.group(2) or "px").lower()
    return f"{match.group(1)}{unit}"


def size_images(book: Book, report: Report) -> None:
    """Record every image's intrinsic size and turn the author's ``{width=...}`` into data
    attributes the builders write as CSS (an HTML ``width`` may only be a pixel count)."""
    for image in book.images.values():
        size = intrinsic_size(image)
        if size:
            image.css_width, image.css_height = size
    for chapter in book.chapters:
        trees = [chapter.body, *(note.body for note in chapter.notes)]
        for tree in trees:
            for img in tree.iter("img"):
                for key in ("width", "height"):
                    value = img.attrib.pop(key, None)
                    if value is None:
                        continue
                    css = _explicit(value)
                    if css is None:
                        warn(f"image {key} '{value}' is not a size; use a percentage of the text width "
                             "(40%) or a length (1.5in, 4cm, 30mm, 200px)",
                             chapter.source, line_in_file(chapter.source, f"{key}={value}"), code="BM512")
                    else:
                        img.set(f"data-{key}", css)
            for table in tree.iter("table"):
                if next(table.iter("img"), None) is not None:
                    table.set("class", " ".join([*(table.get("class") or "").split(), TABLE_CLASS]))


def size_style(img: etree._Element, image: Image, max_height: float | None = None) -> None:
    """Set ``img``'s width as CSS: the author's size, else the intrinsic size (made smaller
    so that it is at most ``max_height`` px tall); the themes cap it at the width of its box."""
    width, height = img.attrib.pop("data-width", None), img.attrib.pop("data-height", None)
    rules: list[str] = []
    if width or height:
        if width:
            rules.append(f"width: {width}")
        if height:
            rules.append(f"height: {height}")
        if not (width and height):
            rules.append("height: auto" if width else "width: auto")
    elif image.css_width and image.css_height:
        scale = min(1.0, max_height / image.css_height) if max_height else 1.0
        rules.append(f"width: {image.css_width * scale:.4g}px")
    if rules:
        existing = (img.get("style") or "").strip().rstrip(";")
        img.set("style", "; ".join([*([existing] if existing else []), *rules]))
