"""Find the manuscript's files, split their front matter and read them into Chapters."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from bookmaker.config import BookConfig, parse_yaml, text_line_of_offset
from bookmaker.errors import ConfigError, ManuscriptError, format_location
from bookmaker.log import warn
from bookmaker.markup import render_markdown
from bookmaker.model import KINDS, Chapter

FRONT_MATTER_KEYS = ("kind", "title", "running_head", "id", "index")
_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?---[ \t]*(\r?\n|\Z)", re.S)
_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


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
    match = _FRONT_MATTER_RE.match(text)
    if not match:
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
    return Source(path, dict(data), lines, body, body_line)


def read_chapter(source: Source, config: BookConfig, chapter_id: str) -> Chapter:
    """Turn one source file into a Chapter (Markdown converted, notes lifted out)."""
    meta, path = source.meta, source.path
    problems: list[str] = []
    for key in meta:
        if key not in FRONT_MATTER_KEYS:
            close = difflib.get_close_matches(str(key), FRONT_MATTER_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            warn(f"'{key}': unknown front matter key{hint}", path, source.lines.get(str(key)), code="BM102")
    kind = meta.get("kind", "chapter")
    if not isinstance(kind, str) or kind not in KINDS:
        close = difflib.get_close_matches(str(kind), KINDS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f" (known kinds: {', '.join(KINDS)})"
        problems.append(format_location(path, source.lines.get("kind", 1), f"'kind': unknown kind {kind!r}{hint}"))
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
    if isinstance(custom_id, str):
        chapter_id = custom_id
    markup = render_markdown(source.body, path, config.language, chapter_id, smart=config.smart_punctuation)
    title = str(meta["title"]).strip() if meta.get("title") is not None else markup.title
    if not title:
        if kind in ("dedication", "epigraph", "index"):
            title = kind.capitalize()
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
    )
