"""Subset the bundled fonts to the characters a book uses for the EPUB, and mark the CJK text they set."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from fontTools import subset
from lxml import etree

from bookmaker.cjk import is_cjk, wrap_runs
from bookmaker.cover import font_path

#: The CJK fallback. It comes after the body face in the font stack and holds only CJK
#: characters, so Latin text keeps the reader's (or the embedded) face.  No unicode-range:
#: MuPDF's CSS parser rejects ranges such as U+F900-FAFF and then drops the whole stylesheet.
CJK_FONT = "NotoSerifSC-Regular.otf"
#: Our own family names, so that a system copy of the same font can never stand in
#: (styles/fonts/README.md).
CJK_FAMILY = "bookmaker CJK"
BODY_FAMILY = "bookmaker Serif"
MONO_FAMILY = "bookmaker Mono"
#: The code face, embedded whenever the book has code (readers' monospace fonts lack box
#: drawing and differ in width): (file, font-style, font-weight).
MONO_FONTS = (
    ("JetBrainsMono-Regular.ttf", "normal", "normal"),
    ("JetBrainsMono-Italic.ttf", "italic", "normal"),
    ("JetBrainsMono-Bold.ttf", "normal", "bold"),
)
#: The body face embedded with ``epub: {embed_fonts: true}``: (file, font-style, font-weight).
BODY_FONTS = (
    ("EBGaramond-Regular.otf", "normal", "normal"),
    ("EBGaramond-Italic.otf", "italic", "normal"),
    ("EBGaramond-Bold.ttf", "normal", "bold"),
    ("EBGaramond-BoldItalic.ttf", "italic", "bold"),
)
MEDIA_TYPES = {".otf": "font/otf", ".ttf": "font/ttf"}


@dataclass
class EmbeddedFont:
    """A subset font file for the package, with the @font-face rule that uses it."""

    file_name: str
    data: bytes
    rule: str
    cjk: bool = False
    mono: bool = False

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[Path(self.file_name).suffix]


def subset_name(name: str) -> str:
    """``EBGaramond-Bold.ttf`` -> ``EBGaramond-Bold-subset.ttf``."""
    path = Path(name)
    return f"{path.stem}-subset{path.suffix}"


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


def _faces(faces: tuple[tuple[str, str, str], ...], family: str, chars: set[str], mono: bool = False) -> list[EmbeddedFont]:
    """The faces of one family cut down to ``chars``, each with its @font-face rule."""
    found = []
    for name, style, weight in faces:
        data = subset_font(name, chars)
        if data:
            file_name = subset_name(name)
            rule = (f'@font-face {{ font-family: "{family}"; font-style: {style}; font-weight: {weight}; '
                    f'src: url("../fonts/{file_name}"); }}')
            found.append(EmbeddedFont(file_name, data, rule, mono=mono))
    return found


def epub_fonts(text: str, embed_body: bool, code: str = "") -> list[EmbeddedFont]:
    """The fonts to embed for a book whose documents contain ``text``, ``code`` of it in code."""
    fonts: list[EmbeddedFont] = []
    # The distinct characters first: the text is the whole book, its alphabet a few hundred.
    alphabet, code_alphabet = set(text), set(code)
    if code.strip():
        chars = {ch for ch in code_alphabet if ch.isprintable() and not is_cjk(ch)} | {chr(c) for c in range(0x20, 0x7F)}
        fonts += _faces(MONO_FONTS, MONO_FAMILY, chars, mono=True)
    cjk = {ch for ch in alphabet if is_cjk(ch)}
    if embed_body:
        # Printable ASCII always, so that a reader's UI strings and later edits still render.
        latin = {ch for ch in alphabet if not is_cjk(ch) and ch.isprintable()} | {chr(c) for c in range(0x20, 0x7F)}
        fonts += _faces(BODY_FONTS, BODY_FAMILY, latin)
    data = subset_font(CJK_FONT, cjk) if cjk else None
    if data:
        file_name = subset_name(CJK_FONT)
        rule = f'@font-face {{ font-family: "{CJK_FAMILY}"; src: url("../fonts/{file_name}"); }}'
        fonts.append(EmbeddedFont(file_name, data, rule, cjk=True))
    return fonts


def fonts_css(fonts: list[EmbeddedFont]) -> str:
    """The stylesheet that declares the embedded fonts and puts them in the body's font stack.

    Fallback is per character and goes on past a generic family, so ``serif, "CJK"`` keeps
    the reader's serif for Latin text and takes Chinese from the subset.
    """
    body = [f'"{BODY_FAMILY}"'] if any(not f.cjk and not f.mono for f in fonts) else ["serif"]
    cjk = [f'"{CJK_FAMILY}"'] if any(f.cjk for f in fonts) else []
    stack = body + cjk + (["serif"] if body != ["serif"] else [])
    rules = [f.rule for f in fonts] + [f"body {{ font-family: {', '.join(stack)}; }}"]
    if cjk:
        rules.append(f".{CJK_CLASS} {{ font-family: {', '.join(cjk + body)}; }}")
    if any(f.mono for f in fonts):
        rules.append(f'pre, code, kbd, samp {{ font-family: "{MONO_FAMILY}", {", ".join(cjk)}{", " if cjk else ""}monospace; }}')
    return "\n".join(rules) + "\n"


#: The class of the spans around CJK runs (styled in ``fonts_css``).
CJK_CLASS = "cjk"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_XHTML = "{http://www.w3.org/1999/xhtml}"


def run_language(run: str) -> str | None:
    """The language of a CJK run: ``ja`` with kana, ``ko`` with hangul, else ``zh``."""
    if any(0x3040 <= ord(ch) <= 0x30FF for ch in run):
        return "ja"
    if any(0xAC00 <= ord(ch) <= 0xD7AF or 0x1100 <= ord(ch) <= 0x11FF or 0x3130 <= ord(ch) <= 0x318F for ch in run):
        return "ko"
    return "zh"


def _cjk_span(run: str, primary: str) -> etree._Element:
    span = etree.Element(f"{_XHTML}span", {"class": CJK_CLASS})
    lang = run_language(run)
    if lang and lang != primary:
        # WCAG 2.2 SC 3.1.2 (language of parts): screen readers switch voice.
        span.set("lang", lang)
        span.set(_XML_LANG, lang)
    span.text = run
    return span


def mark_cjk_runs(root: etree._Element, language: str) -> bool:
    """Wrap every run of CJK text in the body in ``<span class="cjk" lang="zh">``; True if any.

    Not every engine falls back past the first family of a font stack per character
    (MuPDF sets Chinese in its built-in Droid Sans Fallback instead of the embedded
    subset), so the runs get the CJK family directly; the language helps screen readers.
    """
    body = root.find(f"{_XHTML}body")
    if body is None:
        return False
    primary = language.split("-")[0].lower()
    return wrap_runs(body, lambda run: _cjk_span(run, primary), CJK_CLASS)
