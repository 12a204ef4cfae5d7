"""The theme's fonts: WeasyPrint sees only them (never the machine's), and characters none of them has are reported."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from bookmaker.log import warn
from bookmaker.markup import line_in_file
from bookmaker.model import Book

#: Font files a theme may bundle in its fonts/ folder.
FONT_SUFFIXES = (".otf", ".ttf", ".woff", ".woff2")

#: A fontconfig configuration with no system include: the fonts WeasyPrint then knows are
#: those its @font-face rules add (``FcConfigAppFontAddFile``) and the default theme's bundled
#: faces, so a character the theme lacks prints as a bundled font's empty box (which we report)
#: instead of silently coming from whatever the machine has installed (DejaVu on Debian).
#: The bundled folder must be listed: when every @font-face of a family fails to load (a
#: refused URL) and fontconfig knows no font at all, Pango hands WeasyPrint a NULL font and
#: the process dies with SIGSEGV ("pango_font_describe_with_absolute_size: assertion 'font
#: != NULL' failed"); with the folder, generic families such as ``serif`` resolve to it.
_PRIVATE_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <!-- bookmaker: only the theme's fonts, which WeasyPrint adds from @font-face. -->
  <dir>{fonts}</dir>
  <cachedir>{cache}</cachedir>
</fontconfig>
"""


@lru_cache(maxsize=1)
def _private_conf() -> str:
    folder = Path(tempfile.mkdtemp(prefix="bookmaker-fontconfig-"))
    # Removed when the process ends (a worker's lies in its pool's folder, which the build removes).
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "fonts.conf"
    from xml.sax.saxutils import escape

    from bookmaker.resources import default_styles

    fonts = escape(str(default_styles() / "fonts"))
    path.write_text(_PRIVATE_CONF.format(fonts=fonts, cache=escape(str(folder / "cache"))), encoding="utf-8")
    return str(path)


@contextmanager
def theme_fonts_only() -> Iterator[None]:
    """Within this block a new fontconfig configuration lists no installed font.

    Fontconfig reads ``FONTCONFIG_FILE`` whenever a configuration is loaded
    (``FcInitLoadConfigAndFonts``, which ``weasyprint.text.fonts.FontConfiguration()``
    calls), so the variable is set around that call only: the configuration keeps what it
    loaded, and programs started later (a browser in the tests) still see the machine's
    fonts.  Set ``BOOKMAKER_SYSTEM_FONTS=1`` to let WeasyPrint fall back on installed fonts.
    """
    if os.environ.get("BOOKMAKER_SYSTEM_FONTS") == "1":
        yield
        return
    saved = os.environ.get("FONTCONFIG_FILE")
    os.environ["FONTCONFIG_FILE"] = _private_conf()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("FONTCONFIG_FILE", None)
        else:
            os.environ["FONTCONFIG_FILE"] = saved


def font_files(folders: Iterable[Path]) -> list[Path]:
    """The font files in ``folders`` (a theme's fonts/ and the default theme's), sorted."""
    found: list[Path] = []
    for folder in folders:
        if folder.is_dir():
            found += sorted(p for p in folder.iterdir() if p.suffix.lower() in FONT_SUFFIXES and p.is_file())
    return found


@lru_cache(maxsize=32)
def _cmap(path: Path, mtime: float) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    try:
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            return frozenset(font.getBestCmap() or ())
    except Exception:  # noqa: BLE001 - an unreadable font simply covers nothing
        return frozenset()


def needs_glyph(ch: str) -> bool:
    """Whether ``ch`` is drawn (not white space, a control, a format character or a variation selector)."""
    if ch.isspace():
        return False
    if unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp", "Cs", "Cn"):
        return False
    code = ord(ch)
    return not (0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF)


def missing_characters(book: Book, folders: Iterable[Path]) -> list[tuple[str, Path, int | None]]:
    """Characters of the book that no bundled font has: (character, first file, line), in order."""
    seen: set[str] = set()
    candidates: list[tuple[str, Path]] = []

    def scan(text: str, source: Path) -> None:
        # Each distinct character once, in the order of first use (a book has a few hundred).
        for ch in dict.fromkeys(text):
            if ch in seen or not needs_glyph(ch):
                continue
            seen.add(ch)
            candidates.append((ch, source))

    config = book.config
    for value in (config.title, config.subtitle, config.rights, config.description,
                  *(c.name for c in config.creators), config.publisher):
        if isinstance(value, str):
            scan(value, config.path)
    for chapter in book.chapters:
        scan(chapter.title or "", chapter.source)
        scan(" ".join(chapter.body.itertext()), chapter.source)
        for note in chapter.notes:
            scan(" ".join(note.body.itertext()), chapter.source)
    # Fonts are read smallest first and only while some character is still unaccounted for:
    # a Latin book never decompiles the large CJK font's character map (0.3 s a build).
    remaining = {ord(ch) for ch, _source in candidates}
    for path in sorted(font_files(folders), key=lambda p: (p.stat().st_size, p.name)):
        if not remaining:
            break
        remaining -= _cmap(path, path.stat().st_mtime)
    return [(ch, source, line_in_file(source, ch)) for ch, source in candidates if ord(ch) in remaining]


def warn_missing(book: Book, folders: Iterable[Path]) -> list[str]:
    """One warning (BM510) per character that no bundled font can print; the characters."""
    missing = missing_characters(book, folders)
    for ch, source, line in missing:
        name = unicodedata.name(ch, "unnamed character")
        warn(f"no bundled font has '{ch}' (U+{ord(ch):04X} {name}): it would print as an empty box; "
             "add a font that has it to the theme's fonts/ folder, or use another character",
             source, line, code="BM510")
    return [ch for ch, _, _ in missing]
