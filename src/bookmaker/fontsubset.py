"""Subset the bundled fonts to the characters a book uses, for embedding in the EPUB."""

from __future__ import annotations

import io
from dataclasses import dataclass

from fontTools import subset
from fontTools.ttLib import TTFont

from bookmaker.cover import font_path

#: The CJK fallback. Its @font-face is limited to these ranges so that Latin text keeps the
#: reader's (or the embedded) body face; the subset holds nothing else anyway.
CJK_FONT = "NotoSerifSC-Regular-GB2312.otf"
CJK_FAMILY = "Noto Serif SC"
CJK_RANGES = "U+2E80-9FFF, U+F900-FAFF, U+FE30-FE4F, U+FF00-FFEF"
#: The body face embedded with ``epub: {embed_fonts: true}``: (file, font-style, font-weight).
BODY_FAMILY = "EB Garamond"
BODY_FONTS = (
    ("EBGaramond-Regular.otf", "normal", "normal"),
    ("EBGaramond-Italic.otf", "italic", "normal"),
    ("EBGaramond-Bold.ttf", "normal", "bold"),
    ("EBGaramond-BoldItalic.ttf", "italic", "bold"),
)


@dataclass
class EmbeddedFont:
    """A subset font file for the package, with the @font-face rule that uses it."""

    file_name: str
    data: bytes
    rule: str


def is_cjk(ch: str) -> bool:
    """Characters from CJK Radicals (U+2E80) up: ideographs, kana, CJK and full-width punctuation."""
    return ord(ch) >= 0x2E80


def subset_font(name: str, chars: set[str]) -> bytes | None:
    """The bundled font ``name`` cut down to ``chars``; None if it has none of them.

    fontTools keeps ``head.modified`` as it was (``recalc_timestamp`` is off by default),
    so the same characters always give the same bytes.
    """
    options = subset.Options()
    options.name_IDs = ["*"]  # keep copyright and licence names (SIL OFL 1.1, section 2)
    options.notdef_outline = True
    font = subset.load_font(str(font_path(name)), options)
    with font:
        covered = {ch for ch in chars if ord(ch) in font.getBestCmap()}
        if not covered:
            return None
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(ord(ch) for ch in covered))
        subsetter.subset(font)
        out = io.BytesIO()
        subset.save_font(font, out, options)
    return out.getvalue()


def epub_fonts(text: str, embed_body: bool) -> list[EmbeddedFont]:
    """The fonts to embed for a book whose documents contain ``text``."""
    fonts: list[EmbeddedFont] = []
    cjk = {ch for ch in text if is_cjk(ch)}
    if embed_body:
        # Printable ASCII always, so that a reader's UI strings and later edits still render.
        latin = {ch for ch in text if not is_cjk(ch) and ch.isprintable()} | {chr(c) for c in range(0x20, 0x7F)}
        for name, style, weight in BODY_FONTS:
            data = subset_font(name, latin)
            if data:
                file_name = name.replace(".otf", "-subset.otf")
                rule = (f'@font-face {{ font-family: "{BODY_FAMILY}"; font-style: {style}; font-weight: {weight}; '
                        f'src: url("../fonts/{file_name}"); }}')
                fonts.append(EmbeddedFont(file_name, data, rule))
    data = subset_font(CJK_FONT, cjk) if cjk else None
    if data:
        file_name = CJK_FONT.replace(".otf", "-subset.otf")
        rule = (f'@font-face {{ font-family: "{CJK_FAMILY}"; src: url("../fonts/{file_name}"); '
                f"unicode-range: {CJK_RANGES}; }}")
        fonts.append(EmbeddedFont(file_name, data, rule))
    return fonts


def fonts_css(fonts: list[EmbeddedFont], embed_body: bool) -> str:
    """The stylesheet that declares the embedded fonts and puts them in the body's font stack."""
    families = ([f'"{BODY_FAMILY}"'] if embed_body else []) + [f'"{CJK_FAMILY}"'] * any(
        CJK_FONT.replace(".otf", "") in f.file_name for f in fonts
    )
    rules = [f.rule for f in fonts]
    if families:
        rules.append(f"body {{ font-family: {', '.join(families)}, serif; }}")
    return "\n".join(rules) + "\n"


def covered_by(name: str, text: str) -> set[str]:
    """The characters of ``text`` that the font file ``name`` (a bundled font) maps."""
    with TTFont(font_path(name), lazy=True) as font:
        cmap = font.getBestCmap()
    return {ch for ch in text if ord(ch) in cmap}
