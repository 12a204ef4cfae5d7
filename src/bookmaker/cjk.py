"""Recognise Chinese, Japanese and Korean text and wrap its runs, so each output can set them in the CJK face."""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

#: Unicode blocks set in the CJK face: radicals, CJK punctuation, kana, ideographs (with
#: extensions), hangul syllables, compatibility ideographs, vertical and full-width forms.
CJK_BLOCKS = (
    (0x2E80, 0x9FFF),
    (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF),
    (0xFE10, 0xFE1F),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF),
    (0x20000, 0x3FFFF),
)


# One character class of the blocks: the wrap runs over every text node of the book, and a
# regular expression scans it in C (a per-character Python loop cost seconds on a 400-page book).
_CJK_CLASS = "".join(f"{chr(low)}-{chr(high)}" for low, high in CJK_BLOCKS)
_CJK_RUN = re.compile(f"[{_CJK_CLASS}]+")
_HAS_CJK = re.compile(f"[{_CJK_CLASS}]")


def is_cjk(ch: str) -> bool:
    """Whether ``ch`` is a character of CJK text."""
    return _HAS_CJK.match(ch) is not None


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds any CJK character."""
    return _HAS_CJK.search(text) is not None


def split_runs(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into runs of CJK and of other characters: [(run, is CJK), ...]."""
    runs: list[tuple[str, bool]] = []
    at = 0
    for match in _CJK_RUN.finditer(text):
        if match.start() > at:
            runs.append((text[at:match.start()], False))
        runs.append((match.group(), True))
        at = match.end()
    if at < len(text):
        runs.append((text[at:], False))
    return runs


def _spans(text: str, make_span: Callable[[str], etree._Element]) -> tuple[str | None, list[etree._Element]]:
    """``text`` as leading text plus CJK spans whose tails carry the text in between."""
    lead: str | None = None
    spans: list[etree._Element] = []
    for run, cjk in split_runs(text):
        if cjk:
            spans.append(make_span(run))
        elif spans:
            spans[-1].tail = run
        else:
            lead = run
    return lead, spans


def wrap_runs(root: etree._Element, make_span: Callable[[str], etree._Element], css_class: str) -> bool:
    """Replace every CJK run under ``root`` by ``make_span(run)`` (spans of ``css_class`` are
    left alone, so wrapping twice changes nothing); True if anything was wrapped."""
    changed = False
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or el.get("class") == css_class:
            continue
        if el.text and has_cjk(el.text):
            el.text, spans = _spans(el.text, make_span)
            for index, span in enumerate(spans):
                el.insert(index, span)
            changed = True
        if el is not root and el.tail and has_cjk(el.tail):
            el.tail, spans = _spans(el.tail, make_span)
            parent = el.getparent()
            at = parent.index(el) + 1
            for index, span in enumerate(spans):
                parent.insert(at + index, span)
            changed = True
    return changed
