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


def page_sequence(page_map: dict[str, str], pages: Iterable[str] | None = None) -> list[str]:
    """Every printed folio: ``pages`` when the PDF gave them all, else derived from the page map.

    The page map only names pages on which some element starts; blank versos and pages
    wholly inside one long paragraph are missing, so each numbering run (roman front
    matter, then arabic) is filled in from its first page.
    """
    if pages:
        return list(pages)
    labels = set(page_map.values())
    romans = [v for v in (roman_value(label) for label in labels) if v]
    arabics = [int(label) for label in labels if label.isdigit()]
    sequence = [roman(n).lower() for n in range(1, max(romans, default=0) + 1)]
    sequence += [str(n) for n in range(1, max(arabics, default=0) + 1)]
    return sequence


def place_breaks(
    slots: Iterable[str], page_map: dict[str, str], inside: Iterable[str] = (), pages: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """For ids in ebook reading order, the folios whose page-break markers go before each id.

    A marker goes before the first element that starts on its page; pages that begin inside
    a block (``inside``) are left to ``insert_word_breaks``, which marks them at the word.  A
    page on which nothing starts (a blank verso) is marked together with the next page that
    has a marker, so every page is listed.
    Elements that come earlier in print than the place already reached (the ebook orders a
    few things differently) are passed over.
    """
    # Pages in ``inside`` begin within a block and are marked at the word (insert_word_breaks).
    skip = set(inside)
    sequence = [label for label in page_sequence(page_map, pages) if label not in skip]
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


def insert_word_breaks(tree: etree._Element, starts: dict[str, tuple[str, int]]) -> list[str]:
    """Put the marker of each page that begins inside a block before the word it begins with.

    ``starts`` maps a folio to (block id, words of the block printed on earlier pages), as the
    PDF reported it.  Words are counted as the PDF counts them: whitespace-separated runs of
    the block's text, leaving out note calls (printed as superscripts, but as a note number in
    the ebook text) and page-break markers.  Returns the folios placed, in text order.
    """
    by_block: dict[str, list[tuple[int, str]]] = {}
    for label, (block, words) in starts.items():
        by_block.setdefault(block, []).append((words, label))
    placed: list[tuple[int, str]] = []
    for el in list(tree.iter()):
        wanted = by_block.get(el.get("id") or "") if isinstance(el.tag, str) else None
        if wanted:
            placed += _mark_words(el, sorted(wanted))
    return [label for _, label in sorted(placed)]


def _skipped(el: etree._Element) -> bool:
    classes = (el.get("class") or "").split()
    return "noteref" in classes or el.get(f"{{{OPS_NS}}}type") in ("noteref", "pagebreak")


def _mark_words(block: etree._Element, wanted: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Insert markers before word number ``n`` (0-based) of ``block`` for each (n, folio)."""
    # Text slots in reading order: (element, 'text' or 'tail'), skipping note calls.
    slots: list[tuple[etree._Element, str]] = []

    def collect(el: etree._Element) -> None:
        slots.append((el, "text"))
        for child in el:
            if isinstance(child.tag, str) and not _skipped(child):
                collect(child)
            slots.append((child, "tail"))

    collect(block)
    count, in_word, done = 0, False, []
    queue = list(wanted)
    for el, kind in slots:
        text = getattr(el, kind) or ""
        cut = 0
        pieces: list[str | etree._Element] = []
        for i, ch in enumerate(text):
            if ch.isspace():
                in_word = False
                continue
            if not in_word:
                while queue and queue[0][0] == count:
                    pieces += [text[cut:i], pagebreak(queue[0][1])]
                    done.append((count, queue.pop(0)[1]))
                    cut = i
                count += 1
                in_word = True
        if not pieces:
            continue
        pieces.append(text[cut:])
        _splice(el, kind, pieces)
        if not queue:
            break
    return done


def _splice(el: etree._Element, kind: str, pieces: list) -> None:  # type: ignore[type-arg]
    """Replace ``el.text`` (or ``el.tail``) by alternating strings and marker elements."""
    strings, markers = pieces[0::2], pieces[1::2]
    if kind == "text":
        el.text = strings[0]
        for offset, (marker, after) in enumerate(zip(markers, strings[1:])):
            marker.tail = after
            el.insert(offset, marker)
    else:
        parent = el.getparent()
        el.tail = strings[0]
        at = parent.index(el) + 1
        for offset, (marker, after) in enumerate(zip(markers, strings[1:])):
            marker.tail = after
            parent.insert(at + offset, marker)


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
