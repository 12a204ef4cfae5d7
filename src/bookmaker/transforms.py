"""Book-wide passes over the chapters: ids, numbering, table of contents, links and images."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lxml import etree

from bookmaker.config import Limits
from bookmaker.errors import ManuscriptError, Report
from bookmaker.limits import bound_decoders, check_pixels, image_header
from bookmaker.log import warn
from bookmaker.markup import fresh_id, line_in_file
from bookmaker.model import OPENING_KINDS, Book, Chapter, Image, TocEntry
from bookmaker.sandbox import require_inside
from bookmaker.sanitize import svg_problem

#: Image types both outputs can carry (EPUB 3 core media types that WeasyPrint draws).
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}
_SVG_TYPE = "image/svg+xml"


def slugify(text: str) -> str:
    """ASCII lower-case words joined by hyphens ('Lei Jun: A Life' -> 'lei-jun-a-life')."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def chapter_id_for(path: Path, root: Path, taken: set[str], reserved: frozenset[str] = frozenset()) -> str:
    """A stable, unique id for a chapter, from its path in the book ('03-kingsoft.md' -> 'kingsoft',
    'part-2/chapter-1.md' -> 'part-2-chapter-1'), avoiding ``taken`` (then added to it) and ``reserved``."""
    # config.load_config resolves the root, so every chapter path is below it whatever the cwd.
    stem = path.relative_to(root).with_suffix("").as_posix() if path.is_relative_to(root) else path.stem
    base = slugify(re.sub(r"(^|/)\d+[-_. ]*", r"\1", stem)) or slugify(stem) or "chapter"
    if not base[0].isalpha():
        base = f"c-{base}"
    candidate = fresh_id(base, taken | reserved)
    taken.add(candidate)
    return candidate


def place_matter(book: Book, report: Report | None = None) -> None:
    """Front matter listed after the body matter began belongs to the body; say so unless it is a display page.

    The author's order is the reading order of every output (nothing is moved); a foreword
    after chapter 3 is printed there, as body matter with arabic folios.
    """
    started: Chapter | None = None
    for chapter in book.chapters:
        chapter.placed_matter = None
        if chapter.matter != "front":
            started = started or chapter
        elif started is not None:
            chapter.placed_matter = "body"
            if chapter.kind not in OPENING_KINDS:
                warn(
                    f"the {chapter.kind} '{chapter.title}' comes after '{started.title}', where the body matter begins; "
                    f"it is printed there with arabic page numbers (move it up in 'contents' to make it front matter)",
                    chapter.source, chapter.body_line, code="BM110",
                )


def number_chapters(book: Book, report: Report | None = None) -> None:
    """Number chapters through the book and parts separately; attach chapters to their part."""
    chapter_no = part_no = 0
    current_part: str | None = None
    for chapter in book.chapters:
        if chapter.kind == "part":
            part_no += 1
            chapter.number = part_no
            current_part = chapter.id
        elif chapter.kind == "chapter":
            chapter_no += 1
            chapter.number = chapter_no
            chapter.part = current_part
        elif chapter.matter != "body":
            current_part = None
        else:
            chapter.part = current_part


def build_toc(book: Book, report: Report | None = None) -> None:
    """Nest chapters under their parts for the contents page, the outline and the nav."""
    toc: list[TocEntry] = []
    parts: dict[str, TocEntry] = {}
    for chapter in book.chapters:
        entry = TocEntry(chapter)
        if chapter.kind == "part":
            parts[chapter.id] = entry
            toc.append(entry)
        elif chapter.part in parts:
            parts[chapter.part].children.append(entry)
        else:
            toc.append(entry)
    book.toc = toc


def _chapter_ids(chapter: Chapter) -> list[str]:
    ids = [chapter.id] + [el.get("id") for el in chapter.body.iter() if isinstance(el.tag, str) and el.get("id")]
    return ids + [n.id for n in chapter.notes]


def id_owners(book: Book) -> dict[str, Chapter]:
    """Map every id of the book to the chapter that holds it (the first one, if it is duplicated)."""
    owners: dict[str, Chapter] = {}
    for chapter in book.chapters:
        for anchor in _chapter_ids(chapter):
            owners.setdefault(anchor, chapter)
    return owners


def check_ids(book: Book, report: Report) -> None:
    """Report every id used twice: links to it would break."""
    owners: dict[str, Chapter] = {}
    for chapter in book.chapters:
        for anchor in _chapter_ids(chapter):
            first = owners.get(anchor)
            if first is None:
                owners[anchor] = chapter
            else:
                report.add(
                    ManuscriptError(
                        f"duplicate id '{anchor}' (also in {_in_book(book, first.source)}); ids must be unique in the book",
                        chapter.source,
                        _line_in(chapter, f"#{anchor}") or _line_in(chapter, anchor),
                        code="BM402",
                    )
                )


def resolve_links(book: Book, report: Report | None = None) -> None:
    """Turn relative hrefs into (chapter, anchor) placeholders; warn on links that go nowhere."""
    owners = id_owners(book)
    by_source = {c.source.resolve(): c for c in book.chapters}
    for chapter in book.chapters:
        trees = [chapter.body] + [n.body for n in chapter.notes]
        for tree in trees:
            for a in tree.iter("a"):
                href = a.get("href")
                if href is None:
                    continue
                parts = urlsplit(href)
                if parts.scheme or href.startswith("//"):
                    continue
                target_chapter: Chapter | None = chapter
                if parts.path:
                    target = (chapter.source.parent / unquote(parts.path)).resolve()
                    target_chapter = by_source.get(target)
                anchor = unquote(parts.fragment) or None
                if target_chapter is None or (anchor and owners.get(anchor) is not target_chapter):
                    warn(f"link '{href}' points nowhere in the book", chapter.source, _line_in(chapter, href), code="BM401")
                    del a.attrib["href"]
                    continue
                del a.attrib["href"]
                a.set("data-chapter", target_chapter.id)
                if anchor and anchor != target_chapter.id:
                    a.set("data-anchor", anchor)


def collect_images(book: Book, report: Report) -> None:
    """Check every image, give it a unique package name and point the <img> at it."""
    names: dict[Path, str] = {}
    max_pixels = book.config.limits.max_image_pixels
    bound_decoders(max_pixels)
    for chapter in book.chapters:
        # A note's images take the same checks, and are packed the same way, as the body's.
        for tree in [chapter.body] + [note.body for note in chapter.notes]:
            for img in tree.iter("img"):
                with report.collecting():
                    _collect_image(book, chapter, img, names)
    cover = book.config.cover
    if cover is not None:
        line = line_in_file(book.config.path, "cover:")
        try:
            read_image(cover, book.config.path, line, cover.name, max_pixels=max_pixels)
        except ManuscriptError as exc:
            # Found now, not halfway through packaging, and named by its book.yaml key.
            report.add(ManuscriptError(f"'cover': {exc.message}; the cover must be a PNG, JPEG or GIF image",
                                       exc.path, line, code="BM503"))


def _collect_image(book: Book, chapter: Chapter, img: etree._Element, names: dict[Path, str]) -> None:
    src = img.get("src") or ""
    line = _line_in(chapter, src)
    if urlsplit(src).scheme:
        raise ManuscriptError(
            f"image '{src}' is not a file in the manuscript (remote images are not fetched)", chapter.source, line, code="BM505"
        )
    try:
        require_inside(chapter.source.parent / unquote(src), book.config.root, f"image '{src}'", chapter.source, line)
    except ManuscriptError as exc:
        exc.code = "BM505"
        raise
    path = (chapter.source.parent / unquote(src)).resolve()
    if not (img.get("alt") or "").strip():
        warn(f"image '{src}' has no alt text; describe it for readers who cannot see it", chapter.source, line, code="BM502")
    if path not in names:
        image = read_image(path, chapter.source, line, src, max_pixels=book.config.limits.max_image_pixels)
        image.name = unique_image_name(path, set(book.images), book.config.root, image.media_type)
        book.images[image.name] = image
        names[path] = image.name
    del img.attrib["src"]
    img.set("data-asset", names[path])


def read_image(path: Path, source: Path, line: int | None, src: str, max_pixels: int | None = None) -> Image:
    """Open an image far enough to know its type and size; refuse what the outputs cannot carry."""
    if not path.is_file():
        raise ManuscriptError(f"image not found: {src}", source, line, code="BM501")
    if path.suffix.lower() == ".svg":
        problem = svg_problem(path.read_bytes())
        if problem:
            raise ManuscriptError(f"image '{src}' {problem}", source, line, code="BM503")
        return Image(name="", source=path, media_type=_SVG_TYPE, width=0, height=0)
    try:
        with image_header(path) as im:
            fmt, (width, height) = im.format, im.size
            check_pixels(width, height, max_pixels or Limits.max_image_pixels, src, source, line)
            im.verify()
    except ManuscriptError as exc:
        exc.code = "BM503"
        raise
    except Exception as exc:  # Pillow raises many types for broken files
        # Pillow's message repeats the absolute path; the author needs only what is wrong.
        raise ManuscriptError(f"image '{src}' cannot be read: it is corrupt or not an image ({exc.__class__.__name__})",
                              source, line, code="BM503") from None
    if fmt not in IMAGE_TYPES:
        raise ManuscriptError(f"image '{src}' is {fmt}; use PNG, JPEG, GIF or SVG", source, line, code="BM503")
    if fmt == "JPEG" and not path.read_bytes().rstrip(b"\0")[-2:] == b"\xff\xd9":
        # Pillow's verify() reads only the header of a JPEG; a file cut short prints half grey.
        warn(f"image '{src}' is cut short (its JPEG data ends before the end-of-image marker): "
             "part of it will print grey; export it again", source, line, code="BM612")
    return Image(name="", source=path, media_type=IMAGE_TYPES[fmt], width=width, height=height)


#: The file extension of each image type in the EPUB: named by what the file is, not what it is called.
_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", _SVG_TYPE: ".svg"}


def unique_image_name(path: Path, taken: set[str], root: Path, media_type: str | None = None) -> str:
    """A package file name for an image: its own name (with the extension of its real type), unique with a short hash if needed."""
    stem = slugify(path.stem) or "image"
    suffix = path.suffix.lower()
    if media_type in _EXTENSIONS and _EXTENSIONS[media_type] != suffix and not (media_type == "image/jpeg" and suffix == ".jpeg"):
        suffix = _EXTENSIONS[media_type]  # a PNG saved as photo.jpg is packed as photo.png
    name = f"{stem}{suffix}"
    if name in taken:
        # Hash the path inside the book, not on the disk: the same book gives the same names anywhere.
        where = path.relative_to(root.resolve()).as_posix() if path.is_relative_to(root.resolve()) else path.name
        digest = hashlib.sha1(where.encode()).hexdigest()[:8]
        name = f"{stem}-{digest}{suffix}"
    return name


def set_identifier(book: Book, report: Report | None = None) -> None:
    """Give the book its dc:identifier (see ``derive_identifier``)."""
    book.identifier = derive_identifier(book)


def derive_identifier(book: Book) -> str:
    """The book's dc:identifier: given, or the ISBN, or a UUID derived from title and authors."""
    config = book.config
    if config.identifier:
        return config.identifier
    if config.isbn:
        return f"urn:isbn:{config.isbn}"
    import uuid

    # The title as typed: smart quotes in it must not change the identifier of an existing book.
    seed = "|".join([config.title_as_written or config.title, config.subtitle_as_written or ""] + [a.name for a in config.authors])
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'bookmaker:' + seed)}"


def _in_book(book: Book, path: Path) -> str:
    """A chapter's path as the author names it in ``contents`` (file names may repeat in subfolders)."""
    root = book.config.root
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name


def _line_in(chapter: Chapter, needle: str) -> int | None:
    return line_in_file(chapter.source, needle)


def text_of(el: etree._Element) -> str:
    """The whitespace-normalised text of an element."""
    return " ".join("".join(el.itertext()).split())
