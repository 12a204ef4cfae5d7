"""Bracketed spans ``[text]{.class #id key="value"}``: a Python-Markdown inline extension.

The syntax is pandoc's (``bracketed_spans``) and Quarto's. The result is a ``<span>`` whose
``class``, ``id`` and ``lang`` come through as written and whose other keys become ``data-*``
attributes (``[his firm]{.index entry="Xiaomi"}`` -> ``<span class="index"
data-entry="Xiaomi">his firm</span>``), so that later passes (index terms, key phrases,
language passages) read one uniform shape and the sanitizer can allow ``data-*`` on spans.
The text may be empty (``[]{.index entry="Kingsoft"}``, an invisible marker).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from markdown import Markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor

#: Keys kept as real attributes; every other key becomes ``data-<key>``.
DIRECT_KEYS = frozenset({"id", "lang"})

# The text: anything but unescaped brackets, or one level of nested brackets (links inside).
_TEXT = r"(?P<text>(?:[^\[\]\\]|\\.|\[(?:[^\[\]\\]|\\.)*\])*)"
# The attribute block: no braces or newlines inside; quoted values may hold spaces.
_ATTRS = r"\{(?P<attrs>[^{}\n]*)\}"
SPAN_RE = r"(?<![!\]\\])\[" + _TEXT + r"\]" + _ATTRS

_TOKEN_RE = re.compile(
    r"""\s*(?:
        \.(?P<cls>[\w-]+)
      | \#(?P<id>[\w:.-]+)
      | (?P<key>[A-Za-z_][\w-]*)\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'}]+))
    )""",
    re.VERBOSE,
)


def parse_attributes(text: str) -> dict[str, str] | None:
    """The attributes of ``{.a #b key="c"}`` as a dict (classes joined), or None if malformed."""
    classes: list[str] = []
    out: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match or match.end() == pos:
            return None
        pos = match.end()
        if match.group("cls"):
            classes.append(match.group("cls"))
        elif match.group("id"):
            out["id"] = match.group("id")
        else:
            value = next(v for v in (match.group("dq"), match.group("sq"), match.group("bare")) if v is not None)
            key = match.group("key").lower()
            out[key if key in DIRECT_KEYS or key.startswith("data-") else f"data-{key}"] = value
    if classes:
        out["class"] = " ".join(classes)
    return out if out else None


class BracketSpanProcessor(InlineProcessor):
    """``[text]{attrs}`` -> ``<span attrs>text</span>``; inline Markdown inside is still parsed."""

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[ET.Element | None, int | None, int | None]:  # noqa: N802 (Python-Markdown API)
        attrs = parse_attributes(m.group("attrs"))
        if attrs is None:
            return None, None, None
        span = ET.Element("span")
        for key, value in attrs.items():
            span.set(key, value)
        span.text = m.group("text")
        return span, m.start(0), m.end(0)


class BracketSpanExtension(Extension):
    """Registers the span pattern above links (160) and references, so ``[x]{…}`` is a span."""

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Python-Markdown API)
        md.inlinePatterns.register(BracketSpanProcessor(SPAN_RE, md), "bracket_span", 175)
