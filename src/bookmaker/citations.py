"""Citations (pandoc syntax) formatted by pandoc's citeproc from BibTeX or CSL-JSON, and the bibliography.

Why pandoc's citeproc and not citeproc-py: see docs/citations.md (Chicago notes-bibliography
output compared for 14 reference types).  pandoc runs as a separate process (the binary that
the ``pypandoc-binary`` wheel ships, GPL), with ``--sandbox`` so that it reads only the files
it is given and never the network.  Styles are bundled in ``bookmaker/csl`` (CC BY-SA 3.0).

The pass works on the Markdown source before Python-Markdown sees it: every citation is
replaced by a placeholder (and, for note styles, by a note call of the chosen stream whose
text is a placeholder too); once every chapter is read, one pandoc run formats all the
citations in book order (so that first, subsequent and ibid notes follow the reading order)
and the bibliography, and the placeholders are filled.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree, html

from bookmaker.errors import ConfigError, ManuscriptError, format_location
from bookmaker.log import warn
from bookmaker.markup import remove_keep_tail

#: Styles that ship with bookmaker: name in book.yaml -> file in bookmaker/csl (CSL project, CC BY-SA 3.0).
BUNDLED_STYLES = {
    "chicago-notes-bibliography": "chicago-notes-bibliography.csl",
    "chicago-notes-bibliography-ibid": "chicago-notes-bibliography-subsequent-ibid.csl",
    "chicago-author-date": "chicago-author-date.csl",
    "apa": "apa.csl",
    "mla": "modern-language-association.csl",
}
#: The label of a generated bibliography's title, by style (Chicago NB: Bibliography).
BIBLIOGRAPHY_TITLES = {"chicago-author-date": "references", "apa": "references", "mla": "works_cited"}
#: The id of the generated bibliography when the manuscript has no ``kind: bibliography`` file.
BIBLIOGRAPHY_ID = "book-bibliography"
#: Kinds a generated bibliography comes before.
BIBLIOGRAPHY_BEFORE = ("index", "about-the-author", "colophon")
#: How long pandoc may take (it formats a whole book's citations in about a second).
PANDOC_TIMEOUT = 120

# A citation key (pandoc): starts with a letter, digit or _, may hold internal punctuation.
_KEY = r"[\w](?:[\w:.#$%&+?<>~/-]*[\w])?"
_KEY_IN_BRACKETS_RE = re.compile(r"(?:^|[\s;\[])-?@(" + _KEY + r")")
# [see @a, 45; -@b]: brackets holding at least one @key; not a link, span or footnote label.
_BRACKETED_RE = re.compile(r"(?P<space>[ \t]*)\[(?P<body>[^\[\]\n^]*?(?:^|(?<=[\s;\[-]))-?@" + _KEY
                           + r"[^\[\]\n]*)\](?![(\[{:])(?P<punct>[.,;:!?]?)")
# @a [45] says: an in-text citation with an optional locator in brackets.
_IN_TEXT_RE = re.compile(r"(?<![\w@\\`\[-])@(?P<key>" + _KEY + r")(?P<locator>\s?\[[^\[\]\n]*\](?![(\[{:]))?")
_FENCE_RE = re.compile(r"^(?P<fence>`{3,}|~{3,}).*?^(?P=fence)[ \t]*$", re.M | re.S)
_CODE_SPAN_RE = re.compile(r"(`+)(?:.|\n)*?(?<!`)\1(?!`)")
_DEFINITION_RE = re.compile(r"^ {0,3}\[\^(\^?[^\]\s]+)\]:", re.M)
_INLINE_RE = re.compile("\ue000(\\d+)\ue001")
_NOTE_RE = re.compile("\ue002(\\d+)\ue003")


@dataclass
class Citation:
    """One citation as written, and where."""

    number: int
    text: str
    keys: list[str]
    source: Path
    line: int
    #: Written inside a note (formatted inline there) rather than in the running text.
    in_note: bool
    #: Reading order: (chapter index, offset of the citation or of its note's call).
    order: tuple[int, int, int]
    in_text: bool = False
    #: Filled by ``format_all``: the inline part (author-date text, or the author of ``@a``)
    #: and, for note styles in the text, the note's content.
    inline: etree._Element | None = None
    note: etree._Element | None = None


@dataclass
class Citations:
    """The book's sources and every citation met while reading the chapters."""

    style: str
    style_path: Path
    note_style: bool
    stream: str
    references: list[dict[str, Any]]
    nocite: tuple[str, ...]
    items: list[Citation] = field(default_factory=list)
    bibliography: list[etree._Element] = field(default_factory=list)

    @property
    def keys(self) -> set[str]:
        return {str(r.get("id")) for r in self.references}

    # ---- reading -------------------------------------------------------------------------

    def extract(self, text: str, source: Path, chapter_index: int) -> str:
        """``text`` with every citation replaced by a placeholder (and a note call, for note styles)."""
        masked = _masked(text)
        spans = _definition_spans(masked)
        matches: list[tuple[int, int, re.Match[str], bool]] = []
        taken: list[tuple[int, int]] = []
        for match in _BRACKETED_RE.finditer(masked):
            start = match.start() + len(match.group("space"))
            matches.append((start, match.end(), match, False))
            taken.append((start, match.end()))
        for match in _IN_TEXT_RE.finditer(masked):
            if any(a <= match.start() < b for a, b in taken):
                continue
            matches.append((match.start(), match.end(), match, True))
        matches.sort(key=lambda m: m[0])
        out: list[str] = []
        definitions: list[str] = []
        pos = 0
        known = self.keys
        for start, end, match, in_text in matches:
            written = text[start:end]
            keys = [match.group("key")] if in_text else _KEY_IN_BRACKETS_RE.findall(match.group("body"))
            line = text.count("\n", 0, start) + 1
            label = _label_at(spans, start)
            unknown = [k for k in keys if k not in known]
            cut = match.start() if not in_text else start  # bracketed: the space before goes too
            punct = "" if in_text else match.group("punct")
            if unknown:
                for key in unknown:
                    warn(f"citation key '{key}' is not in the bibliography", source, line, code="BM730")
                out.append(text[pos:start] + "\\[" + "; ".join(keys) + "\\]" + punct)
                pos = end
                continue
            order_pos = _call_offset(masked, label, start) if label else start
            number = len(self.items) + 1
            body = written[: len(written) - len(punct)] if punct else written
            if not in_text:
                body = body.lstrip(" \t")
            citation = Citation(number, body, keys, source, line, label is not None,
                                (chapter_index, order_pos, start), in_text=in_text)
            self.items.append(citation)
            if citation.in_note or not self.note_style:
                out.append(text[pos:start] + f"\ue000{number}\ue001" + punct)
            else:
                # A note style: the note call goes after the punctuation (CMOS 14.21), like pandoc.
                call = "[^^@c{0}]" if self.stream == "endnotes" else "[^@c{0}]"
                # Only "@key [45] says" prints something in the text (the author's name).
                inline = f"\ue000{number}\ue001" if in_text else ""
                out.append(text[pos:cut] + (punct if not in_text else "") + inline + call.format(number)
                           + (punct if in_text else ""))
                definitions.append(f"{call.format(number)}: \ue002{number}\ue003")
            pos = end
        out.append(text[pos:])
        result = "".join(out)
        if definitions:
            result += "\n\n" + "\n\n".join(definitions) + "\n"
        return result

    # ---- formatting ----------------------------------------------------------------------

    def format_all(self) -> None:
        """Format every citation and the bibliography in one pandoc run."""
        if not self.items and not self.nocite:
            return
        ordered = sorted(self.items, key=lambda c: c.order)
        parts: list[str] = []
        for citation in ordered:
            cited = citation.text if citation.in_text else citation.text
            if citation.in_note:
                parts.append(f"N[^n{citation.number}]\n\n[^n{citation.number}]: [{cited}]{{#c{citation.number}}}\n")
            else:
                parts.append(f"T[{cited}]{{#c{citation.number}}}\n")
        if self.nocite:
            listed = ", ".join("@*" if k == "*" else f"@{k}" for k in self.nocite)
            parts.insert(0, f"---\nnocite: |\n  {listed}\n---\n")
        document = render_with_pandoc("\n".join(parts), self.references, self.style_path)
        notes = {li.get("id"): li for li in document.xpath('//section[@id="footnotes"]//li | //aside[@id="footnotes"]//li')}
        for citation in ordered:
            found = document.xpath(f'//*[@id="c{citation.number}"]')
            if not found:
                continue
            span = found[0]
            ref = span.xpath('.//a[contains(concat(" ", @class, " "), " footnote-ref ")]')
            if ref:
                target = notes.get((ref[0].get("href") or "").lstrip("#"))
                remove_keep_tail(ref[0])
                if target is not None:
                    citation.note = _note_content(target)
            citation.inline = _contents(span, "span")
            if citation.in_note and self.note_style:
                # pandoc puts a citation inside a note in parentheses; Chicago writes it bare (CMOS 14.34).
                _unwrap_parentheses(citation.inline)
        self.bibliography = [_contents(entry, "li") for entry in document.xpath('//div[@id="refs"]/div')]
        for entry, source in zip(self.bibliography, document.xpath('//div[@id="refs"]/div')):
            entry.set("class", "csl-entry")
            if source.get("id"):
                entry.set("id", f"bib-{source.get('id').removeprefix('ref-')}")

    def key_text(self, key: str) -> str:
        """A key phrase with citation placeholders replaced by the text they print."""
        by_number = {c.number: c for c in self.items}

        def text(match: re.Match[str]) -> str:
            found = by_number.get(int(match.group(1)))
            return " ".join("".join(found.inline.itertext()).split()) if found is not None and found.inline is not None else ""

        return " ".join(_INLINE_RE.sub(text, key).split())

    def fill(self, tree: etree._Element) -> None:
        """Replace the placeholders in a chapter body or note body by the formatted citations."""
        by_number = {c.number: c for c in self.items}
        _splice(tree, _INLINE_RE, lambda n: by_number[n].inline if n in by_number else None)
        _splice(tree, _NOTE_RE, lambda n: by_number[n].note if n in by_number else None)


def format_citations(book: Any, report: Any) -> None:
    """The pass: format the citations, fill them into the chapters and notes, add the bibliography."""
    from bookmaker.model import Chapter

    citations: Citations | None = book.citations
    if citations is None:
        return
    citations.format_all()
    for chapter in book.chapters:
        citations.fill(chapter.body)
        for note in chapter.notes:
            citations.fill(note.body)
            if note.key:
                note.key = citations.key_text(note.key)
    if not citations.bibliography:
        return
    holder = next((c for c in book.chapters if c.kind == "bibliography"), None)
    if holder is None:
        from bookmaker.labels import labels_for

        title = labels_for(book.config)(BIBLIOGRAPHY_TITLES.get(citations.style, "bibliography"))
        holder = Chapter(kind="bibliography", title=title, id=BIBLIOGRAPHY_ID, source=book.config.path,
                         body=etree.Element("div"), generated=True)
        at = next((i for i, c in enumerate(book.chapters) if c.kind in BIBLIOGRAPHY_BEFORE), len(book.chapters))
        book.chapters.insert(at, holder)
    entries = etree.SubElement(holder.body, "ul", {"class": "bibliography-list"})
    entries.extend(citations.bibliography)


def load_citations(config: Any) -> Citations | None:
    """The book's sources, or None when book.yaml names no ``bibliography``."""
    options = config.citations
    if not options.bibliography:
        return None
    references: list[dict[str, Any]] = []
    seen: set[str] = set()
    for path in options.bibliography:
        for entry in read_bibliography(path):
            key = str(entry.get("id", ""))
            if not key or key in seen:
                continue
            seen.add(key)
            references.append(_with_short_title(entry))
    style_path = style_file(options.style)
    return Citations(
        style=options.style,
        style_path=style_path,
        note_style=_is_note_style(style_path),
        stream=options.notes,
        references=references,
        nocite=options.nocite,
    )


def style_file(style: str) -> Path:
    """The .csl file of a bundled style name, or the path given."""
    if style in BUNDLED_STYLES:
        return Path(str(resources.files("bookmaker") / "csl" / BUNDLED_STYLES[style]))
    return Path(style)


def _is_note_style(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:2000]
    except OSError as exc:
        raise ConfigError([format_location(path, None, f"citation style cannot be read ({exc.strerror})")]) from None
    match = re.search(r"<style\b[^>]*\bclass=\"([\w-]+)\"", head)
    if not match:
        raise ConfigError([format_location(path, None, "not a CSL style (no <style class=...>)")])
    return match.group(1) == "note"


def read_bibliography(path: Path) -> list[dict[str, Any]]:
    """Entries of a CSL-JSON or BibTeX file as CSL-JSON; a broken file is one error naming its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManuscriptError(f"bibliography cannot be read ({getattr(exc, 'strerror', None) or exc})", path) from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ManuscriptError(f"bibliography is not valid CSL-JSON: {exc.msg}", path, exc.lineno) from None
        if isinstance(data, dict) and "items" in data:
            data = data["items"]
        if not isinstance(data, list) or not all(isinstance(e, dict) and "id" in e for e in data):
            raise ManuscriptError("bibliography is not CSL-JSON: expected a list of entries, each with an 'id'", path, 1)
        return data
    _check_bibtex(text, path)
    output = _run_pandoc(["-f", "bibtex", "-t", "csljson", str(path)], "", path)
    try:
        data = json.loads(output or "[]")
    except json.JSONDecodeError:
        raise ManuscriptError("bibliography could not be read as BibTeX", path) from None
    return data if isinstance(data, list) else []


def _check_bibtex(text: str, path: Path) -> None:
    """Find the line of the most common BibTeX mistakes (pandoc skips broken entries silently)."""
    depth = 0
    entry_line = 0
    line = 1
    in_entry = False
    for index, char in enumerate(text):
        if char == "\n":
            line += 1
        elif char == "@" and depth == 0:
            in_entry = True
            entry_line = line
            header = re.match(r"@\s*(\w+)\s*[{(]\s*([^,\s]*)\s*,?", text[index:])
            if not header:
                raise ManuscriptError("broken BibTeX entry: expected '@type{key,'", path, line)
            if header.group(1).lower() not in ("comment", "preamble", "string") and not header.group(2):
                raise ManuscriptError("BibTeX entry without a citation key", path, line)
        elif char == "{" and in_entry:
            depth += 1
        elif char == "}" and in_entry:
            depth -= 1
            if depth < 0:
                raise ManuscriptError("unbalanced '}' in BibTeX", path, line)
            if depth == 0:
                in_entry = False
    if depth > 0:
        raise ManuscriptError("BibTeX entry not closed: a '}' is missing", path, entry_line)


def _with_short_title(entry: dict[str, Any]) -> dict[str, Any]:
    """Chicago's short notes use the main title (CMOS 14.30): "Little Rice" for "Little Rice: Smartphones…"."""
    title = entry.get("title")
    if isinstance(title, str) and "title-short" not in entry and "shortTitle" not in entry:
        main = re.split(r"[:?!]\s", title, maxsplit=1)[0]
        if main != title:
            entry = {**entry, "title-short": main + ("?" if title[len(main):].startswith("?") else "")}
    return entry


def pandoc_binary() -> str:
    """The pandoc that the ``pypandoc-binary`` wheel installs, else one on PATH."""
    try:
        candidate = resources.files("pypandoc") / "files" / "pandoc"
        if candidate.is_file():
            return str(candidate)
    except ModuleNotFoundError:
        pass
    found = shutil.which("pandoc")
    if found:
        return found
    raise ConfigError(["citations need pandoc: pip install pypandoc-binary (it ships pandoc)"])


def _run_pandoc(args: list[str], stdin: str, about: Path | None) -> str:
    try:
        done = subprocess.run([pandoc_binary(), "--sandbox", *args], input=stdin, capture_output=True, text=True,
                              timeout=PANDOC_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ManuscriptError(f"pandoc failed to format the citations ({exc})", about) from None
    if done.returncode != 0:
        message = " ".join(done.stderr.split()) or f"pandoc exited with {done.returncode}"
        match = re.search(r"line (\d+)", message)
        raise ManuscriptError(f"cannot be used: {message}", about, int(match.group(1)) if match else None)
    return done.stdout


def render_with_pandoc(markdown: str, references: list[dict[str, Any]], style: Path) -> etree._Element:
    """Run pandoc's citeproc over a generated Markdown document; return its HTML as a tree."""
    with tempfile.TemporaryDirectory(prefix="bookmaker-cite-") as folder:
        refs = Path(folder) / "references.json"
        refs.write_text(json.dumps(references), encoding="utf-8")
        output = _run_pandoc(["-f", "markdown", "-t", "html5", "--wrap=none", "--citeproc", "--csl", str(style),
                              "--bibliography", str(refs)], markdown, style)
    return html.fromstring(f"<html><body>{output}</body></html>")


# ---- helpers ------------------------------------------------------------------------------


def _masked(text: str) -> str:
    """``text`` with code (fenced blocks, code spans) blanked out, offsets kept."""
    out = list(text)
    for regex in (_FENCE_RE, _CODE_SPAN_RE):
        for match in regex.finditer(text):
            for i in range(match.start(), match.end()):
                if out[i] != "\n":
                    out[i] = " "
    return "".join(out)


def _definition_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, label) of every note definition: its first line and the indented lines after it."""
    spans = []
    for match in _DEFINITION_RE.finditer(text):
        end = text.find("\n", match.end())
        end = len(text) if end < 0 else end
        while end < len(text):
            nxt = text.find("\n", end + 1)
            line = text[end + 1: nxt if nxt >= 0 else len(text)]
            if line.strip() and not line.startswith(("    ", "\t")):
                break
            if not line.strip():
                after = text[nxt + 1:] if nxt >= 0 else ""
                if not after.startswith(("    ", "\t")):
                    break
            end = nxt if nxt >= 0 else len(text)
        spans.append((match.start(), end, match.group(1)))
    return spans


def _label_at(spans: list[tuple[int, int, str]], offset: int) -> str | None:
    for start, end, label in spans:
        if start <= offset < end:
            return label
    return None


def _call_offset(text: str, label: str, fallback: int) -> int:
    """Where the note ``label`` is called (its citations are read there), else its definition."""
    for match in re.finditer(re.escape(f"[^{label}]"), text):
        if text[match.end(): match.end() + 1] != ":":
            return match.start()
    return fallback


def _contents(el: etree._Element, tag: str) -> etree._Element:
    """A copy of ``el``'s content in a new ``tag`` element (pandoc's class and role attributes dropped)."""
    import copy

    out = etree.Element(tag)
    out.text = el.text
    for child in el:
        out.append(copy.deepcopy(child))
    for node in out.iter():
        if node is not out and node.tag == "span" and "citation" in (node.get("class") or ""):
            node.attrib.pop("data-cites", None)
    return out


def _unwrap_parentheses(el: etree._Element) -> None:
    """Remove one pair of parentheses around the whole content of ``el`` (nested spans included)."""
    first = el
    while first.text is None and len(first):
        first = first[0]
    last: etree._Element = el
    while len(last) and not (last[-1].tail or "").strip():
        last = last[-1]
    head = first.text or ""
    if not head.startswith("("):
        return
    if last is el or not len(last):
        tail_holder, attr = last, "text"
    else:
        tail_holder, attr = last[-1], "tail"
    tail = getattr(tail_holder, attr) or ""
    if not tail.rstrip().endswith(")"):
        return
    first.text = head[1:]
    tail = (getattr(tail_holder, attr) or "").rstrip()
    setattr(tail_holder, attr, tail[:-1])


def _note_content(li: etree._Element) -> etree._Element:
    """A pandoc footnote's text, without its back link, as inline content."""
    for back in li.xpath('.//a[contains(concat(" ", @class, " "), " footnote-back ")]'):
        remove_keep_tail(back)
    paragraphs = li.findall("p")
    source = paragraphs[0] if len(paragraphs) == 1 else li
    out = _contents(source, "span")
    if out.text:
        out.text = out.text.lstrip()
    if len(out) and out[-1].tail:
        out[-1].tail = out[-1].tail.rstrip()
    elif not len(out) and out.text:
        out.text = out.text.rstrip()
    return out


def _splice(tree: etree._Element, pattern: re.Pattern[str], lookup: Any) -> None:
    """Replace each placeholder in text and tails with the content of ``lookup(number)``."""
    import copy

    for el in list(tree.iter()):
        if not isinstance(el.tag, str):
            continue
        for attr in ("text", "tail"):
            value = getattr(el, attr)
            if not value or not pattern.search(value):
                continue
            pieces = pattern.split(value)
            setattr(el, attr, pieces[0])
            # Insert point: inside el (text) at the start, or after el (tail) in its parent.
            parent, index = (el, 0) if attr == "text" else (el.getparent(), el.getparent().index(el) + 1)
            last: etree._Element | None = None if attr == "text" else el
            for i in range(1, len(pieces), 2):
                found = lookup(int(pieces[i]))
                rest = pieces[i + 1]
                content = copy.deepcopy(found) if found is not None else None
                nodes = ([content.text] if content is not None and content.text else []) + (list(content) if content is not None else [])
                for node in nodes + [rest]:
                    if isinstance(node, str):
                        if not node:
                            continue
                        if last is None:
                            parent.text = (parent.text or "") + node
                        else:
                            last.tail = (last.tail or "") + node
                    else:
                        node.tail = None if node.tail is None else node.tail
                        tail, node.tail = node.tail, None
                        parent.insert(index, node)
                        index += 1
                        last = node
                        if tail:
                            last.tail = tail
