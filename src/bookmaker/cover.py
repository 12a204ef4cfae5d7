"""A typographic cover (title, subtitle, authors on a plain ground) for books that bring no cover image."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

from bookmaker.cjk import is_cjk
from bookmaker.config import BookConfig
from bookmaker.resources import default_styles

#: Portrait 1:1.6, the size retailers ask for (Kindle: 1600x2560 recommended).
WIDTH, HEIGHT = 1600, 2560
MARGIN = 160
BACKGROUND = (31, 42, 54)
INK = (243, 234, 216)
ACCENT = (201, 164, 92)

LATIN_FACES = {"regular": "EBGaramond-Regular.otf", "italic": "EBGaramond-Italic.otf"}
CJK_FACE = "NotoSerifSC-Regular.otf"


def font_path(name: str) -> Path:
    """A font bundled with the default theme."""
    return default_styles() / "fonts" / name


@lru_cache(maxsize=8)
def _cmap(name: str) -> frozenset[int]:
    with TTFont(font_path(name), lazy=True) as font:
        return frozenset(font.getBestCmap())


def _face_for(text: str, style: str) -> str:
    """EB Garamond when it has every character, else the CJK face (which also covers Latin)."""
    latin = LATIN_FACES[style]
    if all(ord(ch) in _cmap(latin) for ch in text if not ch.isspace()):
        return latin
    return CJK_FACE


def _tokens(text: str) -> list[str]:
    """Break points: between words, and between any two CJK characters (no spaces in Chinese)."""
    tokens: list[str] = []
    for word in text.split():
        current = ""
        for ch in word:
            if is_cjk(ch):
                if current:
                    tokens.append(current)
                tokens.append(ch)
                current = ""
            else:
                current += ch
        if current:
            tokens.append(current)
        tokens.append(" ")
    return tokens[:-1]


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy line breaking of ``text`` to ``width`` pixels."""
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        candidate = line + token
        if line and font.getlength(candidate.strip()) > width:
            lines.append(line.strip())
            line = token.lstrip()
        else:
            line = candidate
    if line.strip():
        lines.append(line.strip())
    return lines


def _fit(text: str, style: str, size: int, max_lines: int) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest size (down from ``size``) at which ``text`` fits in ``max_lines`` lines."""
    path = str(font_path(_face_for(text, style)))
    while True:
        font = ImageFont.truetype(path, size)
        lines = wrap(text, font, WIDTH - 2 * MARGIN)
        if len(lines) <= max_lines or size <= 40:
            return font, lines
        size = int(size * 0.9)


def _draw_block(draw: ImageDraw.ImageDraw, top: float, font: ImageFont.FreeTypeFont, lines: list[str], leading: float) -> float:
    """Centre ``lines`` from ``top``; return the y below the block."""
    y = top
    step = font.size * leading
    for line in lines:
        draw.text((WIDTH / 2, y), line, font=font, fill=INK, anchor="ma")
        y += step
    return y


def generate_cover(config: BookConfig) -> bytes:
    """The cover as JPEG bytes; the same config always gives the same bytes."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    title_font, title_lines = _fit(config.title, "regular", 200, 4)
    y = _draw_block(draw, HEIGHT * 0.22, title_font, title_lines, 1.15)
    rule_y = y + 60
    draw.line([(WIDTH / 2 - 180, rule_y), (WIDTH / 2 + 180, rule_y)], fill=ACCENT, width=6)
    y = rule_y + 90
    if config.subtitle:
        sub_font, sub_lines = _fit(config.subtitle, "italic", 96, 4)
        _draw_block(draw, y, sub_font, sub_lines, 1.25)
    names = [c.name for c in config.creators] or []
    if names:
        author_font, author_lines = _fit(", ".join(names), "regular", 110, 3)
        block = author_font.size * 1.2 * len(author_lines)
        _draw_block(draw, HEIGHT * 0.86 - block, author_font, author_lines, 1.2)
    out = io.BytesIO()
    # No EXIF, no timestamps: Pillow's JPEG encoder is deterministic for the same input.
    image.save(out, "JPEG", quality=90, optimize=True, progressive=False, dpi=(300, 300))
    return out.getvalue()
