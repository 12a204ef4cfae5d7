"""Make raw HTML in Markdown safe: no scripts, embedded documents, event handlers or script URLs."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from bookmaker.log import warn

#: Elements removed with their content. Scripts and handlers would make the EPUB "scripted"
#: (EPUB 3.3, 'scripted' property) and run in some readers; frames, objects and embeds pull
#: in outside documents; <base>, <link> and <meta> change how every URL of the page resolves
#: or what it loads; a <style> in a chapter body is invalid XHTML (theme CSS styles the book).
REMOVED_ELEMENTS = frozenset(
    "script noscript iframe frame frameset object embed applet base link meta style form".split()
)
#: Attributes that may hold a URL a reader or renderer follows.
URL_ATTRIBUTES = frozenset("href src action formaction data poster background cite xlink:href lowsrc dynsrc".split())
#: Attributes that make a reader or renderer load a resource (not links, which are only followed).
RESOURCE_ATTRIBUTES = frozenset("src srcset poster data background lowsrc dynsrc".split())
#: URL schemes that run code when followed.
SCRIPT_SCHEMES = ("javascript:", "vbscript:", "livescript:", "data:text/html")
#: Control characters and spaces that browsers skip inside a scheme ("java\tscript:").
_SKIPPED_IN_SCHEME = re.compile(r"[\x00-\x20]+")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


class _Locator:
    """Find the source line of the n-th occurrence of a snippet, so repeated snippets get their own lines."""

    def __init__(self, text: str) -> None:
        self.text = text.lower()
        self.after: dict[str, int] = {}

    def line(self, *needles: str) -> int | None:
        """The line of the next occurrence of the first needle found (later needles are fallbacks)."""
        for needle in (n.lower() for n in needles if n):
            index = self.text.find(needle, self.after.get(needle, 0))
            if index < 0:
                index = self.text.find(needle)
            if index >= 0:
                self.after[needle] = index + 1
                return self.text.count("\n", 0, index) + 1
        return None


def is_script_url(value: str) -> bool:
    """Whether a URL runs code when followed (``javascript:``, ``vbscript:``, an HTML ``data:`` URL)."""
    return _SKIPPED_IN_SCHEME.sub("", value).lower().startswith(SCRIPT_SCHEMES)


def is_outside_url(value: str) -> bool:
    """Whether a resource URL names something outside the manuscript: another host, or any absolute file path."""
    value = value.strip()
    if value.lower().startswith("data:"):
        return False  # self-contained
    return bool(_SCHEME.match(value)) or value.startswith(("//", "/"))


def sanitize_html(body: etree._Element, source: Path, text: str) -> None:
    """Remove dangerous raw HTML from a chapter tree in place, warning at the line of each removal."""
    where = _Locator(text)
    removed: set[etree._Element] = set()
    for el in list(body.iter()):
        if not isinstance(el.tag, str) or any(a in removed for a in el.iterancestors()):
            continue  # a comment, or inside an element removed already
        tag = el.tag.lower()
        if tag in REMOVED_ELEMENTS:
            warn(f"removed <{tag}>: {_why(tag)}", source, where.line(f"<{tag}"), code="BM601")
            removed.add(el)
            el.drop_tree()  # lxml.html keeps the tail text, which belongs to the parent
            continue
        for name, value in list(el.attrib.items()):
            lname = name.lower()
            if lname.startswith("on"):
                warn(f"removed the '{lname}' attribute of <{tag}>: books carry no scripts", source, where.line(f"{lname}="), code="BM601")
                del el.attrib[name]
            elif lname in URL_ATTRIBUTES and is_script_url(value):
                # The parser decoded entities, so the source may spell the URL differently: fall back to the attribute.
                shown = " ".join(value.split())[:40]
                warn(f"removed a '{shown}' URL from <{tag}>: books carry no scripts", source, where.line(value.strip(), f"{lname}="), code="BM601")
                del el.attrib[name]
            elif lname in URL_ATTRIBUTES and tag != "img" and value.strip().lower().startswith("file:"):
                # EPUB forbids file: URLs (EPUBCheck RSC-030), and such a link works on no reader's machine.
                warn(f"removed the link to '{value.strip()[:60]}': a file on this computer is not part of the book", source, where.line(value.strip(), f"{lname}="), code="BM601")
                del el.attrib[name]
            elif lname in RESOURCE_ATTRIBUTES and tag != "img" and is_outside_url(value):
                # <img> is checked by transforms.collect_images, which fails with a clear error instead.
                warn(f"removed '{value.strip()[:60]}' from <{tag}>: a book loads nothing from outside the manuscript", source, where.line(value.strip(), f"{lname}="), code="BM601")
                del el.attrib[name]
            elif lname == "rel" and "attachment" in value.lower().split():
                # WeasyPrint embeds rel=attachment targets into the PDF (GHSA-35jj-wx47-4w8r).
                warn(f"removed rel=\"attachment\" from <{tag}>: files are not attached to the book", source, where.line("attachment"), code="BM601")
                kept = [v for v in value.split() if v.lower() != "attachment"]
                if kept:
                    el.set(name, " ".join(kept))
                else:
                    del el.attrib[name]
            elif lname == "style" and ("url(" in value.lower() or "expression(" in value.lower()):
                # A style attribute is the one CSS the theme does not control; keep it from loading anything.
                warn(f"removed a style attribute of <{tag}> that loads a resource; style the book in its theme", source, where.line("style="), code="BM601")
                del el.attrib[name]


def _why(tag: str) -> str:
    if tag in ("script", "noscript"):
        return "books carry no scripts"
    if tag in ("base", "link", "meta", "style"):
        return "a chapter cannot change how the book loads or styles its files; use the theme"
    if tag == "form":
        return "books have no forms"
    return "a book does not embed outside documents"



#: Elements an SVG image may not hold: they run code or embed other documents.
SVG_FORBIDDEN = frozenset("script foreignobject iframe object embed".split())
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*(?!#|data:)[^)'\"\s]|@import", re.I)


def svg_problem(data: bytes) -> str | None:
    """Why an SVG image cannot go into the book (scripts, outside references), or None if it can.

    An SVG is packed into the EPUB as the author wrote it, so it is checked, not rewritten:
    a script would make the EPUB scripted, and a reference outside the file (``file:``,
    ``http:``, ``../``) would load something outside the project or break EPUBCheck (RSC-030).
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return f"is not well-formed SVG ({exc})"
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        # External entities read files and nested ones explode in memory ("billion laughs").
        return "declares XML entities, which a book image may not hold"
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = etree.QName(el).localname.lower()
        if tag in SVG_FORBIDDEN:
            return f"contains <{tag}>, which a book image may not hold"
        if tag == "style" and _CSS_URL.search(el.text or ""):
            return "has a <style> that loads another file"
        for name, value in el.attrib.items():
            local = etree.QName(name).localname.lower()
            if local.startswith("on"):
                return f"has an event handler ('{local}'), which a book image may not hold"
            if local == "href" and not value.strip().startswith(("#", "data:image/")):
                return f"refers to '{value.strip()[:60]}' outside the image; embed it or remove the reference"
            if local == "style" and _CSS_URL.search(value):
                return "has a style attribute that loads another file"
    return None
