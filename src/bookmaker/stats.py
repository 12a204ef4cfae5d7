"""``bookmaker stats``: words, notes and figures per chapter, estimated print pages and reading time."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field

from bookmaker.model import Book, Chapter
from bookmaker.transforms import text_of

#: Words on a full page of the default 6x9 in theme (11 pt EB Garamond, 1.38 leading).
WORDS_PER_PAGE = 330
#: Silent reading speed of an adult reader of non-fiction (Brysbaert 2019: 238 wpm).
WORDS_PER_MINUTE = 238
#: Half-title, title, copyright and contents pages, with the blank pages between them.
FRONT_PAGES = 5
#: A figure takes about half a page.
PAGES_PER_FIGURE = 0.5

# Chinese, Japanese and Korean scripts have no spaces: each character counts as a word.
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_WORD_RE = re.compile(r"[^\W_](?:[\w\u2019'.-]*\w)?")


@dataclass
class ChapterStats:
    """The counts of one manuscript file."""

    file: str
    title: str
    kind: str
    words: int
    notes: int
    figures: int


@dataclass
class BookStats:
    """The counts of the whole book and the estimates derived from them."""

    chapters: list[ChapterStats] = field(default_factory=list)
    words: int = 0
    notes: int = 0
    figures: int = 0
    pages: int = 0
    reading_minutes: int = 0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def count_words(text: str) -> int:
    """Words in running text; every CJK character counts as one."""
    cjk = len(_CJK_RE.findall(text))
    return cjk + len(_WORD_RE.findall(_CJK_RE.sub(" ", text)))


def chapter_stats(chapter: Chapter, root_name: str) -> ChapterStats:
    """Count one chapter: its body and its notes."""
    words = count_words(chapter.title if chapter.show_title else "") + count_words(text_of(chapter.body))
    words += sum(count_words(text_of(note.body)) for note in chapter.notes)
    return ChapterStats(
        file=root_name,
        title=chapter.title,
        kind=chapter.kind,
        words=words,
        notes=len(chapter.notes),
        figures=len(chapter.body.findall(".//figure")),
    )


def book_stats(book: Book) -> BookStats:
    """Count every chapter and estimate the printed length and the reading time."""
    stats = BookStats()
    pages = float(FRONT_PAGES)
    for chapter in book.chapters:
        try:
            name = chapter.source.relative_to(book.config.root).as_posix()
        except ValueError:
            name = chapter.source.name
        cs = chapter_stats(chapter, name)
        stats.chapters.append(cs)
        # Chapters open on a right-hand page (print.css), so each fills an even number of pages.
        own = max(1, math.ceil(cs.words / WORDS_PER_PAGE + cs.figures * PAGES_PER_FIGURE))
        pages += own + own % 2
    stats.words = sum(c.words for c in stats.chapters)
    stats.notes = sum(c.notes for c in stats.chapters)
    stats.figures = sum(c.figures for c in stats.chapters)
    stats.pages = int(pages)
    stats.reading_minutes = math.ceil(stats.words / WORDS_PER_MINUTE)
    return stats


def format_table(stats: BookStats) -> str:
    """The statistics as an aligned plain-text table."""
    rows = [(c.file, c.title, f"{c.words:,}", str(c.notes), str(c.figures)) for c in stats.chapters]
    total = ("", "Total", f"{stats.words:,}", str(stats.notes), str(stats.figures))
    header = ("File", "Title", "Words", "Notes", "Figures")
    widths = [max(len(r[i]) for r in rows + [total, header]) for i in range(5)]
    widths[1] = min(widths[1], 40)

    def line(row: tuple[str, ...]) -> str:
        title = row[1] if len(row[1]) <= widths[1] else row[1][: widths[1] - 1] + "\u2026"
        cells = [row[0].ljust(widths[0]), title.ljust(widths[1])] + [cell.rjust(w) for cell, w in zip(row[2:], widths[2:])]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    hours, minutes = divmod(stats.reading_minutes, 60)
    reading = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    out = [line(header), rule, *(line(r) for r in rows), rule, line(total), ""]
    out.append(f"Estimated print pages: {stats.pages} (6x9 in, default theme)")
    out.append(f"Reading time: about {reading} at {WORDS_PER_MINUTE} words a minute")
    return "\n".join(out)
