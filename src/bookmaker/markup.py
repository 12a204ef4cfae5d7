"""Convert one chapter's Markdown into a format-neutral lxml tree with its notes and headings."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from pathlib import Path

import markdown
from lxml import etree, html
from markdown.extensions import Extension

from bookmaker.code import highlight_code
from bookmaker.errors import ManuscriptError
from bookmaker.layoutcache import code_digest
from bookmaker.limits import MAX_NESTING, check_markdown_shape, tree_depth
from bookmaker.log import warn
from bookmaker.model import ENDNOTE, FOOTNOTE, Heading, Note
from bookmaker.quotes import SmartQuotesExtension
from bookmaker.sanitize import sanitize_html
from bookmaker.spans import BracketSpanExtension

#: Python-Markdown extensions every chapter gets (issue 2: footnotes, smart quotes, tables, ...).
EXTENSIONS = [
    "footnotes",
    "smarty",
    "tables",
    "attr_list",
    "def_list",
    "abbr",
    "md_in_html",
    "fenced_code",
    "sane_lists",
]

_HTML_PARSER = html.HTMLParser(huge_tree=True)
_MISSING_NOTE_RE = re.compile(r"\[\^([^\]\s]+)\]")
#: A key phrase is at most this many words (issue 12).
KEY_WORDS = 6
# A sentence ends with . ! ? or … (and closing quotes or brackets), then a space.
_SENTENCE_END_RE = re.compile(r"[.!?\u2026][\"'\u201d\u2019\u00bb)\]]*\s+")
_TRAILING_PUNCT = " \t\n,.;:!?\u2026\"'\u201d\u2019\u00bb)]\u2014\u2013"
#: HTML's white space only: no-break spaces (French U+202F before "?") are part of the text.
_WS_RE = re.compile(r"[ \t\r\n\f]+")


@dataclass
class Markup:
    """What Markdown gives for one file, before book-wide transforms."""

    body: etree._Element
    notes: list[Note] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    title: str | None = None
    #: The id the author put on the title heading (``# Title {#id}``), if any.
    title_id: str | None = None
    #: Every id the author wrote (attribute lists, raw HTML, spans), the title's included.
    author_ids: frozenset[str] = frozenset()
    #: Every id this conversion made up (notes, note calls, headings without an id).
    made_ids: frozenset[str] = frozenset()


def new_markdown(language: str, smart: bool = True) -> markdown.Markdown:
    """A fresh Markdown instance (they keep state between conversions: one per file).

    ``smart=False`` (``smart_punctuation: false``) leaves quotes and dashes as typed.
    """
    extensions: list[str | Extension] = [*(EXTENSIONS if smart else [e for e in EXTENSIONS if e != "smarty"]), BracketSpanExtension()]
    if smart:
        # Quotes and apostrophes by language, following lang spans (bookmaker.quotes); smarty keeps dashes and ellipses.
        extensions.append(SmartQuotesExtension(language))
    return markdown.Markdown(
        extensions=extensions,
        extension_configs={
            # '-' instead of ':' keeps ids usable in CSS selectors (engine-notes 8.3).
            "footnotes": {"SEPARATOR": "-", "BACKLINK_TEXT": ""},
            "smarty": {
                "smart_quotes": False,
                # Characters, not named entities, so the output is well-formed XML.
                "substitutions": {"ndash": "\u2013", "mdash": "\u2014", "ellipsis": "\u2026"},
            },
        },
        output_format="html",
    )


@lru_cache(maxsize=1024)
def _converted(text: str, language: str, smart: bool) -> str:
    """Python-Markdown's HTML for ``text``: a pure function of its arguments, so a watch session
    converts again only the files that changed (about half of reading a 40-chapter book)."""
    return new_markdown(language, smart).convert(text)


def _convert(text: str, language: str, smart: bool) -> str:
    store = _STORE.get()
    return _converted(text, language, smart) if store is None else store.convert(text, language, smart)


class ConvertedStore:
    """Python-Markdown's HTML of the last build's files, kept in the layout cache's folder, so
    that a rebuild converts only the files that changed (``_convert`` is a pure function).

    One JSON file holds what the last build used, by a digest of the text, the language, the
    smart-punctuation switch, bookmaker's code and the Python-Markdown version; ``save`` writes
    it under a private name and renames it, so two builds sharing the folder never see half.
    """

    NAME = "markdown.json"

    def __init__(self, folder: Path | None) -> None:
        self.path = None if folder is None else folder / self.NAME
        self.old: dict[str, str] = {}
        self.used: dict[str, str] = {}
        if self.path is not None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = None
            if isinstance(data, dict):
                self.old = {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

    def convert(self, text: str, language: str, smart: bool) -> str:
        key = hashlib.sha256(json.dumps([code_digest(), markdown.__version__, language, smart, text]).encode()).hexdigest()
        converted = self.old.get(key)
        if converted is None:
            converted = _converted(text, language, smart)
        self.used[key] = converted
        return converted

    @contextmanager
    def active(self) -> Iterator[None]:
        """Conversions inside the block use (and fill) this store."""
        token = _STORE.set(self)
        try:
            yield
        finally:
            _STORE.reset(token)

    def save(self) -> None:
        """Keep what this build converted (only that: the file never grows past one book)."""
        if self.path is None:
            return
        if self.used == self.old:
            # Touched, so the layout cache's least-recently-used pruning keeps it.
            with suppress(OSError):
                os.utime(self.path)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.NAME}.{os.getpid()}")
        tmp.write_text(json.dumps(self.used, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)


#: The store of the build in progress (``ConvertedStore.active``).
_STORE: ContextVar[ConvertedStore | None] = ContextVar("bookmaker_converted", default=None)


def render_markdown(
    text: str, source: Path, language: str, chapter_id: str, smart: bool = True, reserved: frozenset[str] = frozenset()
) -> Markup:
    """Convert Markdown to a ``<div>`` tree; notes are lifted out and noted by placeholders.

    Ids made up here (``{chapter_id}-fn-1``, ``{chapter_id}-early-years``) avoid the ids the
    author wrote in this file and ``reserved`` (the author's ids elsewhere in the book):
    the author's id wins, the made-up one moves.
    """
    check_markdown_shape(text, source)
    try:
        converted = _convert(text, language, smart)
    except RecursionError:
        raise ManuscriptError(f"nested too deeply to read (lists, block quotes or raw HTML more than {MAX_NESTING} levels)", source) from None
    # The HTML parser resolves named entities (smarty, raw HTML) into characters; huge_tree keeps
    # libxml2 from silently dropping what lies below 256 levels, so the depth check below sees it.
    body = html.fragment_fromstring(converted or "", create_parent="div", parser=_HTML_PARSER)
    if tree_depth(body) > MAX_NESTING + 10:
        raise ManuscriptError(f"nested too deeply (lists, block quotes or raw HTML more than {MAX_NESTING} levels)", source)
    _strip_comments(body)
    sanitize_html(body, source, text)
    highlight_code(body, source, text)
    result = Markup(body=body)
    result.author_ids = frozenset(_author_ids(body))
    taken = set(reserved | result.author_ids | {chapter_id})
    result.notes = _extract_notes(body, source, text, chapter_id, taken)
    _warn_missing_notes(body, source, text)
    result.title, result.title_id = _take_title(body, chapter_id)
    _warn_wide_tables(body, source, text)
    _make_figures(body, lambda caption: _inline_markdown(caption, source, text, language, smart))
    _mark_scene_breaks(body)
    result.headings = _collect_headings(body, chapter_id, taken)
    result.made_ids = frozenset(taken - reserved - result.author_ids - {chapter_id})
    return result


def fresh_id(base: str, taken: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3`` ... whichever is not taken yet; it is taken then."""
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _author_ids(body: etree._Element) -> set[str]:
    """The ids in a converted file that the author wrote, not those of Python-Markdown's footnotes."""
    machinery = set(body.xpath('.//div[@class="footnote"]/ol/li/@id'))
    machinery |= set(body.xpath('.//sup[a[contains(concat(" ", @class, " "), " footnote-ref ")]]/@id'))
    return {el.get("id") for el in body.iter() if isinstance(el.tag, str) and el.get("id")} - machinery


def line_of(text: str, needle: str) -> int | None:
    """The 1-based line of the first occurrence of ``needle`` in ``text``."""
    index = text.find(needle)
    return None if index < 0 else text.count("\n", 0, index) + 1


def line_in_file(path: Path, needle: str) -> int | None:
    """The 1-based line of ``needle`` in a manuscript file (None if unreadable or absent)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return line_of(text, needle)


def _strip_comments(body: etree._Element) -> None:
    for comment in body.xpath("//comment() | //processing-instruction()"):
        parent = comment.getparent()
        if parent is not None:
            remove_keep_tail(comment)


def remove_keep_tail(el: etree._Element) -> None:
    """Remove ``el`` from its parent, keeping the text that follows it."""
    parent = el.getparent()
    assert parent is not None
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _extract_notes(body: etree._Element, source: Path, text: str, chapter_id: str, taken: set[str]) -> list[Note]:
    """Lift the notes out of the tree; ``[^^label]`` is the endnote stream (its label starts with ^)."""
    definitions: dict[str, etree._Element] = {}
    for container in body.xpath('.//div[@class="footnote"]'):
        for li in container.xpath("./ol/li[@id]"):
            definitions[li.get("id")] = li
        remove_keep_tail(container)
    by_target: dict[str, Note] = {}
    calls = 0
    # The body first, then each note as it is found: a note cited only from inside another
    # note is a note too (numbered after the one that cites it), not "never referenced".
    trees = [body]
    while trees:
        tree = trees.pop(0)
        for sup in tree.xpath('.//sup[a[contains(concat(" ", @class, " "), " footnote-ref ")]]'):
            target = (sup.find("a").get("href") or "").lstrip("#")
            if target not in definitions:
                continue
            calls += 1
            note = by_target.get(target)
            if note is None:
                number = len(by_target) + 1
                label = target.removeprefix("fn-")
                stream = ENDNOTE if label.startswith("^") else FOOTNOTE
                note = Note(number, fresh_id(f"{chapter_id}-fn-{number}", taken), fresh_id(f"{chapter_id}-fnref-{number}", taken),
                            _note_body(definitions[target]), stream=stream, label=label)
                if stream == ENDNOTE:
                    note.key, note.key_id = _key_phrase(sup, fresh_id(f"{chapter_id}-key-{number}", taken))
                by_target[target] = note
                trees.append(note.body)
                ref_id = note.ref_id
            else:
                # A note called a second time refers back to the same number.
                ref_id = fresh_id(f"{note.ref_id}-{calls}", taken)
            ref = etree.Element("noteref", note=note.id, number=str(note.number), id=ref_id)
            ref.tail = sup.tail
            sup.getparent().replace(sup, ref)
    for target in definitions:
        if target not in by_target:
            label = target.removeprefix("fn-")
            warn(f"footnote [^{label}] is defined but never referenced", source, line_of(text, f"[^{label}]:"), code="BM302")
    return list(by_target.values())


def _key_phrase(call: etree._Element, new_id: str) -> tuple[str | None, str | None]:
    """The phrase a keyed note refers to, and the id of the element that holds it.

    An explicit ``[phrase]{.key}`` right before the call wins; else the last words before
    the call (at most KEY_WORDS, never reaching back across the start of a sentence), which
    are wrapped in a ``<span class="key">`` so that the layout can report their page.
    """
    previous = call.getprevious()
    # Calls side by side ("text.[^1][^^2]"): the phrase is the one before the first of them.
    while previous is not None and previous.tag == "noteref" and not (previous.tail or "").strip():
        call, previous = previous, previous.getprevious()
    parent = call.getparent()
    before = previous.tail if previous is not None else parent.text
    if previous is not None and not (before or "").strip(_TRAILING_PUNCT):
        # The call follows an element: an explicit key span, or emphasis, an index term and the like.
        classes = (previous.get("class") or "").split()
        phrase = _WS_RE.sub(" ", "".join(previous.itertext())).strip()
        if "key" in classes:
            if not previous.get("id"):
                previous.set("id", new_id)
            return phrase.strip(_TRAILING_PUNCT) or None, previous.get("id")
        if phrase and len(phrase.split()) <= KEY_WORDS:
            # Its own id may belong to another pass (index markers): key a span inside it.
            inner = etree.Element("span", {"class": "key", "id": new_id})
            inner.text, previous.text = previous.text, None
            inner.extend(list(previous))
            previous.append(inner)
            return phrase.strip(_TRAILING_PUNCT) or None, new_id
        before = phrase
    if not (before or "").strip():
        return None, None
    text = before or ""
    # The phrase ends before trailing punctuation and starts after the last sentence end.
    end = len(text.rstrip(_TRAILING_PUNCT))
    starts = [m.end() for m in _SENTENCE_END_RE.finditer(text, 0, end)]
    segment_start = starts[-1] if starts else 0
    words = list(re.finditer(r"\S+", text[segment_start:end]))[-KEY_WORDS:]
    if not words:
        return None, None
    start = segment_start + words[0].start()
    phrase = _WS_RE.sub(" ", text[start:end]).strip()
    span = etree.Element("span", {"class": "key", "id": new_id})
    span.text = text[start:end]
    span.tail = text[end:]
    if previous is not None and previous.tail is not None and previous.tail == before:
        previous.tail = text[:start]
        previous.addnext(span)
    elif previous is None:
        parent.text = text[:start]
        parent.insert(0, span)
    else:  # the words came from inside the preceding element: key it as a whole
        if not previous.get("id"):
            previous.set("id", new_id)
        return phrase, previous.get("id")
    return phrase.lstrip(_TRAILING_PUNCT) or None, new_id


def _note_body(li: etree._Element) -> etree._Element:
    for backref in li.xpath('.//a[contains(concat(" ", @class, " "), " footnote-backref ")]'):
        remove_keep_tail(backref)
    div = etree.Element("div")
    div.text = li.text
    for child in li:
        div.append(child)
    # Markdown leaves a no-break space where the back link was.
    for p in div.iter("p"):
        if len(p):
            last = p[-1]
            if last.tail:
                last.tail = last.tail.rstrip("\u00a0 ")
        elif p.text:
            p.text = p.text.rstrip("\u00a0 ")
    return div


def _warn_missing_notes(body: etree._Element, source: Path, text: str) -> None:
    for node in body.iter():
        for chunk in (node.text, node.tail):
            for match in _MISSING_NOTE_RE.finditer(chunk or ""):
                warn(f"footnote reference [^{match.group(1)}] has no definition", source, line_of(text, match.group(0)), code="BM301")


def _take_title(body: etree._Element, chapter_id: str) -> tuple[str | None, str | None]:
    """The title (the first ``# `` heading, taken out of the body) and the id the author gave it."""
    first = next(iter(body), None)
    if first is not None and first.tag == "h1":
        title = _WS_RE.sub(" ", first.text_content()).strip()
        anchor = first.get("id")
        if anchor and anchor != chapter_id:
            # `# Title {#id}`: the heading becomes the chapter title, but links to its id
            # must still land at the chapter's start.
            marker = etree.Element("span", id=anchor)
            marker.tail = first.tail
            first.addprevious(marker)
            first.tail = None
        remove_keep_tail(first)
        return title, anchor
    return None, None


def inline_html(text: str, source: Path, language: str, smart: bool = True) -> str:
    """``text`` (one paragraph of book.yaml, such as the back-cover copy) as HTML inline content:
    emphasis, links and smart punctuation as in the chapters, through the same sanitizer."""
    element = _inline_markdown(text, source, text, language, smart)
    return (escape(element.text or "") + "".join(etree.tostring(child, encoding="unicode", method="html")
                                                  for child in element))


def _inline_markdown(caption: str, source: Path, text: str, language: str, smart: bool) -> etree._Element:
    """A caption as a <div> of inline content, with the chapter's smart punctuation and emphasis."""
    converted = _convert(caption, language, smart)
    tree = html.fragment_fromstring(converted or "", create_parent="div")
    sanitize_html(tree, source, text)
    first = tree[0] if len(tree) and tree[0].tag == "p" else tree
    result = etree.Element("div")
    result.text = first.text
    result.extend(list(first))
    return result


#: More columns than this cannot be read on a printed page (about 6 cm of text block per 3 columns
#: at the default trim); WeasyPrint cuts what overflows the page without a word (issue 14).
MAX_TABLE_COLUMNS = 12


def _warn_wide_tables(body: etree._Element, source: Path, text: str) -> None:
    """Warn about tables too wide for a printed page, at the line of their header."""
    for table in body.iter("table"):
        row = next(table.iter("tr"), None)
        columns = sum(int(c.get("colspan") or 1) if (c.get("colspan") or "1").isdigit() else 1 for c in row) if row is not None else 0
        if columns > MAX_TABLE_COLUMNS:
            first = row[0].text_content().strip() if len(row) else ""
            warn(f"a table of {columns} columns is too wide for the printed page (at most {MAX_TABLE_COLUMNS} fit) and "
                 "its right part would be cut off; split it or turn it into a list", source,
                 line_of(text, f"| {first}") or line_of(text, first) if first else None, code="BM614")


def _make_figures(body: etree._Element, render_caption: Callable[[str], etree._Element]) -> None:
    """A paragraph holding only an image becomes a figure; the image title is its caption."""
    for p in body.xpath(".//p[count(*)=1 and img]"):
        img = p[0]
        if (p.text or "").strip() or (img.tail or "").strip():
            continue
        figure = etree.Element("figure")
        img.tail = None
        caption = img.attrib.pop("title", None)
        figure.append(img)
        if caption:
            rendered = render_caption(caption)
            figcaption = etree.SubElement(figure, "figcaption")
            figcaption.text = rendered.text
            figcaption.extend(list(rendered))
        figure.tail = p.tail
        p.getparent().replace(p, figure)


def _mark_scene_breaks(body: etree._Element) -> None:
    for hr in body.iter("hr"):
        classes = (hr.get("class") or "").split()
        if "scene-break" not in classes:
            hr.set("class", " ".join(classes + ["scene-break"]))


def _collect_headings(body: etree._Element, chapter_id: str, taken: set[str]) -> list[Heading]:
    from bookmaker.transforms import slugify

    headings: list[Heading] = []
    for el in body.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        text = _WS_RE.sub(" ", el.text_content()).strip()
        anchor = el.get("id")
        if not anchor:
            anchor = fresh_id(f"{chapter_id}-{slugify(text) or 'section'}", taken)
            el.set("id", anchor)
        headings.append(Heading(level=int(el.tag[1]), text=text, id=anchor))
    return headings
