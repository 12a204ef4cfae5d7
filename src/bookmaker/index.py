"""The back-of-book index: markers from ``[term]{.index}`` spans, the entry tree, locators and markup.

The pass (``collect_index``) runs once on the Book: every index span becomes a marker with a
stable id, and the entries of every index are built from them (and from ``index.yaml``).
Builders turn an index into markup with ``render_index``, given how a marker is labelled:
by its printed page (``PageLabels``, from the print layout of this run) or, in an EPUB built
without the PDF, by where it is (``PlaceLabels``: the chapter, never a fake page number).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from bookmaker.collation import OTHER, letter_group, sort_key
from bookmaker.config import parse_yaml
from bookmaker.errors import ConfigError, Report, format_location
from bookmaker.log import warn
from bookmaker.markup import line_in_file
from bookmaker.model import Book, Chapter

#: The index a marker belongs to without ``index=``.
DEFAULT_INDEX = "subject"
#: Sub-entries go this deep (main entry, sub-entry, sub-sub-entry), as in makeindex.
MAX_LEVELS = 3
#: The optional file of cross-references and sort keys, next to book.yaml.
INDEX_FILE = "index.yaml"
OPS_NS = "http://www.idpf.org/2007/ops"
EN_DASH = "\u2013"
_EMPHASIS_RE = re.compile(r"\*([^*]+)\*|_([^_]+)_")


@dataclass
class Marker:
    """One index span in the text: where it is and what it says."""

    id: str
    chapter: str
    index: str
    path: tuple[str, ...]
    sort: tuple[str, ...] = ()
    see: str | None = None
    see_also: str | None = None
    range: str | None = None
    principal: bool = False
    in_note: bool = False
    source: Path | None = None
    line: int | None = None


@dataclass
class Locator:
    """A place an entry points to: one marker, or a range from an open to a close marker."""

    start: Marker
    end: Marker | None = None

    @property
    def principal(self) -> bool:
        return self.start.principal or bool(self.end and self.end.principal)

    @property
    def in_note(self) -> bool:
        return self.start.in_note


@dataclass
class Entry:
    """A heading of the index with its locators, cross-references and sub-entries."""

    term: str
    sort: str
    level: int
    id: str = ""
    locators: list[Locator] = field(default_factory=list)
    see: list[str] = field(default_factory=list)
    see_also: list[str] = field(default_factory=list)
    children: dict[str, Entry] = field(default_factory=dict)


@dataclass
class Index:
    """One index of the book (``subject`` unless the markers name another)."""

    name: str
    entries: dict[str, Entry] = field(default_factory=dict)
    markers: list[Marker] = field(default_factory=list)

    def entry(self, path: Iterable[str]) -> Entry | None:
        """The entry at ``path`` (("Xiaomi", "founding")), or None."""
        level: dict[str, Entry] = self.entries
        found = None
        for term in path:
            found = level.get(term)
            if found is None:
                return None
            level = found.children
        return found


@dataclass
class Shown:
    """A locator as printed: its text, where it links to, and how it is set."""

    text: str
    target: Marker
    end_text: str | None = None
    end_target: Marker | None = None
    principal: bool = False


# ---- the pass ---------------------------------------------------------------------------------


def split_path(value: str) -> tuple[str, ...]:
    """``"Xiaomi!founding!first office"`` -> the levels, trimmed (``\\!`` is a literal "!")."""
    parts = [p.replace("\x00", "!").strip() for p in value.replace("\\!", "\x00").split("!")]
    return tuple(p for p in parts if p)


def collect_index(book: Book, report: Report | None = None) -> None:
    """Find every index span, give it a stable id, and build ``book.indexes``."""
    indexes: dict[str, Index] = {}
    language = book.config.language
    for chapter in book.chapters:
        count = 0
        trees = [(chapter.body, False)] + [(note.body, True) for note in chapter.notes]
        for tree, in_note in trees:
            for span in tree.iter("span"):
                if "index" not in (span.get("class") or "").split():
                    continue
                count += 1
                marker = _marker(chapter, span, count, in_note)
                if marker is not None:
                    indexes.setdefault(marker.index, Index(marker.index)).markers.append(marker)
    extra = read_index_file(book)
    for name in {item[0] for item in extra}:
        indexes.setdefault(name, Index(name))
    for index in indexes.values():
        _build_entries(index, [item[1:] for item in extra if item[0] == index.name], language)
    book.indexes = dict(sorted(indexes.items()))
    _check_placement(book)


def _marker(chapter: Chapter, span: etree._Element, count: int, in_note: bool) -> Marker | None:
    text = " ".join("".join(span.itertext()).split())
    entry = span.get("data-entry") or text
    line = line_in_file(chapter.source, f'entry="{entry}"') or (line_in_file(chapter.source, f"[{text}]") if text else None)
    path = split_path(entry)
    if not path:
        warn("index marker without an entry: give it text or entry=\"…\"", chapter.source, line, code="BM700")
        return None
    if len(path) > MAX_LEVELS:
        warn(f"index entry '{entry}' has {len(path)} levels; at most {MAX_LEVELS} are kept", chapter.source, line, code="BM701")
        path = path[:MAX_LEVELS]
    if not span.get("id"):
        span.set("id", f"ix-{chapter.id}-{count}")
    marker = Marker(
        id=span.get("id"),
        chapter=chapter.id,
        index=(span.get("data-index") or DEFAULT_INDEX).strip() or DEFAULT_INDEX,
        path=path,
        sort=split_path(span.get("data-sort") or ""),
        see=span.get("data-see"),
        see_also=span.get("data-see-also"),
        range=(span.get("data-range") or "").lower() or None,
        principal=(span.get("data-mention") or "").lower() == "principal",
        in_note=in_note,
        source=chapter.source,
        line=line,
    )
    if marker.range not in (None, "open", "close"):
        warn(f"index range '{marker.range}' must be open or close", chapter.source, line, code="BM702")
        marker.range = None
    # The index attributes have served; the span stays as the marker's anchor.
    for key in [k for k in span.attrib if k.startswith("data-")]:
        del span.attrib[key]
    return marker


def read_index_file(book: Book) -> list[tuple[str, tuple[str, ...], str | None, list[str], list[str], Path, int | None]]:
    """``index.yaml``: entries with ``see``, ``see_also`` and ``sort``, without touching the chapters.

    Returns (index, path, sort, see, see_also, file, line) per entry.
    """
    path = book.config.root / INDEX_FILE
    if not path.is_file():
        return []
    data = parse_yaml(path.read_text(encoding="utf-8"), path)
    if data is None:
        return []
    if not isinstance(data, dict):
        raise ConfigError([format_location(path, 1, "index.yaml must map entries to their see, see_also or sort")])
    lines = getattr(data, "lines", {})
    problems: list[str] = []
    out = []
    for key, value in data.items():
        line = lines.get(key)
        line = line if isinstance(line, int) else None
        value = {} if value is None else value
        if isinstance(value, str):
            value = {"see": value}
        if not isinstance(value, dict):
            problems.append(format_location(path, line, f"'{key}': expected see, see_also, sort or index"))
            continue
        unknown = [k for k in value if k not in ("see", "see_also", "see-also", "sort", "index")]
        if unknown:
            problems.append(format_location(path, line, f"'{key}': unknown key '{unknown[0]}' (use see, see_also, sort or index)"))
            continue

        def names(item: object) -> list[str]:
            if item is None:
                return []
            return [str(v) for v in item] if isinstance(item, list) else [str(item)]

        out.append((str(value.get("index") or DEFAULT_INDEX), split_path(str(key)),
                    str(value["sort"]) if value.get("sort") is not None else None,
                    names(value.get("see")), names(value.get("see_also", value.get("see-also"))), path, line))
    if problems:
        raise ConfigError(problems)
    return out


def _build_entries(index: Index, extra: list, language: str) -> None:  # type: ignore[type-arg]
    opened: dict[tuple[str, ...], list[Marker]] = {}

    def node(path: tuple[str, ...], sorts: tuple[str, ...]) -> Entry:
        level = index.entries
        entry = None
        for depth, term in enumerate(path):
            entry = level.get(term)
            if entry is None:
                entry = level[term] = Entry(term=term, sort=term, level=depth + 1)
            if depth < len(sorts) and sorts[depth]:
                entry.sort = sorts[depth]
            level = entry.children
        assert entry is not None
        return entry

    for marker in index.markers:
        entry = node(marker.path, marker.sort)
        if marker.see:
            if marker.see not in entry.see:
                entry.see.append(marker.see)
            continue  # a "see" entry has no locators (CMOS 16.15)
        if marker.see_also and marker.see_also not in entry.see_also:
            entry.see_also.append(marker.see_also)
        if marker.range == "open":
            opened.setdefault(marker.path, []).append(marker)
        elif marker.range == "close":
            starts = opened.get(marker.path)
            if not starts:
                warn(f"index range for '{'!'.join(marker.path)}' closed but never opened", marker.source, marker.line, code="BM703")
                entry.locators.append(Locator(marker))
            else:
                entry.locators.append(Locator(starts.pop(), marker))
        else:
            entry.locators.append(Locator(marker))
    for path, starts in opened.items():
        for marker in starts:
            warn(f"index range for '{'!'.join(path)}' opened but never closed", marker.source, marker.line, code="BM703")
            node(path, ()).locators.append(Locator(marker))
    for entry_path, sort, see, see_also, _file, _line in extra:
        entry = node(entry_path, ())
        if sort:
            entry.sort = split_path(sort)[-1] if "!" in sort else sort
        entry.see += [s for s in see if s not in entry.see]
        entry.see_also += [s for s in see_also if s not in entry.see_also]
    _assign_ids(index)
    _check_xrefs(index, extra)
    _warn_unsorted(index, language)


def _assign_ids(index: Index) -> None:
    from bookmaker.transforms import slugify

    taken: set[str] = set()

    def walk(entries: dict[str, Entry], prefix: str) -> None:
        for entry in entries.values():
            base = f"{prefix}-{slugify(entry.term) or 'entry'}"
            candidate, n = base, 2
            while candidate in taken:
                candidate, n = f"{base}-{n}", n + 1
            taken.add(candidate)
            entry.id = candidate
            walk(entry.children, candidate)

    walk(index.entries, f"ixe-{index.name}")


def _check_xrefs(index: Index, extra: list) -> None:  # type: ignore[type-arg]
    """A see / see also that names no entry of its index is a warning (the reader would find nothing)."""
    origins: dict[str, tuple[Path | None, int | None]] = {}
    for marker in index.markers:
        for target in (marker.see, marker.see_also):
            if target:
                origins.setdefault(target, (marker.source, marker.line))
    for _path, _sort, see, see_also, file, line in extra:
        for target in see + see_also:
            origins.setdefault(target, (file, line))
    for target, (source, line) in origins.items():
        if index.entry(split_path(target)) is None:
            warn(f"index cross-reference to '{target}', which is not an entry of the {index.name} index",
                 source, line, code="BM704")


def _warn_unsorted(index: Index, language: str) -> None:
    """An entry in a script without an alphabet and no sort key would be filed at the end; say so."""
    warned: set[str] = set()
    for marker in index.markers:
        head = index.entries.get(marker.path[0])
        if (head is not None and head.term not in warned and head.sort == head.term
                and letter_group(head.term, language) == OTHER):
            warned.add(head.term)
            warn(f"index entry '{head.term}' has no sort key; add sort=\"…\" (for Chinese names, the pinyin)",
                 marker.source, marker.line, code="BM705")


def _check_placement(book: Book) -> None:
    """Each index prints where a ``kind: index`` file names it; markers of an index with no such file are lost."""
    placed = {chapter.index or DEFAULT_INDEX for chapter in book.chapters if chapter.kind == "index"}
    for name, index in book.indexes.items():
        if name not in placed and index.markers:
            first = index.markers[0]
            hint = "" if name == DEFAULT_INDEX else f" and 'index: {name}'"
            warn(f"{len(index.markers)} markers for the {name} index, but no file with 'kind: index'{hint} in the "
                 "contents: that index is not printed", first.source, first.line, code="BM706")


# ---- ordering -------------------------------------------------------------------------------


def ordered(entries: dict[str, Entry], language: str) -> list[Entry]:
    """Entries in collation order (word by word; numbers and symbols first)."""
    return sorted(entries.values(), key=lambda e: (sort_key(e.sort, language), sort_key(e.term, language), e.term))


def groups(index: Index, language: str) -> list[tuple[str, list[Entry]]]:
    """The letter groups of an index: (group, entries), symbols first and other scripts last."""
    out: list[tuple[str, list[Entry]]] = []
    for entry in ordered(index.entries, language):
        group = letter_group(entry.sort, language)
        if out and out[-1][0] == group:
            out[-1][1].append(entry)
        else:
            out.append((group, [entry]))
    # Collation already puts symbols first; entries of other scripts go together at the end.
    other = [e for g, es in out if g == OTHER for e in es]
    out = [(g, es) for g, es in out if g != OTHER]
    merged: list[tuple[str, list[Entry]]] = []
    for group, entries in out:
        if merged and merged[-1][0] == group:
            merged[-1][1].extend(entries)
        else:
            merged.append((group, entries))
    if other:
        merged.append((OTHER, other))
    return merged


# ---- locators ---------------------------------------------------------------------------------


def elide(first: int, last: int) -> str:
    """An inclusive range of page numbers as CMOS 9.64 sets it: 45–47, 100–104, 101–8, 321–28, 1496–1500."""
    a, b = str(first), str(last)
    if first < 100 or first % 100 == 0 or last <= first or len(a) != len(b):
        return f"{a}{EN_DASH}{b}"
    differ = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
    if first % 100 < 10:
        kept = b[differ:]  # 101–8, 808–33, 1103–4: only the part that changes
    else:
        keep = max(2, len(b) - differ)  # 321–28, 498–532, 11564–615
        if len(b) == 4 and keep == 3:
            keep = 4  # 1496–1500 (CMOS keeps all four digits when three change)
        kept = b[-keep:]
    return f"{a}{EN_DASH}{kept}"


class PageLabels:
    """Locators as printed page numbers: one per page, consecutive pages joined, ranges elided."""

    def __init__(self, folio_of: Callable[[str], str | None], folios: list[str]) -> None:
        self.folio_of = folio_of
        self.order = {label: i for i, label in enumerate(folios)}
        self.folios = folios

    def shown(self, locators: list[Locator]) -> list[Shown]:
        # (first page, last page, principal, in note, start marker, end marker)
        spans: list[tuple[int, int, bool, bool, Marker, Marker | None]] = []
        for loc in locators:
            start = self.order.get(self.folio_of(loc.start.id) or "")
            if start is None:
                continue
            end = start
            if loc.end is not None:
                end = self.order.get(self.folio_of(loc.end.id) or "", start)
            spans.append((start, max(start, end), loc.principal, loc.in_note, loc.start, loc.end))
        spans.sort(key=lambda s: (s[3], s[0], s[1]))
        merged: list[list] = []  # type: ignore[type-arg]
        for first, last, principal, note, start, end in spans:
            if merged:
                prev = merged[-1]
                joinable = (prev[3] == note and not note and prev[2] == principal
                            and first <= prev[1] + 1 and self._same_run(prev[1], first))
                if note and prev[3] and prev[0] == first:
                    continue  # several note markers on one page: one "45n"
                if joinable:
                    if last > prev[1]:
                        prev[1], prev[5] = last, end or start
                    continue
            merged.append([first, last, principal, note, start, end if last > first else None])
        merged.sort(key=lambda s: (s[0], s[3]))
        out = []
        for first, last, principal, note, start, end in merged:
            a, b = self.folios[first], self.folios[last]
            if note:
                out.append(Shown(f"{a}n", start, principal=principal))
            elif first == last:
                out.append(Shown(a, start, principal=principal))
            else:
                text = elide(int(a), int(b)) if a.isdigit() and b.isdigit() else f"{a}{EN_DASH}{b}"
                head, _, tail = text.partition(EN_DASH)
                out.append(Shown(head, start, tail, end or start, principal))
        return out

    def _same_run(self, a: int, b: int) -> bool:
        """Roman front-matter folios and arabic body folios never join into one range."""
        return self.folios[a].isdigit() == self.folios[b].isdigit()


class PlaceholderLabels:
    """Locators of a first layout, before any page is known: one two-digit stand-in per locator
    (about as wide as the real numbers, so that the index takes about as many pages)."""

    def shown(self, locators: list[Locator]) -> list[Shown]:
        return [Shown("00", loc.start, principal=loc.principal) for loc in locators]


class PlaceLabels:
    """Locators of an ebook built without its print edition: the chapter each marker is in.

    Several markers of one entry in one chapter are told apart by a sequence ("ch. 3", "ch. 3 (2)").
    """

    def __init__(self, book: Book) -> None:
        from bookmaker.labels import labels_for

        labels = labels_for(book.config)
        self.note = labels("index_note")
        self.names: dict[str, str] = {}
        for chapter in book.chapters:
            number = getattr(chapter, "number_label", None) or chapter.number
            if chapter.kind == "chapter" and number:
                self.names[chapter.id] = labels("index_chapter", number=number).replace(" ", "\u00a0")
            else:
                self.names[chapter.id] = chapter.title

    def shown(self, locators: list[Locator]) -> list[Shown]:
        seen: dict[str, int] = {}
        out = []
        for loc in locators:
            name = self.names.get(loc.start.chapter, loc.start.chapter)
            seen[name] = seen.get(name, 0) + 1
            label = name if seen[name] == 1 else f"{name} ({seen[name]})"
            if loc.in_note:
                label += f", {self.note}"
            out.append(Shown(label, loc.start, principal=loc.principal))
        return out


# ---- markup -----------------------------------------------------------------------------------


def term_markup(parent: etree._Element, text: str) -> None:
    """Append ``text`` to ``parent`` with ``*emphasis*`` as <i> (titles of books in entries)."""
    pos = 0
    last: etree._Element | None = None
    for match in _EMPHASIS_RE.finditer(text):
        _append_text(parent, last, text[pos:match.start()])
        last = etree.SubElement(parent, "i")
        last.text = match.group(1) or match.group(2)
        pos = match.end()
    _append_text(parent, last, text[pos:])


def _append_text(parent: etree._Element, last: etree._Element | None, text: str) -> None:
    if not text:
        return
    if last is None:
        parent.text = (parent.text or "") + text
    else:
        last.tail = (last.tail or "") + text


def display_path(path: str) -> str:
    """A cross-reference target as printed: "Xiaomi!founding" -> "Xiaomi: founding"."""
    return ": ".join(split_path(path))


@dataclass
class IndexStyle:
    """How one builder writes an index: its link targets and whether it writes EPUB semantics."""

    href: Callable[[Marker], str]
    epub: bool
    heading_level: int = 2
    #: The id of the title the index section is labelled by (EPUB).
    labelled_by: str | None = None
    #: Entries that begin a column or page in print, under a main entry begun before: a
    #: "Xiaomi (continued)" line goes before each, as the Chicago Manual advises.
    continued: frozenset[str] = frozenset()
    continued_label: str = "{term} (continued)"
    #: Group headings: "" is numbers and symbols, OTHER is other scripts.
    group_names: dict[str, str] = field(default_factory=lambda: {"": "Numbers and symbols", OTHER: "Other scripts"})
    see: str = "See"
    see_also: str = "See also"


def render_index(index: Index, labels: PageLabels | PlaceLabels | PlaceholderLabels, style: IndexStyle, language: str) -> etree._Element:
    """The entries of ``index`` as nested lists in letter groups (EPUB Indexes 1.0 markup when ``style.epub``)."""

    def typed(el: etree._Element, kind: str) -> etree._Element:
        if style.epub:
            el.set(f"{{{OPS_NS}}}type", kind)
        return el

    root = etree.Element("section", {"class": f"index-entries index-{index.name}"})
    if style.epub:
        typed(root, "index")
        root.set("role", "doc-index")
        if style.labelled_by:
            root.set("aria-labelledby", style.labelled_by)
    for group, entries in groups(index, language):
        section = typed(etree.SubElement(root, "section", {"class": "index-group"}), "index-group")
        heading = etree.SubElement(section, f"h{style.heading_level}", {"class": "index-letter"})
        heading.text = style.group_names.get(group, group)
        section.set("id", f"ixg-{index.name}-{_group_slug(group)}")
        ul = typed(etree.SubElement(section, "ul", {"class": "index-list"}), "index-entry-list")
        for entry in entries:
            _render_entry(ul, entry, index, labels, style, language, typed, entry)
    return root


def _group_slug(group: str) -> str:
    if group == "":
        return "symbols"
    if group == OTHER:
        return "other"
    return "u" + "-".join(f"{ord(c):x}" for c in group)


def _render_entry(ul, entry: Entry, index: Index, labels, style: IndexStyle, language: str, typed, main: Entry) -> None:  # type: ignore[no-untyped-def]
    if entry.id in style.continued and entry.level > 1 and not style.epub:
        again = etree.SubElement(ul, "li", {"class": f"index-continued level-{entry.level}", "data-for": entry.id})
        head, _, tail = style.continued_label.partition("{term}")
        again.text = head
        term_markup(again, main.term)
        last = again[-1] if len(again) else None
        _append_text(again, last, tail)
    li = typed(etree.SubElement(ul, "li", {"class": f"index-entry level-{entry.level}", "id": entry.id}), "index-entry")
    li.set("data-term", entry.term)
    term = typed(etree.SubElement(li, "span", {"class": "index-term"}), "index-term")
    term_markup(term, entry.term)
    tail_of: list[etree._Element] = [term]

    def text(value: str) -> None:
        tail_of[-1].tail = (tail_of[-1].tail or "") + value

    shown = labels.shown(entry.locators)
    for item in shown:
        text(", ")
        if item.end_text is None:
            a = typed(etree.SubElement(li, "a", {"class": "index-locator", "href": style.href(item.target)}), "index-locator")
            _set_label(a, item.text, item.principal)
            tail_of.append(a)
        else:
            rng = typed(etree.SubElement(li, "span", {"class": "index-range"}), "index-locator-range")
            start = etree.SubElement(rng, "a", {"class": "index-locator", "href": style.href(item.target)})
            _set_label(start, item.text, item.principal)
            start.tail = EN_DASH
            end = etree.SubElement(rng, "a", {"class": "index-locator", "href": style.href(item.end_target or item.target)})
            _set_label(end, item.end_text, item.principal)
            tail_of.append(rng)
    # "See" replaces locators; "see also" follows them (CMOS 16.16-17). An entry cannot carry
    # both in EPUB Indexes 1.0, and a "see" entry has nothing to add to.
    refs, kind, word = ((entry.see, "index-xref-preferred", style.see) if entry.see
                        else (entry.see_also, "index-xref-related", style.see_also))
    if refs:
        sub = entry.level > 1
        text(" (" if sub else ". ")
        em = etree.SubElement(li, "i", {"class": "index-see"})
        em.text = word.lower() if sub else word
        tail_of.append(em)
        for n, target in enumerate(sorted(refs, key=lambda r: sort_key(r, language))):
            text(" " if n == 0 else "; ")
            found = index.entry(split_path(target))
            ref = typed(etree.SubElement(li, "a" if found else "span", {"class": "index-xref"}), kind)
            if found:
                ref.set("href", f"#{found.id}")
            term_el = typed(etree.SubElement(ref, "span"), "index-term")
            term_markup(term_el, display_path(target))
            tail_of.append(ref)
        if sub:
            text(")")
    if entry.children:
        sub_ul = typed(etree.SubElement(li, "ul", {"class": "index-list"}), "index-entry-list")
        for child in ordered(entry.children, language):
            _render_entry(sub_ul, child, index, labels, style, language, typed, main)


def _set_label(a: etree._Element, text: str, principal: bool) -> None:
    if principal:
        b = etree.SubElement(a, "b")
        b.text = text
    else:
        a.text = text


def page_targets(book: Book) -> set[str]:
    """The ids whose printed page some generated text needs: index markers and ``{page}`` targets."""
    placed = {chapter.index or DEFAULT_INDEX for chapter in book.chapters if chapter.kind == "index"}
    ids = {m.id for name, index in book.indexes.items() if name in placed for m in index.markers}
    for chapter in book.chapters:
        for tree in [chapter.body] + [n.body for n in chapter.notes]:
            ids.update(span.get("data-target") for span in tree.iter("span")
                       if span.get("class") == "xref-page" and span.get("data-target"))
    return ids


def has_entries(index: Index | None) -> bool:
    """Whether an index has anything to print."""
    return bool(index and index.entries)
