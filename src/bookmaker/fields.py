"""Text fields of book.yaml (rights, edition, description) as inline Markdown: HTML for the pages, plain text for metadata."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lxml import etree, html
from markupsafe import Markup, escape

#: The keys whose values are inline Markdown (README, "Markdown in book.yaml").
MARKDOWN_FIELDS = ("rights", "edition", "description")


@lru_cache(maxsize=64)
def _inline_tree(text: str, language: str) -> etree._Element:
    from bookmaker.markup import new_markdown
    from bookmaker.sanitize import sanitize_html

    converted = new_markdown(language).convert(text)
    tree = html.fragment_fromstring(converted or "", create_parent="div")
    # Nothing in book.yaml may carry a script or load a file, as in a chapter.
    sanitize_html(tree, Path("book.yaml"), text)
    inline = etree.Element("div")
    for block in tree:
        # Paragraphs of a field run on with a line break between them: it is one line of a page.
        if len(inline) or inline.text:
            inline.append(etree.Element("br"))
        last = inline[-1] if len(inline) else None
        if last is None:
            inline.text = (inline.text or "") + (block.text or "")
        else:
            last.tail = (last.tail or "") + (block.text or "")
        for child in block:
            inline.append(child)
    return inline


def field_html(text: str | None, language: str = "en") -> Markup:
    """A field's inline Markdown as HTML that is also well-formed XHTML (links, emphasis, code)."""
    if not text:
        return Markup("")
    tree = _inline_tree(text, language)
    parts = [str(escape(tree.text or ""))]
    parts += [etree.tostring(child, encoding="unicode", method="xml", with_tail=False) + str(escape(child.tail or ""))
              for child in tree]
    return Markup("".join(parts))


def field_text(text: str | None, language: str = "en") -> str:
    """A field as plain text, for metadata (dc:rights, the description): link text, no markup."""
    if not text:
        return ""
    return " ".join("".join(_inline_tree(text, language).itertext()).split())
