"""Store editions of the EPUB: Kobo's kepub and a Kindle-safe EPUB, as subclasses that post-process the EPUB builder's package.

The kepub follows kepubify (pgaskin/kepubify, kepub/transform.go): every sentence in a
``<span class="koboSpan" id="kobo.P.S">``, images in spans too, the body's content in
``div#book-columns > div#book-inner`` and a ``kobostylehacks`` style.  The Kindle variant
removes what Send to Kindle rejects with "E999" (apparatus-and-press.md section 5).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from lxml import etree
from PIL import Image

from bookmaker.builders.epub import EpubBuilder
from bookmaker.labels import labels_for
from bookmaker.log import warn

XHTML_NS = "http://www.w3.org/1999/xhtml"
OPS_NS = "http://www.idpf.org/2007/ops"
_X = f"{{{XHTML_NS}}}"

#: Apple Books uses embedded fonts only when told to (Apple's Asset Guide).
APPLE_OPTIONS_NAME = "META-INF/com.apple.ibooks.display-options.xml"
APPLE_OPTIONS = (b'<?xml version="1.0" encoding="UTF-8"?>\n<display_options>\n  <platform name="*">\n'
                 b'    <option name="specified-fonts">true</option>\n  </platform>\n</display_options>\n')

#: Send to Kindle refuses much larger files (about 50 MB in practice); KDP's own limit is 650 MB.
KINDLE_MAX_BYTES = 50 * 1024 * 1024
#: Longest image side kept in the Kindle edition; larger images are down-sampled.
KINDLE_MAX_SIDE = 2560

#: Block elements: each starts a new kepub paragraph number.
BLOCKS = frozenset("p h1 h2 h3 h4 h5 h6 li dt dd blockquote figcaption caption td th div section aside header footer "
                   "figure nav ol ul dl table tr tbody thead tfoot body".split())
#: Never split: preformatted text, scripts, styles, maths, drawings.
SKIP = frozenset("pre script style math svg code kbd samp".split())

_ABBREVIATIONS = {
    "en": {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "vs", "etc", "e.g", "i.e", "no", "vol", "pp", "p", "ch",
           "fig", "inc", "ltd", "co", "corp", "u.s", "u.k", "a.m", "p.m", "approx", "ca", "cf", "ed", "eds"},
    "de": {"z.b", "usw", "nr", "dr", "bzw", "ca", "vgl", "s", "u.a", "d.h", "prof", "hr", "fr", "str", "bd"},
    "fr": {"m", "mme", "mlle", "dr", "p", "ex", "cf", "etc", "vol", "st", "ste", "av", "apr", "j.-c"},
}
_LATIN_END_RE = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019\u00bb)\]]*(\s+)")
_CJK_END_RE = re.compile(r"[\u3002\uff01\uff1f\uff0e]+[\u300d\u300f\u201d\u2019\uff09]*\s*")


def split_sentences(text: str, language: str) -> list[str]:
    """``text`` cut after each sentence end; the pieces join back to ``text`` exactly."""
    lang = language.lower().split("-")[0]
    if lang in ("zh", "ja"):
        pieces, start = [], 0
        for match in _CJK_END_RE.finditer(text):
            pieces.append(text[start:match.end()])
            start = match.end()
        if start < len(text):
            pieces.append(text[start:])
        return [p for p in pieces if p]
    known = _ABBREVIATIONS.get(lang, _ABBREVIATIONS["en"])
    pieces, start = [], 0
    for match in _LATIN_END_RE.finditer(text):
        before = text[start:match.start()].rsplit(None, 1)
        word = before[-1].lower().rstrip(".") if before else ""
        following = text[match.end():match.end() + 1]
        if word in known or (len(word) == 1 and word.isalpha()) or (following and following.islower()):
            continue  # an abbreviation, an initial, or a sentence that goes on in lower case
        pieces.append(text[start:match.end()])
        start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return [p for p in pieces if p]


class _Counter:
    def __init__(self) -> None:
        self.para = 0
        self.segment = 0
        self.fresh = True

    def next_id(self) -> str:
        if self.fresh:
            self.para += 1
            self.segment = 0
            self.fresh = False
        self.segment += 1
        return f"kobo.{self.para}.{self.segment}"


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _span(counter: _Counter, text: str | None = None) -> etree._Element:
    span = etree.Element(f"{_X}span", {"class": "koboSpan", "id": counter.next_id()})
    span.text = text
    return span


def _spans(text: str, counter: _Counter, language: str) -> list[etree._Element]:
    return [_span(counter, piece) for piece in split_sentences(text, language)]


def _kobo_walk(el: etree._Element, counter: _Counter, language: str) -> None:
    language = el.get("{http://www.w3.org/XML/1998/namespace}lang") or el.get("lang") or language
    block = _local(el) in BLOCKS
    if block:
        counter.fresh = True
    if el.text and el.text.strip():
        for index, span in enumerate(_spans(el.text, counter, language)):
            el.insert(index, span)
        el.text = None
    for child in [c for c in el if not (_local(c) == "span" and c.get("class") == "koboSpan")]:
        name = _local(child)
        if name == "img":
            wrapper = _span(counter)
            child.addprevious(wrapper)
            tail, child.tail = child.tail, None
            wrapper.append(child)
            wrapper.tail = tail
            child = wrapper
        elif name and name not in SKIP:
            _kobo_walk(child, counter, language)
        if child.tail and child.tail.strip():
            anchor = child
            for span in _spans(child.tail, counter, language):
                anchor.addnext(span)
                anchor = span
            child.tail = None
    if block:
        counter.fresh = True


def kepubify_document(data: bytes, language: str) -> tuple[bytes, int]:
    """One XHTML document with kepub spans and wrappers; returns it and how many spans it got."""
    root = etree.fromstring(data)
    body = root.find(f"{_X}body")
    head = root.find(f"{_X}head")
    if body is None or head is None:
        return data, 0
    counter = _Counter()
    _kobo_walk(body, counter, root.get("{http://www.w3.org/XML/1998/namespace}lang") or language)
    columns = etree.Element(f"{_X}div", {"id": "book-columns"})
    inner = etree.SubElement(columns, f"{_X}div", {"id": "book-inner"})
    inner.text, body.text = body.text, None
    for child in list(body):
        inner.append(child)
    body.append(columns)
    style = etree.SubElement(head, f"{_X}style", {"type": "text/css", "id": "kobostylehacks"})
    style.text = "div#book-inner { margin-top: 0; margin-bottom: 0; }"
    count = sum(1 for span in body.iter(f"{_X}span") if span.get("class") == "koboSpan")
    _keep_end_tags(root)
    return etree.tostring(root.getroottree(), encoding="utf-8", xml_declaration=True), count


def _keep_end_tags(root: etree._Element) -> None:
    from bookmaker.builders.epub import _keep_end_tags as keep

    keep(root)


def _content_documents(names: list[str]) -> list[str]:
    return [n for n in names if n.endswith(".xhtml") and not n.endswith("nav.xhtml")]


def rewrite_package(data: bytes, change: Callable[[str, bytes], bytes | None], extra: dict[str, bytes] | None = None) -> bytes:
    """The EPUB ``data`` with each entry passed through ``change`` (None drops it), entries' order and stamps kept."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        infos = src.infolist()
        for info in infos:
            content = change(info.filename, src.read(info.filename))
            if content is None:
                continue
            new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            new.external_attr = info.external_attr
            new.compress_type = info.compress_type
            dst.writestr(new, content, compresslevel=9 if info.compress_type == zipfile.ZIP_DEFLATED else None)
        for name, content in (extra or {}).items():
            new = zipfile.ZipInfo(name, date_time=infos[0].date_time)
            new.external_attr = 0o644 << 16
            new.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(new, content, compresslevel=9)
    return out.getvalue()


def with_apple_options(data: bytes) -> bytes:
    """Add Apple Books' display options (specified fonts on) to an EPUB that embeds fonts."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        if APPLE_OPTIONS_NAME in zf.namelist():
            return data
    return rewrite_package(data, lambda name, content: content, {APPLE_OPTIONS_NAME: APPLE_OPTIONS})


class KepubBuilder(EpubBuilder):
    """Kobo's kepub: the EPUB with kepubify's sentence spans and wrappers (``OUT/<slug>.kepub.epub``)."""

    name = "kepub"
    suffix = "kepub.epub"

    #: Spans written in the last build, per document (for the summary and the tests).
    spans: dict[str, int]

    def finish(self, data: bytes) -> bytes:
        self.spans = {}
        language = self.book.config.language

        def change(name: str, content: bytes) -> bytes:
            if name in _content_documents([name]) and "/pages/cover" not in name:
                content, count = kepubify_document(content, language)
                self.spans[name] = count
            return content

        return super().finish(rewrite_package(data, change))


#: CSS Send to Kindle rejects or mangles: custom properties (and var()), which it does not support.
_CUSTOM_PROP_RE = re.compile(r"(?<![\w-])(--[\w-]+)\s*:\s*([^;{}]+);?")
_VAR_RE = re.compile(r"var\(\s*(--[\w-]+)\s*(?:,\s*([^()]*(?:\([^()]*\)[^()]*)*))?\)")


def kindle_css(css: str) -> str:
    """``css`` without custom properties: each ``var()`` replaced by its value (or its fallback)."""
    values = {name: value.strip() for name, value in _CUSTOM_PROP_RE.findall(css)}
    css = _CUSTOM_PROP_RE.sub("", css)
    for _ in range(5):  # values may refer to other variables
        css = _VAR_RE.sub(lambda m: values.get(m.group(1), (m.group(2) or "").strip()) or "inherit", css)
    # Rules left empty by the removal are dropped (":root { }").
    css = re.sub(r"[^{}]+\{\s*\}", "", css)
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return '@charset "utf-8";\n' + css.lstrip().removeprefix('@charset "utf-8";').lstrip()


def kindle_document(data: bytes, alt: str = "Illustration") -> bytes:
    """An XHTML document as Send to Kindle wants it: UTF-8 declared, no comments, no empty alt."""
    root = etree.fromstring(data)
    for comment in root.xpath("//comment()"):
        parent = comment.getparent()
        if parent is not None:
            tail = comment.tail
            previous = comment.getprevious()
            parent.remove(comment)
            if tail:
                if previous is not None:
                    previous.tail = (previous.tail or "") + tail
                else:
                    parent.text = (parent.text or "") + tail
    for img in root.iter(f"{_X}img"):
        if not (img.get("alt") or "").strip():
            figure = next((a for a in img.iterancestors(f"{_X}figure")), None)
            caption = figure.find(f"{_X}figcaption") if figure is not None else None
            text = " ".join("".join(caption.itertext()).split()) if caption is not None else ""
            img.set("alt", text or alt)
    head = root.find(f"{_X}head")
    if head is not None and not any(m.get("charset") for m in head.iter(f"{_X}meta")):
        meta = etree.Element(f"{_X}meta", {"charset": "utf-8"})
        head.insert(0, meta)
    _keep_end_tags(root)
    return etree.tostring(root.getroottree(), encoding="utf-8", xml_declaration=True)


def downsample(data: bytes, name: str, max_side: int = KINDLE_MAX_SIDE) -> bytes:
    """An image no longer than ``max_side`` on its long side, in its own format."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if max(image.size) <= max_side or image.format not in ("JPEG", "PNG", "GIF"):
                return data
            fmt = image.format
            scale = max_side / max(image.size)
            resized = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                                   Image.Resampling.LANCZOS)
            out = io.BytesIO()
            if fmt == "JPEG":
                resized.convert("RGB").save(out, "JPEG", quality=88, optimize=True, icc_profile=image.info.get("icc_profile"))
            else:
                resized.save(out, fmt, optimize=True)
            return out.getvalue()
    except OSError:
        return data


class KindleEpubBuilder(EpubBuilder):
    """An EPUB for Send to Kindle and KDP (``OUT/<slug>.kindle.epub``)."""

    name = "kindle-epub"
    suffix = "kindle.epub"

    def finish(self, data: bytes) -> bytes:
        def change(name: str, content: bytes) -> bytes:
            if name.endswith(".xhtml"):
                return kindle_document(content, labels_for(self.book.config)("illustration"))
            if name.endswith(".css"):
                return kindle_css(content.decode("utf-8")).encode("utf-8")
            if re.search(r"\.(jpe?g|png|gif)$", name, re.I):
                return downsample(content, name)
            return content

        result = super().finish(rewrite_package(data, change))
        if len(result) > KINDLE_MAX_BYTES:
            warn(f"the Kindle EPUB is {len(result) / 1048576:.0f} MB; Send to Kindle refuses files over "
                 f"{KINDLE_MAX_BYTES // 1048576} MB: use smaller images", self.book.config.path, code="BM817")
        return result


def kindle_lint(path: Path) -> list[str]:
    """What Send to Kindle would reject in the EPUB at ``path`` (empty when nothing)."""
    problems: list[str] = []
    with zipfile.ZipFile(path) as zf:
        opf_name = next(n for n in zf.namelist() if n.endswith(".opf"))
        opf = etree.fromstring(zf.read(opf_name))
        if not opf.xpath("//*[local-name()='language']/text()"):
            problems.append(f"{opf_name}: no dc:language")
        for name in zf.namelist():
            content = zf.read(name)
            if name.endswith(".xhtml"):
                if not content.startswith(b'<?xml version="1.0" encoding="utf-8"?>') and not content.lower().startswith(
                        b"<?xml version='1.0' encoding='utf-8'?>"):
                    problems.append(f"{name}: no UTF-8 declaration")
                root = etree.fromstring(content)
                for img in root.iter(f"{_X}img"):
                    if not img.get("src"):
                        problems.append(f"{name}: <img> without src")
                    if not (img.get("alt") or "").strip():
                        problems.append(f"{name}: <img> with an empty alt")
                for comment in root.xpath("//comment()"):
                    if "--" in (comment.text or ""):
                        problems.append(f"{name}: '--' inside a comment")
            elif name.endswith(".css"):
                text = content.decode("utf-8")
                if re.search(r"var\(|(?<![\w-])--[\w-]+\s*:", text):
                    problems.append(f"{name}: CSS custom properties")
        if len(path.read_bytes()) > KINDLE_MAX_BYTES:
            problems.append(f"{path.name}: larger than {KINDLE_MAX_BYTES // 1048576} MB")
    return problems
