"""Place the print edition's page breaks in the ebook text, from the PDF's page map."""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

from bookmaker.builders import roman

OPS_NS = "http://www.idpf.org/2007/ops"
_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
#: Parents that cannot take a <span> before a child (HTML content models: list and table parts
#: hold only items and rows; a figcaption must stay the first or last child of its figure).
_INSERT_INSIDE = frozenset("ol ul dl table thead tbody tfoot tr figure".split())


def roman_value(label: str) -> int | None:
    """The value of a lower-case roman numeral, or None if ``label`` is not one."""
    if not label or not re.fullmatch(r"[ivxlcdm]+", label):
        return None
    total = 0
    for ch, nxt in zip(label, label[1:] + " "):
        value = _ROMAN[ch]
        total += -value if nxt != " " and _ROMAN[nxt] > value else value
    return total


def page_sequence(page_map: dict[str, str]) -> list[str]:
    """Every printed folio from the first page to the last page on which an element starts.

    The page map only names pages on which some element starts; blank versos and pages
    wholly inside one long paragraph are missing, so each numbering run (roman front
    matter, then arabic) is filled in from its first page.
    """
    labels = set(page_map.values())
    romans = [v for v in (roman_value(label) for label in labels) if v]
    arabics = [int(label) for label in labels if label.isdigit()]
    sequence = [roman(n).lower() for n in range(1, max(romans, default=0) + 1)]
    sequence += [str(n) for n in range(1, max(arabics, default=0) + 1)]
    return sequence


def place_breaks(slots: Iterable[str], page_map: dict[str, str]) -> dict[str, list[str]]:
    """For ids in ebook reading order, the folios whose page-break markers go before each id.

    A marker goes before the first element that starts on its page.  A page on which no
    element starts (a blank verso, or a page inside one long paragraph) is marked together
    with the next page that has one, so every page is listed and every marker is in the text
    at or after the place where the page begins; this is accurate to the paragraph.
    Elements that come earlier in print than the place already reached (the ebook orders a
    few things differently) are passed over.
    """
    sequence = page_sequence(page_map)
    index = {label: i for i, label in enumerate(sequence)}
    reached = 0
    breaks: dict[str, list[str]] = {}
    for slot in slots:
        position = index.get(page_map.get(slot, ""))
        if position is None or position < reached:
            continue
        breaks[slot] = sequence[reached:position + 1]
        reached = position + 1
    return breaks


def pagebreak(label: str) -> etree._Element:
    """``<span epub:type="pagebreak" role="doc-pagebreak" id="page-N" aria-label="N"/>``."""
    span = etree.Element("span", {"id": f"page-{label}", "role": "doc-pagebreak", "aria-label": label})
    span.set(f"{{{OPS_NS}}}type", "pagebreak")
    return span


def pagebreak_xml(labels: list[str]) -> str:
    """Markers as XHTML source, for the start of a generated page."""
    return "".join(
        f'<span epub:type="pagebreak" role="doc-pagebreak" id="page-{label}" aria-label="{label}"></span>'
        for label in labels
    )


def insert_breaks(tree: etree._Element, breaks: dict[str, list[str]]) -> list[str]:
    """Put the markers for the ids found in ``tree`` before their elements; return their folios in order."""
    placed: list[str] = []
    for el in list(tree.iter()):
        labels = breaks.get(el.get("id") or "") if isinstance(el.tag, str) else None
        if not labels:
            continue
        markers = [pagebreak(label) for label in labels]
        parent = el.getparent()
        if parent is not None and parent.tag not in _INSERT_INSIDE:
            at = parent.index(el)
            for offset, marker in enumerate(markers):
                parent.insert(at + offset, marker)
        else:
            # A row starts with its first cell; an item or caption starts with its own text.
            target = next(iter(el), None) if el.tag == "tr" else el
            if target is None:
                continue
            markers[-1].tail, target.text = target.text, None
            for offset, marker in enumerate(markers):
                target.insert(offset, marker)
        placed.extend(labels)
    return placed
