"""Index collation: Unicode Collation Algorithm keys (pyuca), word by word, with small locale tailorings.

Why pyuca: it is pure Python and installs from a wheel on any machine; PyICU has no wheels
and needs the ICU headers and a compiler (apparatus-and-press 1), which authors do not have.
pyuca gives the root collation (DUCET): symbols and punctuation before digits before letters,
accents and case as secondary and tertiary differences ("Emile" < "Émile" < "emu").  Locales
whose alphabets add letters after "z" (Swedish, Danish, Norwegian, Finnish) or between
letters (Spanish ñ) get the tailoring below; everything else uses the root order, which is
what ICU's root locale does too.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: Letters that a language sorts as letters of their own, in order, after the base letter
#: given (None: after "z").  CLDR collation tailorings, reduced to what an index needs.
TAILORINGS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "sv": (("å", None), ("ä", None), ("ö", None)),
    "fi": (("å", None), ("ä", None), ("ö", None)),
    "da": (("æ", None), ("ø", None), ("å", None)),
    "nb": (("æ", None), ("ø", None), ("å", None)),
    "nn": (("æ", None), ("ø", None), ("å", None)),
    "no": (("æ", None), ("ø", None), ("å", None)),
    "es": (("ñ", "n"),),
}
#: Code points with implicit (unassigned) weights, which sort after every assigned letter;
#: a tailored letter becomes its base letter followed by one of them.
_AFTER_BASE = 0x3FFF0
#: The group of entries in scripts without letters of the alphabet (give them a ``sort=`` key).
OTHER = "\uffff"
_DIGITS_RE = re.compile(r"\d+")
_MARKUP_RE = re.compile(r"[*_`]")
#: Leading punctuation that does not count for sorting ("'Hello'", "“Little Rice”", "(Mi)").
_LEADING_RE = re.compile(r"^[\s\"'“”‘’«»„(\[]+")


@lru_cache(maxsize=1)
def _collator():  # type: ignore[no-untyped-def]
    from pyuca import Collator

    return Collator()


def _tailor(text: str, language: str) -> str:
    rules = TAILORINGS.get(language.split("-")[0].lower())
    if not rules:
        return text
    out = []
    for ch in text:
        low = ch.lower()
        for rank, (letter, base) in enumerate(rules):
            if low == letter:
                out.append((base or "z") + chr(_AFTER_BASE + rank))
                break
        else:
            out.append(ch)
    return "".join(out)


def clean(text: str) -> str:
    """The text that is sorted: no emphasis markers, no leading quotes or brackets, NFC."""
    return _LEADING_RE.sub("", unicodedata.normalize("NFC", _MARKUP_RE.sub("", text))).strip()


def sort_key(text: str, language: str = "en", letter_by_letter: bool = False) -> tuple[int, ...]:
    """The collation key of an index heading.

    Word by word (the default, CMOS 16.59): a space sorts before every letter, so "New York"
    comes before "Newark".  Letter by letter ignores spaces and hyphens.  Numbers compare
    by value ("9" before "10").
    """
    text = clean(text)
    if letter_by_letter:
        text = re.sub(r"[\s\-\u2010\u2013]+", "", text)
    text = _DIGITS_RE.sub(lambda m: m.group(0).zfill(12), text)
    return tuple(_collator().sort_key(_tailor(text, language)))


def letter_group(text: str, language: str = "en") -> str:
    """The letter group heading of an entry: "A" … "Z", a tailored letter ("Ö"), or "" for
    numbers and symbols (which come first); an entry in another script gets its first character."""
    text = clean(text)
    if not text:
        return ""
    first = text[0]
    rules = TAILORINGS.get(language.split("-")[0].lower(), ())
    if any(first.lower() == letter for letter, _ in rules):
        return first.upper()
    base = unicodedata.normalize("NFKD", first)[0]
    if not base.isalpha():
        return ""
    if base.isascii():
        return base.upper()
    if unicodedata.category(base) == "Lo":  # CJK and other scripts without case: one group, last
        return OTHER
    return base.upper()
