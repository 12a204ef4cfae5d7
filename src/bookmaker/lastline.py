"""Print paragraph endings: the last word is never hyphenated, and a short last word does not stand alone on the last line."""

from __future__ import annotations

import re

from lxml import etree

from bookmaker.cjk import is_cjk

#: The class of the span around a paragraph's last words (``hyphens: manual`` in print.css).
LAST_WORDS_CLASS = "last-words"
#: A last word this short (in characters, punctuation included) is tied to the word before it
#: with a no-break space, so that it never makes a last line of its own ("son." under a full line).
SHORT_WORD = 7
#: ... unless the two words together are this long: a wide unbreakable pair would open up the
#: spacing of the line before.
MAX_TIED = 20
#: Elements whose text is not the paragraph's own (notes printed at the call) or is not prose.
_SKIP_CLASSES = {"footnote", "noteref-anchor", "noteref", "dropcap"}
_SKIP_TAGS = {"code", "kbd", "samp", "sup", "sub", "br", "img"}
_ENDING_RE = re.compile(r"(?:(\S+)([ \t\n]+))?(\S+)(\s*)$")


def _ending(text: str) -> re.Match[str] | None:
    """``_ENDING_RE.search(text)``, tried on the end of the text first.

    Searched from the start, the pattern (anchored at the end) is tried at every position of a
    long paragraph: a fifth of a build's HTML rendering.  A match in the tail that has both
    words and starts after the tail's first character is the leftmost match of the whole
    text: one starting earlier would have to hold the whitespace before that first word, and
    the pattern has no room for it.
    """
    for size in (160, 2000):
        offset = len(text) - size
        if offset <= 0:
            break
        match = _ENDING_RE.search(text, offset)
        if match is not None and match.group(1) is not None and match.start() > offset:
            return match
    return _ENDING_RE.search(text)


def _skipped(el: etree._Element) -> bool:
    return el.tag in _SKIP_TAGS or bool(_SKIP_CLASSES & set((el.get("class") or "").split()))


def _last_text(p: etree._Element) -> tuple[etree._Element, str] | None:
    """The element and attribute ('text' or 'tail') holding the paragraph's last prose text."""
    found: tuple[etree._Element, str] | None = None

    def walk(el: etree._Element) -> None:
        nonlocal found
        if el.text and el.text.strip():
            found = (el, "text")
        for child in el:
            if isinstance(child.tag, str) and not _skipped(child):
                walk(child)
            if child.tail and child.tail.strip():
                found = (child, "tail")

    walk(p)
    return found


def protect_ending(p: etree._Element) -> bool:
    """Wrap the last word (and a short one's predecessor, tied by U+00A0) of ``p`` in a span."""
    where = _last_text(p)
    if where is None:
        return False
    owner, attr = where
    text = getattr(owner, attr)
    match = _ending(text)
    if match is None or is_cjk(match.group(3)[-1]):
        return False
    before_word, space, word, trailing = match.groups()
    start = match.start(3)
    protected = word
    if before_word and len(word) <= SHORT_WORD and len(before_word) + len(word) < MAX_TIED:
        start = match.start(1)
        protected = f"{before_word}\u00a0{word}"
    span = etree.Element("span", {"class": LAST_WORDS_CLASS})
    span.text = protected
    span.tail = trailing
    setattr(owner, attr, text[:start])
    if attr == "text":
        owner.insert(0, span)
    else:
        parent = owner.getparent()
        parent.insert(parent.index(owner) + 1, span)
    return True


def protect_endings(body: etree._Element) -> None:
    """Every prose paragraph of a chapter body (not in tables, code or notes)."""
    for p in body.iter("p"):
        if any(a.tag in ("table", "pre", "figure") or _skipped(a) for a in p.iterancestors()):
            continue
        protect_ending(p)
