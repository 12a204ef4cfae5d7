"""Property test: random Markdown gives a valid book or a clean bookmaker error, never an uncaught exception."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bookmaker.errors import BookmakerError
from bookmaker.pipeline import read_book
from conftest import epubcheck_messages, pdf_text_pages, run_cli, write_book

YAML = "title: Random Life\nauthor: Jane Doe\nlanguage: en\ndate: 2026-01-15\nslug: random\n"

PIECES = [
    "word", "text", "雷军", "小米科技", "שלום עולם", "مرحبا بالعالم", "🎉", "👩‍👩‍👧", "&", "<", ">", '"', "'",
    "*", "_", "`", "\\", "[", "]", "(", ")", "#", "|", "^", "~", "\u00ad", "\u200f", "&amp;", "&nbsp;", "&bogus;",
]
words = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map(" ".join)
long_word = st.integers(min_value=40, max_value=400).map(lambda n: "Donaudampfschiff" * (n // 16) + "x")
RAW_HTML = [
    "<div>block <em>inline</em></div>", "<span class=\"x\">open span", "<b>unclosed bold", "</p>", "<br>",
    "<script>alert(1)</script>", "<iframe src=\"https://example.org\"></iframe>", "<p onclick=\"x()\">handler</p>",
    "<a href=\"javascript:alert(1)\">js</a>", "<object data=\"x\"></object>", "<table><tr><td>cell</td></tr></table>",
    "<div markdown=\"1\">*md inside*</div>", "<!-- a comment -->", "<style>p { color: red }</style>",
    "<a rel=\"attachment\" href=\"a.md\">att</a>", "<img alt=\"\">", "<sup>1</sup>", "<details><summary>s</summary>d</details>",
]


@st.composite
def block(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["para", "emph", "long", "heading", "list", "table", "note", "html", "link", "code", "quote"]))
    w = draw(words)
    if kind == "para":
        return w
    if kind == "emph":
        return f"*{w}* **{w}** _{draw(words)}_ ***{w}***"
    if kind == "long":
        return f"{w} {draw(long_word)} {w}"
    if kind == "heading":
        anchor = draw(st.sampled_from(["", " {#sec-a}", " {#sec-b}", " {.cls}"]))
        return f"{draw(st.sampled_from(['##', '###', '####']))} {w}{anchor}"
    if kind == "list":
        return f"- {w}\n    - {draw(words)}\n        1. {draw(words)}\n- {draw(words)}\n\n1. one\n2. {w}"
    if kind == "table":
        return f"| {w} | b |\n|---|:-:|\n| {draw(words)} | {draw(long_word)} |"
    if kind == "note":
        label = draw(st.sampled_from(["1", "2", "x"]))
        defined = draw(st.booleans())
        return f"{w}[^{label}]" + (f"\n\n[^{label}]: {draw(words)}" if defined else "")
    if kind == "html":
        return draw(st.sampled_from(RAW_HTML))
    if kind == "link":
        target = draw(st.sampled_from(["#sec-a", "#nowhere", "https://example.org/?a=1&b=2", "other.md", "a.md#sec-b", "mailto:x@example.org"]))
        return f"[{w}]({target})"
    if kind == "code":
        return f"```\n{w} <tag> & {draw(words)}\n```"
    return f"> {w}\n>\n> {draw(words)}"


chapters = st.lists(block(), min_size=1, max_size=10).map(lambda blocks: "\n\n".join(blocks))


def test_random_markdown_builds_or_fails_cleanly(tmp_path: Path) -> None:
    """Each random chapter is read in-process (fast, many cases); the ones that read are then built into
    one book through the CLI: a PDF and an EPUB that EPUBCheck accepts."""
    accepted: list[str] = []

    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(title=words, body=chapters)
    def read_one(title: str, body: str) -> None:
        with tempfile.TemporaryDirectory() as folder:
            text = f"# {title}\n\n{body}\n"
            book = write_book(Path(folder) / "m", {"book.yaml": YAML, "a.md": text})
            try:
                read_book(book)
            except BookmakerError as exc:
                # A clean error is fine, a bookmaker bug dressed as one is not.
                assert "internal error" not in str(exc), exc
                return
            accepted.append(text)

    read_one()
    assert len(accepted) >= 10

    files = {"book.yaml": YAML}
    for n, text in enumerate(accepted[:6]):
        # Ids are unique per chapter only; give each chapter its own so the whole book is valid.
        files[f"{n:02d}.md"] = re.sub(r"\{#(sec-[ab])\}", rf"{{#c{n}-\1}}", text).replace("(a.md#", f"({n:02d}.md#c{n}-")
    book = write_book(tmp_path / "random", files)
    out = tmp_path / "out"
    result = run_cli("build", str(book), "-o", str(out), timeout=300)
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stderr[-3000:]
    assert epubcheck_messages(out / "random.epub") == []
    assert len(pdf_text_pages(out / "random.pdf")) > 3
