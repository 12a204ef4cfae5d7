"""Resource limits: huge images and chapters are refused or reported before they exhaust the machine."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

from PIL import Image as PILImage

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
