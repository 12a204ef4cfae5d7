"""Make raw HTML in Markdown safe for both outputs: an allow-list of elements and attributes, one URL check, CSS parsed."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

import nh3
import tinycss2
from lxml import etree, html

from bookmaker.log import warn

# Raw HTML is sanitized twice over.  bookmaker's own walk (below) applies the allow-list to the
# parsed tree and warns at the line of every removal; then nh3 (Ammonia, a maintained
# html5ever-based sanitizer) cleans the serialized result with the same allow-list and the same
# URL check, so that markup that parses differently in an HTML5 parser than in libxml2 (the
# classic mutation-XSS trick) still cannot carry anything through.

#: Elements removed with their content. Scripts and handlers would make the EPUB "scripted"
#: (EPUB 3.3, 'scripted' property) and run in some readers; frames, objects and embeds pull
#: in outside documents; <base>, <link> and <meta> change how every URL of the page resolves
#: or what it loads; a <style> in a chapter body is invalid XHTML (theme CSS styles the book);
#: SVG's <set> and <animate*> can rewrite an href to javascript: after the sanitizer looked.
REMOVED_ELEMENTS = frozenset(
    "script noscript iframe frame frameset object embed applet base link meta style form template "
    "textarea select button input title set animate animatemotion animatetransform discard "
    "foreignobject audio video source track canvas portal dialog".split()
)
#: Obsolete presentational elements (HTML Living Standard, "Obsolete features"): their text is
#: kept, the element goes; the theme styles the book.
OBSOLETE_ELEMENTS = frozenset("blink marquee center font big tt strike acronym basefont nobr spacer xmp listing plaintext".split())

HTML_ELEMENTS = frozenset(
    "a abbr address article aside b bdi bdo blockquote br caption cite code col colgroup dd del details dfn div dl "
    "dt em figcaption figure footer h1 h2 h3 h4 h5 h6 header hgroup hr i img ins kbd li mark ol p pre q rp rt ruby "
    "s samp section small span strong sub summary sup table tbody td tfoot th thead time tr u ul var wbr".split()
)
#: Inline SVG and MathML that draw or typeset, nothing that scripts, animates or embeds.
SVG_ELEMENTS = frozenset(
    "svg g path circle ellipse line polyline polygon rect text tspan desc defs use symbol lineargradient "
    "radialgradient stop clippath mask pattern image marker".split()
)
MATH_ELEMENTS = frozenset(
    "math mi mn mo ms mtext mspace mrow mfrac msqrt mroot mstyle merror mpadded mphantom menclose msub msup "
    "msubsup munder mover munderover mmultiscripts mprescripts none mtable mtr mtd semantics annotation".split()
)
ALLOWED_ELEMENTS = HTML_ELEMENTS | SVG_ELEMENTS | MATH_ELEMENTS
#: SVG is case-sensitive; the HTML parser lowers every name, so the SVG spelling is put back.
SVG_CASE = {
    name.lower(): name
    for name in (
        "viewBox preserveAspectRatio gradientUnits gradientTransform spreadMethod clipPathUnits maskUnits "
        "patternUnits patternContentUnits patternTransform markerWidth markerHeight markerUnits refX refY "
        "linearGradient radialGradient clipPath"
    ).split()
}

#: Attributes every allowed element may carry (``data-*`` and ``aria-*`` too): what spans.py writes
#: (class, id, lang, data-*) and what Markdown writes (title, style for table alignment).
GLOBAL_ATTRIBUTES = frozenset("class id lang title dir role style".split())
GLOBAL_PREFIXES = ("data-", "aria-")
_SVG_ATTRIBUTES = frozenset(
    "xmlns xmlns:xlink viewbox width height x y x1 x2 y1 y2 cx cy r rx ry d points transform fill stroke "
    "stroke-width stroke-linecap stroke-linejoin stroke-dasharray stroke-dashoffset stroke-opacity "
    "stroke-miterlimit fill-opacity fill-rule clip-rule opacity font-size font-family font-weight font-style "
    "text-anchor dominant-baseline dx dy offset stop-color stop-opacity gradientunits gradienttransform "
    "spreadmethod fx fy preserveaspectratio clip-path clippathunits mask maskunits patternunits "
    "patterncontentunits marker-start marker-mid marker-end markerwidth markerheight refx refy orient "
    "visibility display href xlink:href version".split()
)
_MATH_ATTRIBUTES = frozenset(
    "xmlns display mathvariant mathsize mathcolor displaystyle scriptlevel form fence separator stretchy "
    "symmetric largeop movablelimits accent accentunder linethickness notation rowalign columnalign "
    "rowspan columnspan encoding width height depth lspace rspace".split()
)
ELEMENT_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "hreflang", "rel"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "td": frozenset({"colspan", "rowspan", "align"}),
    "th": frozenset({"colspan", "rowspan", "align", "scope", "abbr"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "ol": frozenset({"start", "reversed", "type"}),
    "li": frozenset({"value"}),
    "time": frozenset({"datetime"}),
    "q": frozenset({"cite"}),
    "blockquote": frozenset({"cite"}),
    "del": frozenset({"cite", "datetime"}),
    "ins": frozenset({"cite", "datetime"}),
    "bdo": frozenset(),
    **{tag: _SVG_ATTRIBUTES for tag in SVG_ELEMENTS},
    **{tag: _MATH_ATTRIBUTES for tag in MATH_ELEMENTS},
}

#: Attributes whose value is a link a reader follows on a click (never loaded by itself).
LINK_ATTRIBUTES = frozenset({"href", "cite"})
#: Attributes of SVG that may hold ``url(#id)`` paint servers, clips and markers.
_SVG_REFERENCE_ATTRIBUTES = frozenset("fill stroke clip-path mask marker-start marker-mid marker-end filter".split())

SVG_NS = "http://www.w3.org/2000/svg"
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
XLINK_NS = "http://www.w3.org/1999/xlink"

#: URL schemes that run code when followed.
SCRIPT_SCHEMES = ("javascript:", "vbscript:", "livescript:", "data:text/html")
#: Schemes a link in a book may use (EPUB 3.3: remote links are allowed, file: never is).
LINK_SCHEMES = ("http", "https", "mailto", "tel")
#: Control characters and spaces that browsers skip inside a scheme ("java\tscript:").
_SKIPPED_IN_SCHEME = re.compile(r"[\x00-\x20]+")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
#: CSS functions that load something (CSS Images 4, CSS Values 4); ``url`` is a token of its own.
_CSS_LOADING_FUNCTIONS = frozenset({"url", "src", "image", "image-set", "-webkit-image-set", "cross-fade", "element", "expression"})
#: CSS properties that run code in old engines.
_CSS_CODE_PROPERTIES = frozenset({"behavior", "-moz-binding"})


def url_problem(value: str, kind: str) -> str | None:
    """Why a URL may not stay in the book, or None.  The one check for every URL-bearing attribute and CSS value.

    ``kind`` is ``link`` (followed on a click: http(s), mailto, tel, or inside the book),
    ``resource`` (loaded by itself: only a relative path inside the book or a ``data:image``),
    or ``fragment`` (SVG references and CSS in the text: only ``#id`` or a ``data:image``).
    """
    compact = _SKIPPED_IN_SCHEME.sub("", value).lower()
    if compact.startswith(SCRIPT_SCHEMES):
        return "books carry no scripts"
    if compact.startswith("data:"):
        return None if compact.startswith("data:image/") and kind != "link" else "a data: URL here is not an image"
    scheme = _SCHEME.match(compact)
    if kind == "fragment":
        return None if compact.startswith("#") else "a drawing or style in the text may only refer to '#id' inside the page"
    if kind == "link":
        if scheme and scheme.group(1) not in LINK_SCHEMES:
            return "a file on this computer is not part of the book" if scheme.group(1) == "file" else f"'{scheme.group(1)}:' links do not work in a book"
        return None
    if scheme or compact.startswith(("//", "/", "\\")):
        return "a book loads nothing from outside the manuscript"
    return None


def is_script_url(value: str) -> bool:
    """Whether a URL runs code when followed (``javascript:``, ``vbscript:``, an HTML ``data:`` URL)."""
    return _SKIPPED_IN_SCHEME.sub("", value).lower().startswith(SCRIPT_SCHEMES)


def is_outside_url(value: str) -> bool:
    """Whether a resource URL names something outside the manuscript: another host, or any absolute file path."""
    return url_problem(value, "resource") is not None and not is_script_url(value)


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


def css_problems(css: str, kind: str = "fragment") -> list[str]:
    """What in a list of CSS declarations (a style attribute) loads something or runs code."""
    found = []
    for decl in tinycss2.parse_blocks_contents(css, skip_comments=True, skip_whitespace=True):
        if decl.type == "declaration":
            if decl.lower_name in _CSS_CODE_PROPERTIES:
                found.append(f"'{decl.lower_name}' runs code")
            found += _token_problems(decl.value, kind)
        elif decl.type == "error":
            continue
        else:
            found += _token_problems(getattr(decl, "prelude", []) + (getattr(decl, "content", None) or []), kind)
    return found


def _token_problems(tokens: list, kind: str) -> list[str]:  # type: ignore[type-arg]
    """URLs in CSS tokens (escapes such as '\\75 rl(' are already decoded by the tokenizer), checked by url_problem."""
    found = []
    for token in tokens:
        if token.type == "url":
            problem = url_problem(token.value, kind)
            if problem:
                found.append(f"url({_short(token.value)}): {problem}")
        elif token.type == "function":
            if token.lower_name in _CSS_LOADING_FUNCTIONS - {"url", "src"} and (kind == "fragment" or token.lower_name == "expression"):
                # In the text, no image is loaded at all; a theme may use image-set() of its own files.
                found.append(f"{token.lower_name}() loads or computes an image")
                continue
            if token.lower_name in _CSS_LOADING_FUNCTIONS:
                for arg in token.arguments:
                    if arg.type == "string":
                        problem = url_problem(arg.value, kind)
                        if problem:
                            found.append(f"{token.lower_name}({_short(arg.value)}): {problem}")
            found += _token_problems(token.arguments, kind)
        elif token.type in ("() block", "[] block", "{} block"):
            found += _token_problems(token.content, kind)
    return found


def clean_declarations(css: str) -> tuple[str, list[str]]:
    """A style attribute without its declarations that load or run something; and what was removed."""
    kept, removed = [], []
    for decl in tinycss2.parse_blocks_contents(css, skip_comments=True, skip_whitespace=True):
        if decl.type != "declaration":
            removed.append("text that is not a CSS declaration")
            continue
        problems = css_problems(decl.serialize())
        if problems:
            removed += problems
        else:
            kept.append(decl.serialize().strip().rstrip(";"))
    return "; ".join(kept), removed


def _short(value: str, limit: int = 60) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "\u2026"


def _attribute_verdict(tag: str, name: str, value: str) -> tuple[str | None, str | None]:
    """(new value or None to remove, why) for one attribute of an allowed element."""
    if name.startswith("on"):
        return None, "books carry no scripts"
    allowed = ELEMENT_ATTRIBUTES.get(tag, frozenset())
    if not (name in GLOBAL_ATTRIBUTES or name in allowed or name.startswith(GLOBAL_PREFIXES)):
        return None, "the attribute is not one a book keeps"
    if name == "rel":
        # WeasyPrint embeds rel=attachment targets into the PDF (GHSA-35jj-wx47-4w8r).
        kept = [v for v in value.split() if v.lower() != "attachment"]
        return (" ".join(kept) or None, "files are not attached to the book") if len(kept) < len(value.split()) else (value, None)
    if name == "style":
        cleaned, removed = clean_declarations(value)
        if removed:
            return (cleaned or None), f"{removed[0]}; style the book in its theme"
        return value, None
    if tag in SVG_ELEMENTS and name in ("href", "xlink:href"):
        problem = url_problem(value, "fragment")
        return (None, problem) if problem else (value, None)
    if name in LINK_ATTRIBUTES:
        problem = url_problem(value, "link")
        return (None, problem) if problem else (value, None)
    if name == "src":
        # <img src> is checked (and the file packed) by transforms.collect_images, with a clear error.
        return (None, "books carry no scripts") if is_script_url(value) else (value, None)
    if tag in SVG_ELEMENTS and name in _SVG_REFERENCE_ATTRIBUTES and "(" in value:
        problems = _token_problems(tinycss2.parse_component_value_list(value), "fragment")
        return (None, problems[0]) if problems else (value, None)
    return value, None


def sanitize_html(body: etree._Element, source: Path, text: str) -> None:
    """Apply the allow-list to a chapter tree in place, warning at the line of each removal; then nh3 over it."""
    where = _Locator(text)

    def removed(message: str, *needles: str) -> None:
        warn(message, source, where.line(*needles), code="BM601")

    for el in list(body.iter()):
        if el is body or not isinstance(el.tag, str) or _detached(el, body):
            continue
        tag = el.tag.lower()
        if tag in REMOVED_ELEMENTS:
            removed(f"removed <{tag}>: {_why(tag)}", f"<{tag}")
            el.drop_tree()  # lxml.html keeps the tail text, which belongs to the parent
            continue
        if tag not in ALLOWED_ELEMENTS:
            why = "an obsolete element; style the book in its theme" if tag in OBSOLETE_ELEMENTS else "not an element a book keeps"
            if tag == "center":
                removed("replaced <center> by a <div class=\"center\">: an obsolete element; style it in the theme", "<center")
                el.tag = "div"
                el.attrib.clear()
                el.set("class", "center")
            else:
                removed(f"removed <{tag}> (its text kept): {why}", f"<{tag}")
                el.drop_tag()
            continue
        for name, value in list(el.attrib.items()):
            lname = name.lower()
            new, why = _attribute_verdict(tag, lname, value)
            if why is None:
                continue
            if lname == "style":
                message = f"removed a style attribute declaration from <{tag}>: {why}"
            elif lname == "rel":
                message = f"removed rel=\"attachment\" from <{tag}>: {why}"
            elif lname in LINK_ATTRIBUTES | {"src", "xlink:href"}:
                message = f"removed a '{_short(value, 40)}' URL from <{tag}>: {why}"
            else:
                message = f"removed the '{lname}' attribute of <{tag}>: {why}"
            removed(message, value.strip(), f"{lname}=")
            if new is None:
                del el.attrib[name]
            else:
                el.set(name, new)
    _nh3_pass(body)
    _declare_namespaces(body)


def _detached(el: etree._Element, body: etree._Element) -> bool:
    """Whether ``el`` was removed with an ancestor already (drop_tree detaches it from ``body``)."""
    for ancestor in el.iterancestors():
        if ancestor is body:
            return False
    return True


def _nh3_pass(body: etree._Element) -> None:
    """Clean the serialized tree with nh3 under the same allow-list, and put its result in place."""
    markup = (escape(body.text, quote=False) if body.text else "") + "".join(
        etree.tostring(child, encoding="unicode", method="html") for child in body
    )
    # html5ever gives SVG its own spelling (viewBox, linearGradient): allow both spellings.
    attributes = {
        SVG_CASE.get(tag, tag): set(names) | {SVG_CASE.get(n, n) for n in names} | set(GLOBAL_ATTRIBUTES)
        for tag, names in ELEMENT_ATTRIBUTES.items()
    }
    attributes["*"] = set(GLOBAL_ATTRIBUTES)
    cleaned = nh3.clean(
        markup,
        tags=set(ALLOWED_ELEMENTS) | {SVG_CASE.get(tag, tag) for tag in SVG_ELEMENTS},
        clean_content_tags=set(REMOVED_ELEMENTS) - set(ALLOWED_ELEMENTS),
        attributes=attributes,
        attribute_filter=lambda tag, name, value: _attribute_verdict(tag.lower(), name.lower(), value)[0],
        generic_attribute_prefixes=set(GLOBAL_PREFIXES),
        url_schemes=set(LINK_SCHEMES) | {"data"},
        link_rel=None,
        strip_comments=True,
    )
    fresh = html.fragment_fromstring(cleaned, create_parent="div", parser=_PARSER)
    for child in list(body):
        body.remove(child)
    body.text = fresh.text
    body.extend(list(fresh))


_PARSER = html.HTMLParser(huge_tree=True)


def _declare_namespaces(body: etree._Element) -> None:
    """Inline <svg> and <math> declare their namespaces (and xlink's when used), as XHTML requires."""
    for tag, ns in (("svg", SVG_NS), ("math", MATHML_NS)):
        for el in body.iter(tag):
            if any(a.tag in ("svg", "math") for a in el.iterancestors()):
                continue
            el.set("xmlns", ns)
            if tag == "svg" and any("xlink:href" in d.attrib for d in el.iter()):
                el.set("xmlns:xlink", XLINK_NS)
            for d in el.iter():
                if not isinstance(d.tag, str):
                    continue
                for name in [n for n in d.attrib if n.startswith("xmlns:") and n != "xmlns:xlink"]:
                    del d.attrib[name]  # a prefix no element here uses
                if tag == "svg":
                    d.tag = SVG_CASE.get(d.tag, d.tag)
                    for name in [n for n in d.attrib if n in SVG_CASE]:
                        d.attrib[SVG_CASE[name]] = d.attrib.pop(name)


def _why(tag: str) -> str:
    if tag in ("script", "noscript", "set", "animate", "animatemotion", "animatetransform", "discard"):
        return "books carry no scripts or animations"
    if tag in ("base", "link", "meta", "style"):
        return "a chapter cannot change how the book loads or styles its files; use the theme"
    if tag in ("form", "textarea", "select", "button", "input"):
        return "books have no forms"
    return "a book does not embed outside documents or media"


def clean_stylesheet(css: str) -> tuple[str, list[tuple[int, str]]]:
    """A theme stylesheet without what loads from outside the book or runs code; and (line, what) was removed.

    ``@import`` goes (the EPUB packs one stylesheet per theme file), and so does every
    declaration whose value holds a URL that ``url_problem`` refuses (remote, absolute,
    ``file:``, escaped spellings included: the tokenizer decodes ``\\75 rl(``).
    """
    removed: list[tuple[int, str]] = []
    parts: list[str] = []
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type == "at-rule" and rule.lower_at_keyword == "import":
            removed.append((rule.source_line, "@import of another stylesheet (put its rules in this file)"))
            continue
        if rule.type == "error":
            continue
        prelude = tinycss2.serialize(rule.prelude or [])
        problems = _token_problems(list(rule.prelude or []), "resource")
        if problems:
            removed.append((rule.source_line, problems[0]))
            continue
        if rule.content is None:
            parts.append(f"@{rule.at_keyword}{prelude};")
            continue
        if rule.type == "at-rule" and rule.lower_at_keyword in ("media", "supports", "layer", "container", "document"):
            inner, inner_removed = clean_stylesheet(tinycss2.serialize(rule.content))
            # Lines inside the block count from the block's own start.
            removed += [(rule.source_line + line - 1, what) for line, what in inner_removed]
            parts.append(f"@{rule.at_keyword}{prelude}{{{inner}}}")
            continue
        kept = []
        for decl in tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True):
            if decl.type != "declaration":
                kept.append(decl.serialize())
                continue
            problems = (["'" + decl.lower_name + "' runs code"] if decl.lower_name in _CSS_CODE_PROPERTIES else []) + _token_problems(decl.value, "resource")
            if problems:
                removed.append((decl.source_line, problems[0]))
            else:
                kept.append(decl.serialize().strip().rstrip(";") + ";")
        head = f"@{rule.at_keyword}{prelude}" if rule.type == "at-rule" else prelude
        parts.append(f"{head}{{{' '.join(kept)}}}")
    return "\n".join(parts) + "\n", removed


def stylesheet_problems(css: str) -> list[tuple[int, str]]:
    """(line, problem) for everything in a stylesheet that loads from outside the book or runs code."""
    return clean_stylesheet(css)[1]


#: Elements an SVG image may not hold: they run code, animate an href, or embed other documents.
SVG_FORBIDDEN = frozenset("script foreignobject iframe object embed set animate animatemotion animatetransform discard".split())


def svg_problem(data: bytes) -> str | None:
    """Why an SVG image cannot go into the book (scripts, outside references), or None if it can.

    An SVG is packed into the EPUB as the author wrote it (less its DOCTYPE, see
    ``svg_for_package``), so it is checked, not rewritten: a script would make the EPUB
    scripted, and a reference outside the file would load something outside the project.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return f"is not well-formed SVG ({_short(str(exc), 80)})"
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
        if tag == "style":
            problems = [p for _, p in stylesheet_problems(el.text or "")]
            if problems:
                return f"has a <style> that loads another file ({problems[0]})"
        for name, value in el.attrib.items():
            local = etree.QName(name).localname.lower()
            if local.startswith("on"):
                return f"has an event handler ('{local}'), which a book image may not hold"
            if local == "href" and url_problem(value, "fragment"):
                return f"refers to '{_short(value)}' outside the image; embed it or remove the reference"
            if local == "style" and css_problems(value):
                return "has a style attribute that loads another file"
            if local in _SVG_REFERENCE_ATTRIBUTES and "(" in value and _token_problems(tinycss2.parse_component_value_list(value), "fragment"):
                return f"refers to '{_short(value)}' outside the image"
    return None


def svg_for_package(data: bytes) -> bytes:
    """An SVG image as the EPUB carries it: without a DOCTYPE (EPUBCheck OPF-073 forbids external identifiers)."""
    return re.sub(rb"<!DOCTYPE[^[>]*(\[[^]]*\])?\s*>\s*", b"", data, count=1, flags=re.I)


def checked_stylesheet(path: Path) -> bytes:
    """A theme stylesheet for the EPUB: as written, or cleaned with a warning at each line that loads from outside."""
    data = path.read_bytes()
    css, removed = clean_stylesheet(data.decode("utf-8", errors="replace"))
    for line, what in removed:
        warn(f"removed from the theme stylesheet: {what}", path, line, code="BM613")
    return css.encode("utf-8") if removed else data
