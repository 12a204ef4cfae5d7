"""Smart quotes, apostrophes and French spacing by language: a Python-Markdown tree pass that follows ``lang``.

Python-Markdown's ``smarty`` is English-only: one set of quotes per Markdown instance, and its
``substitutions`` cannot tell an apostrophe from a closing single quote (Python-Markdown #396),
so a German ``'nicht'`` closed with ’ instead of ‘.  This pass replaces smarty's quotes (smarty
keeps dashes and ellipses).  It runs on the element tree after the inline patterns, so that

- every straight quote is decided with its neighbours on both sides, across ``*emphasis*`` and
  links (one block at a time), and with the quotes still open in the block: a closing-looking
  ``'`` with no single quote open is an apostrophe (``Hans' Werkstatt``, ``fass' es``);
- the quote characters follow the language of the text they are in, the book's or that of the
  nearest ``lang`` (``[Bonjour !]{lang=fr}``, ``{lang=de}`` on a paragraph);
- code, escaped quotes (``\\"``) and raw HTML are left as typed.

The quote characters of each language come from docutils' table (``docutils.utils.smartquotes``,
about 60 locales with regional variants such as de-CH and pt-BR, each with its sources); its
algorithm is not used, as it sees one string at a time, falls back to straight quotes for tags
such as ``de-AT``, and closes ``Hans'`` with a quote.  French text (not Swiss) gets a narrow
no-break space (U+202F) inside guillemets and before ``; : ! ?``, which docutils does not add.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from markdown import Markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from bookmaker.cjk import is_cjk
from bookmaker.labels import LanguageTag

APOSTROPHE = "\u2019"
NNBSP = "\u202f"
#: Elements whose text is meant literally: never educated, and opaque to their neighbours.
LITERAL_TAGS = frozenset("code pre kbd samp var script style math".split())
#: Elements that flow inside a line; any other element starts a block of its own.
INLINE_TAGS = frozenset("a abbr b bdi bdo cite data del dfn em i ins mark q s small span strong sub sup time u".split())
#: Inline elements that stand for something that is not text.
OPAQUE_TAGS = frozenset("img wbr".split())
#: Stands for code, images and note calls when deciding a quote next to them (a word, not a space).
OBJECT = "\ufffc"
#: Characters after which a quote opens ("(", a dash, an opening quote ...).
_OPENING_CONTEXT = "([{<\u2014\u2013-/\u201e\u201a\u00ab\u2039\u300c\u300e\u00bf\u00a1\u201c\u2018"
#: Characters after which French needs no space before ; : ! ? (they are closing punctuation already).
_FRENCH_PUNCT = ";:!?"
#: What may follow ; : ! ? in French for the space to be set (not "10:30", "http://", "?id=").
_FRENCH_AFTER = "\u00bb\u203a\u201d\u2019)]}.,\u2026!?;:\"'" + OBJECT
_SPACES = " \t\n\r\u00a0\u202f\u2009\u2007"
#: Words that begin with an elided letter: 'tis, 'em, rock 'n' roll; Dutch 's avonds, 't huis.
_LEADING_ELISIONS = {
    "en": re.compile(r"(tis|twas|twere|em|cause|til|n|round|bout|nuff)\b", re.I),
    "nl": re.compile(r"(s|t|k|n)\b", re.I),
}
#: Characters that make a French block worth spacing (any block with a straight quote is educated).
_FRENCH_BUSY = "\u00ab\u00bb\u2039\u203a;:!?"
#: A block's text as units: a placeholder, a run of letters and other plain characters, or one
#: character that matters here (a quote, a space, a guillemet, French ; : ! ?).
_TOKEN_RE = re.compile("\x02[^\x02\x03]*\x03|[^\"'\\s\u00ab\u00bb\u2039\u203a;:!?\x02]+|.", re.S)
_ESCAPED_RE = re.compile("\x02(\\d+)\x03")
_STASHED_RE = re.compile("\x02wzxhzdk:(\\d+)\x03")


@lru_cache(maxsize=64)
def quote_marks(language: str) -> tuple[str, str, str, str]:
    """(primary open, primary close, secondary open, secondary close) for a language tag."""
    from docutils.utils.smartquotes import smartchars

    table = smartchars.quotes
    tag = LanguageTag.parse(language)
    candidates = [language.lower()]
    if tag.language == "zh":
        # docutils files Chinese by region; the script decides: 「」 for Traditional, “” for Simplified.
        candidates.append("zh-tw" if tag.script == "Hant" else "zh-cn")
    if tag.region:
        candidates.append(f"{tag.language}-{tag.region}".lower())
    candidates += [tag.language, "en"]
    marks = next(table[c] for c in candidates if c in table)
    # docutils puts no-break spaces inside French guillemets; spacing is done by french_spacing().
    first, second, third, fourth = (mark.strip(_SPACES) for mark in marks)
    return first, second, third, fourth


@lru_cache(maxsize=64)
def uses_french_spacing(language: str) -> bool:
    """French sets a narrow space inside guillemets and before ; : ! ? (Swiss French does not)."""
    tag = LanguageTag.parse(language)
    return tag.language == "fr" and tag.region != "CH"


@dataclass(slots=True)
class _Unit:
    """One character of a block (or an atomic placeholder / object), with what decides its quotes."""

    raw: str
    #: The character as its neighbours see it (a placeholder's meaning, OBJECT for code or images).
    seen: str
    #: Index of the text slot the unit is written back to (-1: nothing to write).
    slot: int
    lang: str
    #: Whether the unit may be changed (a straight quote typed in text, not escaped).
    plain: bool = True
    #: For quotes already decided: "open", "close" or "apostrophe".
    role: str | None = None


@dataclass
class _Block:
    """The text of one block element (a paragraph, a heading, a list item) in reading order."""

    slots: list[tuple[ET.Element, str]] = field(default_factory=list)
    #: Text pieces (slot, text, language) and objects (code, images) in reading order.
    pieces: list[tuple[int, str, str] | _Unit] = field(default_factory=list)
    units: list[_Unit] = field(default_factory=list)
    #: Whether any text of the block has something to educate (most blocks have no quote at all).
    busy: bool = False


class SmartQuotes(Treeprocessor):
    """Educate the quotes of the whole tree, block by block (see the module docstring)."""

    def __init__(self, md: Markdown, language: str) -> None:
        super().__init__(md)
        self.language = language

    def run(self, root: ET.Element) -> None:
        for block in self._blocks(root):
            if not block.busy:
                continue
            block.units = self._units(block)
            educate(block.units)
            if any(uses_french_spacing(lang) for lang in {u.lang for u in block.units}):
                block.units = french_spacing(block.units)
            _write_back(block)

    # -- reading the tree ------------------------------------------------------------------
    def _blocks(self, root: ET.Element) -> Iterator[_Block]:
        blocks: list[_Block] = []
        self._visit_block(root, root.get("lang") or self.language, blocks)
        yield from blocks

    def _visit_block(self, el: ET.Element, lang: str, blocks: list[_Block]) -> None:
        block = _Block()
        blocks.append(block)
        inside = el.get("lang") or lang
        self._add_text(block, el, "text", inside)
        for child in el:
            block = self._visit_child(child, inside, block, blocks)

    def _visit_child(self, child: ET.Element, lang: str, block: _Block, blocks: list[_Block]) -> _Block:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "pre":
            block = _Block()  # a code block ends the text before it and is left alone
            blocks.append(block)
        elif tag in LITERAL_TAGS or tag in OPAQUE_TAGS or _is_note_call(child):
            block.pieces.append(_Unit("", OBJECT, -1, lang, plain=False))
        elif tag == "br":
            block.pieces.append(_Unit("", "\n", -1, lang, plain=False))
        elif tag in INLINE_TAGS:
            inside = child.get("lang") or lang
            self._add_text(block, child, "text", inside)
            for grandchild in child:
                block = self._visit_child(grandchild, inside, block, blocks)
        else:
            self._visit_block(child, lang, blocks)
            block = _Block()
            blocks.append(block)
        self._add_text(block, child, "tail", lang)
        return block

    def _add_text(self, block: _Block, el: ET.Element, attr: str, lang: str) -> None:
        text = getattr(el, attr)
        if not text:
            return
        if not block.busy:
            block.busy = "'" in text or '"' in text or (uses_french_spacing(lang) and any(ch in text for ch in _FRENCH_BUSY))
        block.slots.append((el, attr))
        block.pieces.append((len(block.slots) - 1, text, lang))

    def _units(self, block: _Block) -> list[_Unit]:
        """The block's text as units, built only for blocks that have something to educate."""
        units: list[_Unit] = []
        for piece in block.pieces:
            if isinstance(piece, _Unit):
                units.append(piece)
                continue
            slot, text, lang = piece
            for token in _TOKEN_RE.findall(text):
                if token[0] == "\x02":
                    units.append(_Unit(token, self._meaning(token), slot, lang, plain=False))
                else:
                    units.append(_Unit(token, token, slot, lang))
        return units

    def _meaning(self, placeholder: str) -> str:
        """What a placeholder stands for: an escaped character, a smarty dash or ellipsis, or raw HTML."""
        escaped = _ESCAPED_RE.fullmatch(placeholder)
        if escaped:
            return chr(int(escaped.group(1)))
        stashed = _STASHED_RE.fullmatch(placeholder)
        if stashed:
            blocks = self.md.htmlStash.rawHtmlBlocks
            index = int(stashed.group(1))
            content = blocks[index] if index < len(blocks) else None
            if isinstance(content, str) and content and "<" not in content and "&" not in content:
                return content
        return OBJECT


def _is_note_call(el: ET.Element) -> bool:
    """A footnote call (``<sup><a class="footnote-ref">``): a mark, not text of the sentence."""
    return el.tag == "sup" and any("footnote-ref" in (a.get("class") or "") for a in el.iter("a"))


def _seen(units: list[_Unit], index: int, last: bool) -> str | None:
    if 0 <= index < len(units):
        seen = units[index].seen
        return (seen[-1] if last else seen[0]) if seen else None
    return None


def _is_space(ch: str | None) -> bool:
    return ch is None or ch in _SPACES or ch.isspace()


def _is_word(ch: str | None) -> bool:
    return ch is not None and (ch.isalnum() or ch == OBJECT)


def educate(units: list[_Unit]) -> None:
    """Turn the straight quotes among ``units`` into the quotes and apostrophes of their language."""
    # The quotes open so far in this block: (kind, closing mark).
    stack: list[tuple[str, str]] = []
    for i, unit in enumerate(units):
        if not unit.plain or unit.raw not in ("'", '"'):
            continue
        before, after = _seen(units, i - 1, last=True), _seen(units, i + 1, last=False)
        previous = units[i - 1] if i > 0 else None
        opening_side = _is_space(before) or before in _OPENING_CONTEXT or (previous is not None and previous.role == "open")
        kind = "double" if unit.raw == '"' else "single"
        is_open = any(k == kind for k, _ in stack)
        if kind == "single" and any(ch is not None and is_cjk(ch) for ch in (before, after)):
            # Chinese and Japanese have no apostrophes and no spaces: a ' between characters quotes.
            role = "close" if is_open else "open"
        elif kind == "single":
            if _is_word(before) and _is_word(after):
                role = "apostrophe"  # don't, O'Reilly, aujourd'hui
            elif opening_side and _elided(units, i):
                role = "apostrophe"  # '80s, 'tis, 's avonds
            elif opening_side:
                role = "open" if not _is_space(after) else ("close" if is_open else None)
            elif is_open:
                role = "close"
            else:
                # After a letter, with no single quote open: an apostrophe (Hans', fass' es); after
                # punctuation and before a word (said,'Yes'): an opening quote.
                role = "open" if not _is_word(before) and _is_word(after) else "apostrophe"
        elif opening_side:
            role = "open" if not _is_space(after) else ("close" if is_open else None)
        else:
            role = "close" if is_open or not _is_word(after) else "open"
        if role is None:
            continue  # a lone quote between spaces stays as typed
        unit.role = role
        primary_open, primary_close, secondary_open, secondary_close = quote_marks(unit.lang)
        if role == "apostrophe":
            unit.raw = APOSTROPHE
        elif role == "open":
            unit.raw = primary_open if kind == "double" else secondary_open
            stack.append((kind, primary_close if kind == "double" else secondary_close))
        else:
            closing = primary_close if kind == "double" else secondary_close
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][0] == kind:
                    # Close with the mark of the language the quote was opened in.
                    closing = stack[depth][1]
                    del stack[depth:]
                    break
            unit.raw = closing
        unit.seen = unit.raw


def _elided(units: list[_Unit], i: int) -> bool:
    """Whether the ``'`` at ``i`` stands for letters left out at the start of a word ('80s, 'tis)."""
    following = "".join(u.seen for u in units[i + 1 : i + 8])
    if re.match(r"\d\d(?!\d)", following):
        return True
    pattern = _LEADING_ELISIONS.get(_primary(units[i].lang))
    return bool(pattern and pattern.match(following))


@lru_cache(maxsize=64)
def _primary(language: str) -> str:
    return LanguageTag.parse(language).language


def french_spacing(units: list[_Unit]) -> list[_Unit]:
    """A narrow no-break space inside « » and before ; : ! ? in French text (typed spaces are replaced)."""
    out: list[_Unit] = []
    i = 0
    while i < len(units):
        unit = units[i]
        french = unit.plain and uses_french_spacing(unit.lang)
        if french and unit.raw and unit.raw in "\u00ab\u2039":
            out.append(unit)
            j = i + 1
            while j < len(units) and units[j].plain and _is_space(units[j].raw):
                j += 1
            if j < len(units):
                out.append(_Unit(NNBSP, NNBSP, unit.slot, unit.lang))
            i = j
            continue
        if french and unit.raw and (unit.raw in "\u00bb\u203a" or (unit.raw in _FRENCH_PUNCT and _spaced(units, i))):
            removed = False
            while out and out[-1].plain and out[-1].raw and _is_space(out[-1].raw):
                out.pop()
                removed = True
            previous = out[-1].seen[-1:] if out and out[-1].seen else ""
            glued = previous in "!?" and not removed and unit.raw in "!?"  # "?!" is one mark
            if out and not glued and previous not in ("\u00ab", "\u2039"):
                out.append(_Unit(NNBSP, NNBSP, unit.slot, unit.lang))
            out.append(unit)
            i += 1
            continue
        out.append(unit)
        i += 1
    return out


def _spaced(units: list[_Unit], i: int) -> bool:
    """Whether ; : ! ? at ``i`` takes a space before it: it ends a word, not "10:30" or "http://"."""
    j = i - 1
    while j >= 0 and units[j].plain and _is_space(units[j].raw):
        j -= 1
    if j < 0:
        return False
    before = _seen(units, j, last=True)
    after = _seen(units, i + 1, last=False)
    if units[i].raw == ":" and before is not None and before.isdigit() and after is not None and after.isdigit():
        return False
    return _is_space(after) or after in _FRENCH_AFTER


def _write_back(block: _Block) -> None:
    texts: list[list[str]] = [[] for _ in block.slots]
    for unit in block.units:
        if unit.slot >= 0:
            texts[unit.slot].append(unit.raw)
    for (el, attr), parts in zip(block.slots, texts):
        setattr(el, attr, "".join(parts))


class SmartQuotesExtension(Extension):
    """Registers :class:`SmartQuotes` after smarty (6) and before the unescaping of ``\\"`` (0)."""

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Python-Markdown API)
        md.treeprocessors.register(SmartQuotes(md, self.language), "bookmaker_quotes", 5)


def educate_text(text: str, language: str) -> str:
    """A plain string (a book.yaml title) with the quotes, apostrophes and French spacing of ``language``."""
    if "'" not in text and '"' not in text and not uses_french_spacing(language):
        return text
    holder = ET.Element("p")
    holder.text = text
    SmartQuotes(Markdown(), language).run(holder)
    return holder.text or ""
