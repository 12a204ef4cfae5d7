"""Give every block of every chapter body a stable id, so print pages can be located in the ebook."""

from __future__ import annotations

from bookmaker.model import Book

#: Elements that start on a line of their own in print. Rows and list items are included so
#: that a page starting inside a long table or list is still found at the row or item.
BLOCK_TAGS = frozenset(
    "p h1 h2 h3 h4 h5 h6 blockquote ul ol li dl dt dd figure figcaption table tr pre hr div section aside".split()
)


def anchor_blocks(book: Book, report: Report | None = None) -> None:
    """Set ``id="{chapter id}-b{n}"`` on every block without an id (n counts blocks in document order).

    The PDF reports the page of every id it lays out (``Book.print_layout``); the EPUB builder
    puts its page-break markers before the first block of each page.  Ids depend only on
    the chapter's own text, so they are stable between builds.  Notes are not numbered:
    in print they sit at the foot of the page, outside the reading order of the text.
    """
    taken = {chapter.id for chapter in book.chapters}
    for chapter in book.chapters:
        taken.update(el.get("id") for el in chapter.body.iter() if isinstance(el.tag, str) and el.get("id"))
        taken.update(n.id for n in chapter.notes)
        taken.update(n.ref_id for n in chapter.notes)
    for chapter in book.chapters:
        number = 0
        for el in chapter.body.iterdescendants():
            if not isinstance(el.tag, str) or el.tag not in BLOCK_TAGS or el.get("id"):
                continue
            number += 1
            candidate = f"{chapter.id}-b{number}"
            while candidate in taken:
                number += 1
                candidate = f"{chapter.id}-b{number}"
            taken.add(candidate)
            el.set("id", candidate)
