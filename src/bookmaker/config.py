"""Read and validate ``book.yaml`` into a typed ``BookConfig``, reporting every problem at once."""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bookmaker.errors import ConfigError, format_location, shorten, shown
from bookmaker.log import warn

CONFIG_NAME = "book.yaml"

#: Contributor roles and their MARC relator codes (EPUB 3 ``role`` refinement).
ROLES: dict[str, str] = {
    "author": "aut",
    "editor": "edt",
    "translator": "trl",
    "illustrator": "ill",
    "foreword": "aui",
    "introduction": "aui",
    "afterword": "aft",
    "annotator": "ann",
    "photographer": "pht",
    "narrator": "nrt",
    "compiler": "com",
    "contributor": "ctb",
}

NOTE_STYLES = ("footnotes", "endnotes", "book-endnotes")
#: Where each note stream may go (``notes:`` as a mapping, issue 12).
FOOTNOTE_PLACES = ("page", "chapter", "book")
ENDNOTE_PLACES = ("book", "chapter", "keyed")
NUMBERING = ("chapter", "book")
NOTES_KEYS = ("footnotes", "endnotes", "numbering")
#: The old one-word ``notes:`` values, as the mapping they stand for.
NOTE_STYLE_MEANING = {
    "footnotes": ("page", "book"),
    "endnotes": ("chapter", "chapter"),
    "book-endnotes": ("book", "book"),
}
CITATION_NOTES = ("footnotes", "endnotes")
#: ``numbering:`` values (see ``bookmaker.numbering``).
NUMBERING_STYLES = ("arabic", "roman", "words", "none")

_LANG_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-[A-Za-z0-9]{5,8}|-[0-9][A-Za-z0-9]{3})*$")
_SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Contributor:
    """A person named on the book, with a role such as author or translator."""

    name: str
    role: str = "author"
    file_as: str | None = None

    @property
    def relator(self) -> str:
        """The MARC relator code for the role."""
        return ROLES[self.role]


@dataclass(frozen=True)
class NotesOptions:
    """Where the two note streams go (``notes:`` in book.yaml) and how they are numbered."""

    #: ``[^label]`` notes: at the foot of the ``page``, at the end of the ``chapter``, or in the ``book``'s Notes.
    footnotes: str = "page"
    #: ``[^^label]`` notes: in the ``book``'s Notes, at the end of the ``chapter``, or ``keyed`` (no call in the text).
    endnotes: str = "book"
    #: Numbers restart in every ``chapter`` or run through the ``book``.
    numbering: str = "chapter"


@dataclass(frozen=True)
class CitationOptions:
    """Sources (``bibliography:``, ``citation-style:``, ``citation-notes:``, ``nocite:``)."""

    #: BibTeX (.bib) or CSL-JSON (.json) files, in the manuscript.
    bibliography: tuple[Path, ...] = ()
    #: A bundled style name or a .csl file in the manuscript.
    style: str = "chicago-notes-bibliography"
    #: The stream that note styles write their citations into.
    notes: str = "footnotes"
    #: Keys listed in the bibliography although never cited (``"*"``: every entry).
    nocite: tuple[str, ...] = ()


@dataclass
class PdfOptions:
    """Options of the print edition (``pdf:`` in book.yaml)."""

    #: Trim size: a preset (5x8in, 5.25x8in, 5.5x8.5in, 6x9in, a5, b-format, royal) or WxH with units.
    trim: str = "6x9in"
    #: Bleed added on every side for print shops, e.g. ``0.125in``.
    bleed: str | None = None
    #: Printer's marks: ``crop``, ``cross`` or ``crop cross``.
    marks: str | None = None
    #: A PDF standard passed to WeasyPrint: pdf/a-3b, pdf/ua-1, pdf/x-4.
    standard: str | None = None
    #: The print-on-demand service whose rules the build checks and whose cover it makes: kdp, ingramspark, none.
    printer: str | None = None
    #: Interior paper, for the spine width: white, cream or color.
    paper: str = "white"
    #: Crop marks on the cover wrap: ``crop`` (KDP rejects them; off by default).
    cover_marks: str | None = None


@dataclass
class EpubOptions:
    """Options of the ebook (``epub:`` in book.yaml)."""

    #: Embed the body typeface in the EPUB (the CJK fallback is always embedded when used).
    embed_fonts: bool = False


@dataclass
class NetworkOptions:
    """Hosts the print renderer may fetch from (``network: {allow: [...]}``); none by default."""

    allow: list[str] = field(default_factory=list)


@dataclass
class Limits:
    """Resource limits (``limits:`` in book.yaml): huge inputs fail cleanly instead of exhausting the machine."""

    #: Images with more pixels are refused before they are decoded.
    max_image_pixels: int = 100_000_000
    #: A chapter file larger than this (in bytes) is reported with a warning.
    max_chapter_bytes: int = 2_000_000
    #: Wall time a build may take, in seconds (for builds of untrusted manuscripts); default no limit.
    max_seconds: int | None = None
    #: Memory a build may take, in megabytes (the process's address space); default no limit.
    max_memory_mb: int | None = None


@dataclass
class BookConfig:
    """The validated contents of ``book.yaml``."""

    path: Path
    title: str
    authors: list[Contributor]
    language: str
    subtitle: str | None = None
    identifier: str | None = None
    isbn: str | None = None
    publisher: str | None = None
    date: str | None = None
    edition: str | None = None
    rights: str | None = None
    description: str | None = None
    subjects: list[str] = field(default_factory=list)
    cover: Path | None = None
    contents: list[Path] | None = None
    slug: str | None = None
    styles: Path | None = None
    notes: NotesOptions = field(default_factory=NotesOptions)
    citations: CitationOptions = field(default_factory=CitationOptions)
    #: How chapters are numbered: arabic (1, 2), roman (I, II), words (One, Two) or none.
    numbering: str = "arabic"
    #: Turn straight quotes, ``--``, ``---`` and ``...`` into typographic characters.
    smart_punctuation: bool = True
    #: Lists after the contents (``lists: [figures, tables]``), in the order given.
    lists: list[str] = field(default_factory=list)
    #: ``title`` and ``subtitle`` as typed (straight quotes): the output file name and the derived identifier stay
    #: what they were before smart quotes reached the title.
    title_as_written: str = ""
    subtitle_as_written: str | None = None
    #: The author's wording for generated text (``labels:``), by label name (see ``bookmaker.labels``).
    labels: dict[str, str] = field(default_factory=dict)
    pdf: PdfOptions = field(default_factory=PdfOptions)
    epub: EpubOptions = field(default_factory=EpubOptions)
    network: NetworkOptions = field(default_factory=NetworkOptions)
    limits: Limits = field(default_factory=Limits)
    #: Back-cover text (paragraphs separated by blank lines); the description when absent.
    cover_copy: str | None = None
    #: A short author biography and photo for the back cover.
    author_bio: str | None = None
    author_photo: Path | None = None
    #: Store metadata: search keywords, BISAC subject codes, an ISBN per edition (paperback, hardcover, ebook).
    keywords: list[str] = field(default_factory=list)
    bisac: list[str] = field(default_factory=list)
    isbns: dict[str, str] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        """The manuscript folder: every relative path in book.yaml starts here."""
        return self.path.parent

    @property
    def creators(self) -> list[Contributor]:
        """Contributors with the author role (the running head names them)."""
        return [c for c in self.authors if c.role == "author"]


KNOWN_KEYS = (
    "title subtitle author language identifier isbn publisher date edition rights description "
    "subjects cover contents slug styles notes numbering pdf epub network limits smart_punctuation labels lists "
    "cover_copy author_bio author_photo keywords bisac isbns"
    " bibliography citation-style citation-notes nocite"
).split()
PDF_KEYS = ("trim", "bleed", "marks", "standard", "printer", "paper", "cover_marks")
#: Values of ``pdf.printer`` and ``pdf.paper`` (bookmaker.printers holds the rules).
PRINTER_NAMES = ("kdp", "ingramspark", "none")
PAPER_NAMES = ("white", "cream", "color")
ISBN_EDITIONS = ("paperback", "hardcover", "ebook", "audiobook")
EPUB_KEYS = ("embed_fonts",)
NETWORK_KEYS = ("allow",)
LIMIT_KEYS = ("max_image_pixels", "max_chapter_bytes", "max_seconds", "max_memory_mb")


class _LineDict(dict[str, Any]):
    """A mapping that remembers the source line of each key and the text of each plain scalar value."""

    lines: dict[str, int]
    #: The value as written, for scalars YAML typed as something else (``title: No``, ``3.10``, ``007``).
    raw: dict[str, str]


class _LineList(list[Any]):
    """A sequence that remembers the text of each plain scalar item (``subjects: [No, 3.10]``)."""

    raw: list[str | None]


#: Deeper YAML than this is refused (PyYAML composes recursively: 500 levels exhaust the stack).
MAX_YAML_DEPTH = 50
#: Characters that have no place in a title or a name (C0 and C1 controls but tab and line feed).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings remember the line of each key (1-based); refuses aliases, deep nesting, repeated keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        #: (line in the file, message): the line offset of front matter already added.
        self.problems: list[tuple[int, str]] = []
        self.line_offset = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            # An alias repeats a node; nested ones grow exponentially ("billion laughs": 484 bytes, 3 GB).
            mark = self.peek_event().start_mark
            raise yaml.MarkedYAMLError(problem="aliases (*name) are not allowed; write the value out", problem_mark=mark)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.MarkedYAMLError(problem=f"nested more than {MAX_YAML_DEPTH} levels deep", problem_mark=mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _plain_text(node: yaml.Node) -> str | None:
    """The text of an untagged plain scalar, or None (a quoted scalar is a string already)."""
    if isinstance(node, yaml.ScalarNode) and node.style is None and not node.tag.endswith(":str"):
        return node.value
    return None


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    result = _LineDict()
    result.lines = {}
    result.raw = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        shown_line = line + loader.line_offset
        if not isinstance(key, (str, int, float, bool, dt.date)):
            loader.problems.append((shown_line, "a key must be a plain name such as 'title', not a list or a mapping"))
            continue
        if key in result:
            first = result.lines[str(key)] + loader.line_offset
            loader.problems.append((shown_line, f"'{shorten(str(key))}' is given twice (lines {first} and {shown_line}); keep one"))
            continue
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[str(key)] = line
        raw = _plain_text(value_node)
        if raw is not None:
            result.raw[str(key)] = raw
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _LineList:
    result = _LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.raw = [_plain_text(child) for child in node.value]
    return result


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode) -> Any:
    # An impossible date such as 2026-13-45 stays a string, so validation can name it.
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)  # type: ignore[arg-type]
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)  # type: ignore[arg-type]
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)  # type: ignore[arg-type]


def parse_yaml(text: str, path: Path, line_offset: int = 0) -> Any:
    """Parse YAML text; a syntax error, an alias, a repeated key or a control character becomes a ConfigError."""
    loader = None
    try:
        # The reader checks every character up front (a NUL byte fails here, by position).
        loader = _LineLoader(text)
        loader.line_offset = line_offset
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + line_offset if mark else None
        col = f":{mark.column + 1}" if mark else ""
        problem = shorten(exc.problem or exc.context or "invalid YAML", 120)
        where = format_location(path, line, "")[:-2]
        raise ConfigError([f"{where}{col}: invalid YAML: {problem}"]) from None
    except yaml.reader.ReaderError as exc:
        # A NUL byte or another character YAML does not allow (found before parsing, by position).
        line = text.count("\n", 0, exc.position) + 1 + line_offset
        raise ConfigError([format_location(path, line, f"invalid YAML: the character U+{exc.character:04X} is not allowed; remove it")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([format_location(path, None, f"invalid YAML: {shorten(str(exc), 120)}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    problems = list(loader.problems)
    problems += [(line + line_offset, message) for line, message in _bad_characters(data, None)]
    if problems:
        raise ConfigError([format_location(path, line, message) for line, message in sorted(problems)])
    return data


def _bad_characters(value: Any, where: tuple[str, int] | None) -> list[tuple[int, str]]:
    """Strings holding unpaired surrogates (YAML's "\\ud800") or control characters, by key and line."""
    found: list[tuple[int, str]] = []
    if isinstance(value, dict):
        lines = getattr(value, "lines", {})
        for key, item in value.items():
            found += _bad_characters(item, (str(key), lines.get(str(key), where[1] if where else 1)))
    elif isinstance(value, list):
        for item in value:
            found += _bad_characters(item, where)
    elif isinstance(value, str) and where is not None:
        key, line = where
        if _SURROGATE_RE.search(value):
            found.append((line, f"'{key}' holds an unpaired surrogate (a broken \\u escape), which is not text"))
        elif match := _CONTROL_RE.search(value):
            found.append((line, f"'{key}' holds the control character U+{ord(match.group()):04X}; remove it"))
    return found


class _Problems:
    """Collects every problem in one file so they can be reported together."""

    def __init__(self, path: Path, data: _LineDict) -> None:
        self.path = path
        self.data = data
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(format_location(self.path, self.data.lines.get(key.split(".")[0]), f"'{key}' {message}"))


def load_config(manuscript: Path) -> BookConfig:
    """Load ``manuscript/book.yaml``; raise ConfigError listing every problem found."""
    # One absolute, resolved root for every path of the book, so that nothing derived from
    # paths (chapter ids, EPUB file names) depends on how the path was typed or on the cwd.
    manuscript = manuscript.resolve()
    path = manuscript / CONFIG_NAME
    if not manuscript.is_dir():
        raise ConfigError([format_location(manuscript, None, not_a_manuscript_folder(manuscript))])
    if not path.is_file():
        raise ConfigError([format_location(path, None, "not found (every manuscript needs a book.yaml)")])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = text_line_of_offset(path.read_bytes(), exc.start)
        raise ConfigError([format_location(path, line, f"not UTF-8 (byte {exc.start}); save the file as UTF-8")]) from None
    data = parse_yaml(text, path)
    if data is None:
        data = _LineDict()
        data.lines = {}
    if not isinstance(data, dict):
        raise ConfigError([format_location(path, None, "expected a mapping of keys such as 'title: ...'")])
    return _validate(path, data)


def not_a_manuscript_folder(manuscript: Path) -> str:
    """Why ``manuscript`` cannot be a manuscript folder: say what it is, not only what it is not."""
    if manuscript.is_file():
        return "is a file, not a manuscript folder; give the folder that holds book.yaml"
    if manuscript.exists():
        return "is not a folder; give the folder that holds book.yaml"
    return "manuscript folder not found"


def text_line_of_offset(raw: bytes, offset: int) -> int:
    """The 1-based line number of a byte offset."""
    return raw.count(b"\n", 0, offset) + 1


def _validate(path: Path, data: _LineDict) -> BookConfig:
    p = _Problems(path, data)
    for key in data:
        if key not in KNOWN_KEYS:
            _warn_unknown(path, data, str(key), KNOWN_KEYS)

    title = _string(p, data, "title", required=True)
    authors = _authors(p, data)
    language = _string(p, data, "language", required=True)
    if language and not _LANG_RE.match(language):
        p.add("language", f"must be a language tag such as 'en' or 'zh-Hans', got {shown(language)}")
    isbn = _string(p, data, "isbn")
    if isbn is not None:
        isbn = _isbn(p, isbn)
    slug = _string(p, data, "slug")
    if slug is not None and not _SLUG_RE.match(slug):
        p.add("slug", f"must be a file name of letters, digits, '.', '_' or '-', got {shown(slug)}")
    notes = _notes_options(p, data)

    config = BookConfig(
        path=path,
        title=title or "",
        authors=authors,
        language=language or "",
        subtitle=_string(p, data, "subtitle"),
        identifier=_string(p, data, "identifier"),
        isbn=isbn,
        publisher=_string(p, data, "publisher"),
        date=_date(p, data),
        edition=_string(p, data, "edition"),
        rights=_string(p, data, "rights"),
        description=_string(p, data, "description"),
        subjects=_string_list(p, data, "subjects"),
        cover=_relative_path(p, data, "cover"),
        contents=_contents(p, data),
        slug=slug,
        styles=_relative_path(p, data, "styles", must_be_dir=True),
        notes=notes,
        citations=_citation_options(p, data),
        numbering=_choice(p, data, "numbering", NUMBERING_STYLES, "arabic"),
        smart_punctuation=_flag(p, data, "smart_punctuation", default=True),
        lists=_lists(p, data),
        pdf=_pdf_options(p, data),
        epub=_epub_options(p, data),
        network=NetworkOptions(_string_list(p, _section(p, data, "network", NETWORK_KEYS), "allow", "network.allow")),
        limits=_limits(p, data),
        labels=_labels(p, data),
        **_press_options(p, data),
    )
    if language and _LANG_RE.match(language):
        _check_language(path, data, language, config.labels)
    config.title_as_written, config.subtitle_as_written = config.title, config.subtitle
    if config.smart_punctuation and language and _LANG_RE.match(language):
        # The title is printed on the half-title, title and copyright pages and named in the metadata:
        # the same quotes and apostrophes as the text (L'Horlogère -> L’Horlogère).
        from bookmaker.quotes import educate_text

        config.title = educate_text(config.title, language)
        config.subtitle = educate_text(config.subtitle, language) if config.subtitle else None
    # The print geometry is checked here too, so that every build (EPUB-only included)
    # and `bookmaker check` report a bad 'pdf.trim' with the other problems.
    from bookmaker.geometry import Geometry

    try:
        Geometry.from_config(config)
    except ConfigError as exc:
        p.items.extend(exc.problems)
    if p.items:
        raise ConfigError(p.items)
    return config


#: What ``lists:`` may name (bookmaker.xrefs.LISTS).
LIST_NAMES = ("figures", "tables")


def _lists(p: _Problems, data: _LineDict) -> list[str]:
    names = _string_list(p, data, "lists")
    unknown = [n for n in names if n not in LIST_NAMES]
    if unknown:
        p.add("lists", f"expected figures or tables, got {unknown[0]!r}")
    return [n for n in dict.fromkeys(names) if n in LIST_NAMES]


def _choice(p: _Problems, data: _LineDict, key: str, choices: tuple[str, ...], default: str) -> str:
    value = _string(p, data, key) or default
    if value not in choices:
        p.add(key, f"expected one of {', '.join(choices)}, got {value!r}")
        return default
    return value


def _warn_unknown(path: Path, data: _LineDict, key: str, known: tuple[str, ...] | list[str], prefix: str = "") -> None:
    line = data.lines.get(key) if hasattr(data, "lines") else None
    key = shorten(key, 40)
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    warn(f"'{prefix}{key}': unknown key{hint}", path, line, code="BM101")


def _type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return {str: "a string", int: "a number", float: "a number", bool: "true/false"}.get(type(value), type(value).__name__)


def _string(p: _Problems, data: _LineDict, key: str, required: bool = False) -> str | None:
    if key not in data or data[key] is None:
        if required:
            p.items.append(format_location(p.path, None, f"'{key}' is required"))
        return None
    value = as_text(data, key)
    if not isinstance(value, str):
        p.add(key, f"expected a string, got {_type_name(value)}")
        return None
    value = value.strip()
    if required and not visible(value):
        p.add(key, "must not be empty" if not value else "holds only invisible characters (zero-width spaces or joiners)")
        return None
    return value or None


def as_text(data: dict[str, Any], key: str) -> Any:
    """``data[key]``, as the author wrote it when YAML typed a plain scalar (``No``, ``12:30``, ``007``, ``3.10``).

    YAML 1.1 reads those as false, 750, 7 and 3.1; a title or a name is text, so the written
    characters are kept.  Anything that is not a scalar (a list, a mapping) is returned as it is.
    """
    value = data[key]
    raw = getattr(data, "raw", {}).get(key)
    if raw is not None and not isinstance(value, (str, list, dict)) and value is not None:
        return raw
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def visible(text: str) -> bool:
    """Whether ``text`` has a character that prints (not only spaces and zero-width format characters)."""
    import unicodedata

    return any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in text)


def _string_list(p: _Problems, data: _LineDict, key: str, label: str | None = None) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, (str, int, float, bool, dt.date)) for v in value):
        raw = getattr(value, "raw", [None] * len(value))
        return [v if isinstance(v, str) else (r if r is not None else str(v)) for v, r in zip(value, raw)]
    if not isinstance(value, (list, dict)):
        return [str(as_text(data, key))]
    p.add(label or key, "expected a string or a list of strings")
    return []


def _authors(p: _Problems, data: _LineDict) -> list[Contributor]:
    value = data.get("author")
    if value is None:
        p.items.append(format_location(p.path, None, "'author' is required"))
        return []
    if not isinstance(value, (list, dict)):
        value = [as_text(data, "author")]
    if not isinstance(value, list) or not value:
        p.add("author", f"expected a string, a list of strings or a list of {{name, role}} maps, got {_type_name(value)}")
        return []
    result: list[Contributor] = []
    raw_items = getattr(value, "raw", [None] * len(value))
    for i, (item, raw_item) in enumerate(zip(value, raw_items), 1):
        if raw_item is not None and not isinstance(item, str):
            item = raw_item  # author: [No, 007] are names as written
        if isinstance(item, str) and visible(item):
            result.append(Contributor(item.strip()))
        elif isinstance(item, dict):
            name = as_text(item, "name") if "name" in item else None
            role = str(item.get("role", "author")).strip().lower()
            if not isinstance(name, str) or not visible(name):
                p.add("author", f"entry {i}: 'name' is required")
                continue
            if role not in ROLES:
                close = difflib.get_close_matches(role, list(ROLES), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f" (known roles: {', '.join(ROLES)})"
                p.add("author", f"entry {i}: unknown role {shown(role)}{hint}")
                continue
            for extra in item:
                if extra not in ("name", "role", "file_as"):
                    _warn_unknown(p.path, data, str(extra), ["name", "role", "file_as"], prefix="author.")
            file_as = item.get("file_as")
            result.append(Contributor(name.strip(), role, str(file_as) if file_as else None))
        else:
            p.add("author", f"entry {i}: expected a name or a {{name, role}} map, got {_type_name(item)}")
    return result


def _date(p: _Problems, data: _LineDict) -> str | None:
    value = data.get("date")
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y-%m", "%Y"):
        try:
            dt.datetime.strptime(text, fmt)
            return text
        except ValueError:
            continue
    p.add("date", f"expected a date such as 2026-11-01 (or 2026-11, or 2026), got {shown(text)}")
    return None


def _isbn(p: _Problems, raw: str, key: str = "isbn") -> str | None:
    digits = re.sub(r"[\s-]", "", raw).upper()
    if re.fullmatch(r"\d{13}", digits):
        total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits[:12]))
        if (10 - total % 10) % 10 == int(digits[12]):
            return digits
    elif re.fullmatch(r"\d{9}[\dX]", digits):
        total = sum((10 - i) * (10 if d == "X" else int(d)) for i, d in enumerate(digits))
        if total % 11 == 0:
            return digits
    else:
        p.add(key, f"expected an ISBN-13 or ISBN-10, got {shown(raw)}")
        return None
    p.add(key, f"{shown(raw)} has a wrong check digit")
    return None


def _relative_path(p: _Problems, data: _LineDict, key: str, must_be_dir: bool = False) -> Path | None:
    value = _string(p, data, key)
    if value is None:
        return None
    path = (p.path.parent / value).resolve()
    if must_be_dir and not path.is_dir():
        p.add(key, f"folder not found: {value}")
        return None
    if not must_be_dir and not path.is_file():
        p.add(key, f"file not found: {value}")
        return None
    root = p.path.parent.resolve()
    if must_be_dir and not _theme_folder_allowed(path, root):
        p.add(key, f"{value} must be a folder inside the manuscript folder or beside it (such as ../styles)")
        return None
    if not must_be_dir and not path.is_relative_to(root):
        # Files go into the EPUB zip: nothing from outside the project (issue 5).
        p.add(key, f"{value} is outside the manuscript folder (or links out of it); copy it in")
        return None
    return path


def _theme_folder_allowed(path: Path, root: Path) -> bool:
    """A theme may sit next to the manuscript (``bookmaker new`` makes ``../styles``), but it becomes a root
    of the PDF's URL fetcher: never the disk, the home folder, a folder holding the manuscript, or a hidden one."""
    if not path.is_relative_to(root.parent) or (root.is_relative_to(path) and path != root):
        return False
    return not any(part.startswith(".") for part in path.relative_to(root.parent).parts)


def _contents(p: _Problems, data: _LineDict) -> list[Path] | None:
    value = data.get("contents")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        p.add("contents", "expected a list of .md file names")
        return None
    seen: set[Path] = set()
    result: list[Path] = []
    for name in value:
        # Lexical (a symlinked chapter keeps its own name, as in path order); checked resolved.
        listed = Path(os.path.normpath(p.path.parent / name))
        path = listed.resolve()
        if path in seen or name in value[: value.index(name)]:
            p.add("contents", f"lists {name} twice")
        elif not path.is_relative_to(p.path.parent.resolve()):
            p.add("contents", f"{name} is outside the manuscript folder (or links out of it); copy it in")
        elif not path.is_file():
            p.add("contents", f"file not found: {name}")
        else:
            result.append(listed)
        seen.add(path)
    if not value:
        p.add("contents", "is empty; list at least one .md file or remove the key")
    return result


def _manuscript_file(p: _Problems, key: str, name: str) -> Path | None:
    """The file ``name`` of ``key``, which must exist inside the manuscript folder."""
    path = (p.path.parent / name).resolve()
    if not path.is_relative_to(p.path.parent.resolve()):
        p.add(key, f"{name} is outside the manuscript folder (or links out of it); copy it in")
    elif not path.is_file():
        p.add(key, f"file not found: {name}")
    else:
        return path
    return None


def _section(p: _Problems, data: _LineDict, key: str, known: tuple[str, ...]) -> _LineDict:
    value = data.get(key)
    if value is None:
        empty = _LineDict()
        empty.lines = {}
        return empty
    if not isinstance(value, dict):
        p.add(key, f"expected a mapping, got {_type_name(value)}")
        empty = _LineDict()
        empty.lines = {}
        return empty
    for sub in value:
        if sub not in known:
            _warn_unknown(p.path, value, str(sub), known, prefix=f"{key}.")
    return value


def _pdf_options(p: _Problems, data: _LineDict) -> PdfOptions:
    section = _section(p, data, "pdf", PDF_KEYS)
    options = PdfOptions()
    for key in PDF_KEYS:
        if key in section and section[key] is not None:
            value = section[key]
            if not isinstance(value, str):
                p.add(f"pdf.{key}", f"expected a string, got {_type_name(value)}")
                continue
            setattr(options, key, value.strip())
    if options.printer is not None:
        options.printer = options.printer.lower()
        if options.printer not in PRINTER_NAMES:
            p.add("pdf.printer", f"expected one of {', '.join(PRINTER_NAMES)}, got {options.printer!r}")
    options.paper = options.paper.lower()
    if options.paper not in PAPER_NAMES:
        p.add("pdf.paper", f"expected one of {', '.join(PAPER_NAMES)}, got {options.paper!r}")
    if options.cover_marks is not None and options.cover_marks.lower() not in ("crop", "none"):
        p.add("pdf.cover_marks", f"expected crop or none, got {options.cover_marks!r}")
    return options


def _press_options(p: _Problems, data: _LineDict) -> dict[str, Any]:
    """The keys for the cover wrap and the stores' metadata sheets (issue 13)."""
    isbns: dict[str, str] = {}
    section = _section(p, data, "isbns", ISBN_EDITIONS)
    for edition in ISBN_EDITIONS:
        value = section.get(edition)
        if value is None:
            continue
        checked = _isbn(p, str(value).strip(), f"isbns.{edition}")
        if checked:
            isbns[edition] = checked
    return {
        "cover_copy": _string(p, data, "cover_copy"),
        "author_bio": _string(p, data, "author_bio"),
        "author_photo": _relative_path(p, data, "author_photo"),
        "keywords": _string_list(p, data, "keywords"),
        "bisac": _string_list(p, data, "bisac"),
        "isbns": isbns,
    }


def _flag(p: _Problems, data: _LineDict, key: str, default: bool) -> bool:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        p.add(key, f"expected true or false, got {shown(value)}")
        return default
    return value


def _epub_options(p: _Problems, data: _LineDict) -> EpubOptions:
    section = _section(p, data, "epub", EPUB_KEYS)
    options = EpubOptions()
    if "embed_fonts" in section:
        value = section["embed_fonts"]
        if not isinstance(value, bool):
            p.add("epub.embed_fonts", f"expected true or false, got {shown(value)}")
        else:
            options.embed_fonts = value
    return options


def _limits(p: _Problems, data: _LineDict) -> Limits:
    section = _section(p, data, "limits", LIMIT_KEYS)
    limits = Limits()
    for key in LIMIT_KEYS:
        value = section.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            p.add(f"limits.{key}", f"expected a positive whole number, got {shown(value)}")
            continue
        setattr(limits, key, value)
    return limits


def _place_choice(p: _Problems, section: _LineDict, key: str, label: str, allowed: tuple[str, ...], default: str) -> str:
    value = section.get(key)
    if value is None:
        return default
    if not isinstance(value, str) or value.strip() not in allowed:
        p.add(label, f"expected one of {', '.join(allowed)}, got {value!r}")
        return default
    return value.strip()


def _notes_options(p: _Problems, data: _LineDict) -> NotesOptions:
    """``notes:`` as a mapping, or one of the old words (which keep their meaning)."""
    value = data.get("notes")
    if value is None:
        return NotesOptions()
    if isinstance(value, str):
        if value.strip() not in NOTE_STYLES:
            p.add("notes", f"expected one of {', '.join(NOTE_STYLES)} or a mapping "
                           f"{{footnotes: page|chapter|book, endnotes: book|chapter|keyed, numbering: chapter|book}}, got {value!r}")
            return NotesOptions()
        footnotes, endnotes = NOTE_STYLE_MEANING[value.strip()]
        return NotesOptions(footnotes, endnotes)
    section = _section(p, data, "notes", NOTES_KEYS)
    return NotesOptions(
        footnotes=_place_choice(p, section, "footnotes", "notes.footnotes", FOOTNOTE_PLACES, "page"),
        endnotes=_place_choice(p, section, "endnotes", "notes.endnotes", ENDNOTE_PLACES, "book"),
        numbering=_place_choice(p, section, "numbering", "notes.numbering", NUMBERING, "chapter"),
    )


def _citation_options(p: _Problems, data: _LineDict) -> CitationOptions:
    from bookmaker.citations import BUNDLED_STYLES

    files: list[Path] = []
    for name in _string_list(p, data, "bibliography"):
        path = _manuscript_file(p, "bibliography", name)
        if path is not None and path.suffix.lower() not in (".bib", ".json"):
            p.add("bibliography", f"{name}: expected a BibTeX (.bib) or CSL-JSON (.json) file")
        elif path is not None:
            files.append(path)
    style = _string(p, data, "citation-style") or "chicago-notes-bibliography"
    if style not in BUNDLED_STYLES:
        if not style.endswith(".csl"):
            p.add("citation-style", f"expected one of {', '.join(BUNDLED_STYLES)} or a .csl file, got {style!r}")
        else:
            found = _manuscript_file(p, "citation-style", style)
            style = str(found) if found is not None else style
    return CitationOptions(
        bibliography=tuple(files),
        style=style,
        notes=_choice(p, data, "citation-notes", CITATION_NOTES, "footnotes"),
        nocite=tuple(_string_list(p, data, "nocite")),
    )


def _labels(p: _Problems, data: _LineDict) -> dict[str, str]:
    """``labels:``: the author's wording for any generated string, checked against the catalogue."""
    from bookmaker.labels import check_override, label_names, suggest

    value = data.get("labels")
    if value is None:
        return {}
    if not isinstance(value, dict):
        p.add("labels", f"expected a mapping of label names to text (such as 'contents: Inhalt'), got {_type_name(value)}")
        return {}
    known = set(label_names())
    result: dict[str, str] = {}
    for key in value:
        name = str(key)
        if name not in known:
            close = suggest(name)
            hint = f"; did you mean '{close}'?" if close else " (the label names are listed in the README)"
            warn(f"'labels.{name}': unknown label{hint}", p.path, _line(value, name), code="BM120")
            continue
        text = as_text(value, key)
        if not isinstance(text, str):
            p.items.append(format_location(p.path, _line(value, name), f"'labels.{name}' expected a string, got {_type_name(text)}"))
            continue
        problem = check_override(name, text)
        if problem:
            p.items.append(format_location(p.path, _line(value, name), f"'labels.{name}' {problem}"))
            continue
        result[name] = text
    return result


def _line(data: Any, key: str) -> int | None:
    return getattr(data, "lines", {}).get(key)


def _check_language(path: Path, data: _LineDict, language: str, overrides: dict[str, str]) -> None:
    """A language without a shipped catalogue gets English generated text: say so once, with the way out."""
    from bookmaker.labels import label_names, resolve_language

    if resolve_language(language) is None and not set(label_names()) <= set(overrides):
        warn(
            f"'language': bookmaker has no catalogue of generated text for {language!r}, so contents, chapter "
            "labels and the copyright page are in English; give your wording under 'labels:' in book.yaml",
            path,
            data.lines.get("language"),
            code="BM121",
        )
