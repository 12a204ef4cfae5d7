"""Find the manuscript's files, split their front matter and read them into Chapters."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from bookmaker.config import BookConfig, as_text, parse_yaml, text_line_of_offset, visible
from bookmaker.errors import ConfigError, ManuscriptError, format_location, shorten, shown
from bookmaker.labels import labels_for
from bookmaker.log import warn
from bookmaker.markup import render_markdown
from bookmaker.model import KINDS, Chapter

FRONT_MATTER_KEYS = ("kind", "title", "running_head", "id", "index")
_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?---[ \t]*(\r?\n|\Z)", re.S)
_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
#: An opening '---' line followed by what looks like a YAML key: front matter, even if never closed.
_OPENED_RE = re.compile(r"\A---[ \t]*\n\s*[A-Za-z_][\w-]*[ \t]*:")
#: Characters XML cannot carry (C0 controls but tab and line feed; U+FFFE, U+FFFF), and C1 controls.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")


@dataclass
class Source:
    """A manuscript file split into its front matter and Markdown body."""

    path: Path
    meta: dict[str, object]
    lines: dict[str, int]
    body: str
    body_line: int


def find_sources(config: BookConfig) -> list[Path]:
    """The .md files in reading order: ``contents`` if given, else all .md files in path order."""
    if config.contents is not None:
        return list(config.contents)
    root = config.root
    found = [
        p
        for p in root.rglob("*.md")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def read_source(path: Path) -> Source:
    """Read a .md file as UTF-8 and split off its YAML front matter."""
    try:
        raw = path.read_bytes()
    except OSError as exc:  # unreadable, a folder named *.md, a dangling link
        raise ManuscriptError(f"cannot be read ({exc.strerror or exc})", path) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = text_line_of_offset(raw, exc.start)
        raise ManuscriptError(f"not UTF-8 (byte {exc.start}); save the file as UTF-8", path, line) from None
    # Windows (CRLF) and classic Mac (lone CR) line ends: one kind of line for every later step.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _drop_control_characters(text, path)
    match = _FRONT_MATTER_RE.match(text)
    if not match:
        if _OPENED_RE.match(text):
            raise ConfigError([format_location(path, 1, "the front matter opened here is never closed: add a line '---' after it")])
        return Source(path, {}, {}, text, 1)
    data = parse_yaml(match.group(1) or "", path, line_offset=1)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([format_location(path, 2, "front matter must be a mapping such as 'kind: chapter'")])
    lines = {k: v + 1 for k, v in getattr(data, "lines", {}).items()}
    body_line = text.count("\n", 0, match.end()) + 1
    # Keep line numbers of the body true to the file by padding with blank lines.
    body = "\n" * (body_line - 1) + text[match.end():]
    meta = {key: as_text(data, key) for key in data}
    return Source(path, meta, lines, body, body_line)


def _drop_control_characters(text: str, path: Path) -> str:
    """Remove characters no book can print (NUL, other controls), with a warning at each line that had them."""
    if not _CONTROL_RE.search(text):
        return text
    for number, line in enumerate(text.split("\n"), 1):
        found = sorted({f"U+{ord(ch):04X}" for ch in _CONTROL_RE.findall(line)})
        if found:
            warn(f"removed the control character{'s' * (len(found) > 1)} {', '.join(found[:5])}: a book cannot print {'them' if len(found) > 1 else 'it'}", path, number, code="BM611")
    return _CONTROL_RE.sub("", text)


def read_chapter(source: Source, config: BookConfig, chapter_id: str, reserved: frozenset[str] = frozenset()) -> Chapter:
    """Turn one source file into a Chapter (Markdown converted, notes lifted out).

    ``chapter_id`` is the id made from the file's path; the author's own id (``id:`` in the
    front matter, else ``# Title {#id}``) replaces it.  Ids made up inside avoid ``reserved``.
    """
    meta, path = source.meta, source.path
    problems: list[str] = []
    for key in meta:
        if key not in FRONT_MATTER_KEYS:
            close = difflib.get_close_matches(str(key), FRONT_MATTER_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            warn(f"'{key}': unknown front matter key{hint}", path, source.lines.get(str(key)), code="BM102")
    kind = meta.get("kind", "chapter")
    if not isinstance(kind, str) or kind not in KINDS:
        close = difflib.get_close_matches(shorten(str(kind), 40), KINDS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f" (known kinds: {', '.join(KINDS)})"
        problems.append(format_location(path, source.lines.get("kind", 1), f"'kind': unknown kind {shown(kind)}{hint}"))
    for key in ("title", "running_head", "id", "index"):
        if key in meta and not isinstance(meta[key], (str, int, float)):
            problems.append(format_location(path, source.lines.get(key, 1), f"'{key}': expected a string"))
    custom_id = meta.get("id")
    if isinstance(custom_id, str) and not _ID_RE.match(custom_id):
        problems.append(format_location(path, source.lines.get("id", 1), "'id': must start with a letter and use letters, digits, '-' or '_'"))
    if "index" in meta and kind != "index":
        problems.append(format_location(path, source.lines.get("index", 1), "'index': only a file with 'kind: index' names an index"))
    if problems:
        raise ConfigError(problems)
    named = isinstance(custom_id, str)
    if named:
        chapter_id = str(custom_id)
    markup = render_markdown(source.body, path, config.language, chapter_id, config.smart_punctuation, reserved)
    if not named and markup.title_id:
        # The id on the chapter's own title heading is the chapter's anchor (not a second id
        # beside the one made from the path); converted again so that notes and headings use it.
        chapter_id, named = markup.title_id, True
        markup = render_markdown(source.body, path, config.language, chapter_id, config.smart_punctuation, reserved)
    title = str(meta["title"]).strip() if meta.get("title") is not None else markup.title
    if title and not visible(title):
        where = source.lines.get("title", 1) if meta.get("title") is not None else None
        raise ManuscriptError("the title holds only invisible characters (zero-width spaces or joiners)", path, where)
    if not title:
        if kind in ("dedication", "epigraph", "index"):
            title = labels_for(config)(kind)
        else:
            raise ManuscriptError("no title: add 'title:' to the front matter or start with a '# ' heading", path, 1)
    running = meta.get("running_head")
    return Chapter(
        kind=str(kind),
        title=title,
        id=chapter_id,
        source=path,
        body=markup.body,
        notes=markup.notes,
        headings=markup.headings,
        running_head=str(running).strip() if running else None,
        body_line=source.body_line,
        index=str(meta["index"]).strip() or None if meta.get("index") is not None else None,
        author_ids=markup.author_ids | ({chapter_id} if named else set()),
        made_ids=markup.made_ids | (set() if named else {chapter_id}),
    )


def settle_ids(chapters: list[Chapter], config: BookConfig, taken: set[str]) -> list[Chapter]:
    """Make every made-up id unique against the author's ids and the other chapters' made-up ids.

    An id the author wrote always wins: a chapter whose made-up ids (its path id, note and
    heading ids) clash with an author's id elsewhere, or with a made-up id of an earlier
    chapter, is read again with those ids reserved, so its own ids move.  Two author ids
    that clash are left for ``check_ids`` to report.  ``taken`` holds the path ids given.
    """
    from bookmaker.transforms import chapter_id_for

    authors: dict[str, set[int]] = {}
    for index, chapter in enumerate(chapters):
        for anchor in chapter.author_ids:
            authors.setdefault(anchor, set()).add(index)
    claimed: set[str] = set()
    settled = []
    for index, chapter in enumerate(chapters):
        clash = {a for a in chapter.made_ids if a in claimed or authors.get(a, set()) - {index}}
        if clash:
            reserved = frozenset(authors) | frozenset(claimed)
            chapter_id = chapter.id
            if chapter.id in clash:
                chapter_id = chapter_id_for(chapter.source, config.root, taken, reserved)
            chapter = read_chapter(read_source(chapter.source), config, chapter_id, reserved)
        claimed |= chapter.made_ids
        settled.append(chapter)
    return settled
