"""Recognise Chinese, Japanese and Korean text and wrap its runs, so each output can set them in the CJK face."""

from __future__ import annotations

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


def is_cjk(ch: str) -> bool:
    """Whether ``ch`` is a character of CJK text."""
    code = ord(ch)
    return any(low <= code <= high for low, high in CJK_BLOCKS)


def split_runs(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into runs of CJK and of other characters: [(run, is CJK), ...]."""
    runs: list[tuple[str, bool]] = []
    for ch in text:
        cjk = is_cjk(ch)
        if runs and runs[-1][1] == cjk:
            runs[-1] = (runs[-1][0] + ch, cjk)
        else:
            runs.append((ch, cjk))
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
        if el.text and any(is_cjk(ch) for ch in el.text):
            el.text, spans = _spans(el.text, make_span)
            for index, span in enumerate(spans):
                el.insert(index, span)
            changed = True
        if el is not root and el.tail and any(is_cjk(ch) for ch in el.tail):
            el.tail, spans = _spans(el.tail, make_span)
            parent = el.getparent()
            at = parent.index(el) + 1
            for index, span in enumerate(spans):
                parent.insert(at + index, span)
            changed = True
    return changed
