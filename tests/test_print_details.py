"""Print details: Markdown in book.yaml fields, multi-paragraph footnotes, paragraph endings (no hyphenated last word, no short word alone)."""

from __future__ import annotations

import collections
import random
import zipfile
from pathlib import Path

import pymupdf
import pytest
from lxml import etree

from hypothesis import given, settings
from hypothesis import strategies as st

from bookmaker.lastline import protect_ending
from conftest import epubcheck_messages, run_cli, write_book

WORDS = ("the quiet archivist carefully catalogued every uncooperative correspondence between "
         "institutions and their representatives during extraordinary circumstances").split()
LONG_ENDS = ["counterrevolutionaries.", "incomprehensibilities.", "uncharacteristically."]
SHORT_ENDS = ["son.", "go.", "me."]
PARAGRAPHS = 42


def _chapter() -> str:
    rng = random.Random(4)
    ends = LONG_ENDS + SHORT_ENDS
    paragraphs = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(18, 60))) + " " + ends[i % len(ends)]
                  for i in range(PARAGRAPHS)]
    paragraphs[1] = "A paragraph with a long note.[^long] " + paragraphs[1]
    note = ("[^long]: The first paragraph of a long note explains where the claim comes from.\n\n"
            "    A second paragraph of the same note adds a caveat about the date.\n")
    return "# Endings\n\n" + "\n\n".join(paragraphs) + "\n\n" + note


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = write_book(tmp_path_factory.mktemp("details") / "ms", {
        "book.yaml": (
            "title: Small Print\nauthor: Ida Ends\nlanguage: en\ndate: 2026-05-01\n"
            "rights: '[CC0 1.0 Universal](https://creativecommons.org/publicdomain/zero/1.0/): *no* rights reserved.'\n"
            "edition: '**Second** edition'\n"
            "description: 'A book about [endings](https://example.org) and *small print*.'\n"
            "pdf: { trim: 5x8in }\n"
        ),
        "01-endings.md": _chapter(),
    })
    out = root.parent / "out"
    result = run_cli("build", str(root), "-o", str(out), env={"SOURCE_DATE_EPOCH": "1780000000"})
    assert result.returncode == 0, result.stderr
    return out / "small-print.pdf", out / "small-print.epub"


def _words(pdf: Path) -> list[tuple[int, int, int, str]]:
    with pymupdf.open(pdf) as doc:
        return [(number, w[5], w[6], w[4]) for number, page in enumerate(doc) for w in page.get_text("words")]


def test_last_word_of_a_paragraph_is_never_hyphenated(built: tuple[Path, Path]) -> None:
    pdf, _ = built
    counts = collections.Counter(word for *_, word in _words(pdf))
    per_end = PARAGRAPHS // (len(LONG_ENDS) + len(SHORT_ENDS))
    for end in LONG_ENDS:
        assert counts[end] == per_end, (end, counts[end])


def test_short_last_word_never_stands_alone(built: tuple[Path, Path]) -> None:
    pdf, _ = built
    lines: dict[tuple[int, int, int], list[str]] = collections.defaultdict(list)
    for page, block, line, word in _words(pdf):
        lines[(page, block, line)].append(word)
    alone = [words for words in lines.values() if len(words) == 1 and words[0] in SHORT_ENDS]
    assert alone == []
    counts = collections.Counter(word for *_, word in _words(pdf))
    assert all(counts[end] >= 1 for end in SHORT_ENDS)


def test_ending_span_leaves_notes_and_code_alone() -> None:
    p = etree.fromstring('<p>He said <em>so</em> to his son<span class="footnote">a note text</span>.</p>')
    assert protect_ending(p)
    span = p.find("span[@class='last-words']")
    # The text after the note call ('.') is the paragraph's; the note's words are not.
    assert span is not None and span.text == "."
    p = etree.fromstring("<p>Call it with <code>run --fast</code> then wait for it to finish now</p>")
    assert protect_ending(p)
    assert p.find("span[@class='last-words']").text == "finish\u00a0now"
    p = etree.fromstring("<p>One extraordinarily long conclusion</p>")
    protect_ending(p)
    assert p.find("span").text == "conclusion" and p.text == "One extraordinarily long "


_PIECES = st.sampled_from(["a", "word", "x" * 30, "y" * 150, "z" * 1900, " " * 140, "supercalifragilistic", ".", "\u201cso\u201d", "\u4e2d\u6587",
                           " ", "  ", "\t", "\n", "\u00a0", "\u2009", "\u202f", " \n "])


@settings(max_examples=200, deadline=None)
@given(st.lists(_PIECES, max_size=400))
def test_ending_is_found_as_by_searching_the_whole_text(pieces: list[str]) -> None:
    """The tail-first search finds exactly what the plain search of the whole paragraph finds."""
    from bookmaker.lastline import _ENDING_RE, _ending

    text = "".join(pieces)
    fast, plain = _ending(text), _ENDING_RE.search(text)
    assert (fast is None) == (plain is None)
    if fast is not None and plain is not None:
        assert fast.span() == plain.span() and fast.groups() == plain.groups()


def test_multi_paragraph_footnote_keeps_its_number_with_the_text(built: tuple[Path, Path]) -> None:
    pdf, _ = built
    with pymupdf.open(pdf) as doc:
        text = "\n".join(page.get_text() for page in doc)
    lines = [line.strip() for line in text.splitlines()]
    number = next(i for i, line in enumerate(lines) if line.startswith("1.") and "long note" in line or line == "1.")
    assert lines[number].startswith("1.") and "first paragraph" in lines[number], lines[number:number + 2]


def test_yaml_fields_are_inline_markdown_in_both_formats(built: tuple[Path, Path]) -> None:
    pdf, epub = built
    with pymupdf.open(pdf) as doc:
        page = next(p for p in doc if "rights reserved" in p.get_text())
        text = " ".join(page.get_text().split())
        links = [link.get("uri") for link in page.get_links()]
    assert "CC0 1.0 Universal: no rights reserved." in text and "](" not in text and "*" not in text
    assert "Second edition" in text
    assert "https://creativecommons.org/publicdomain/zero/1.0/" in links
    with zipfile.ZipFile(epub) as z:
        copyright_page = etree.fromstring(z.read("EPUB/pages/copyright.xhtml"))
        opf = etree.fromstring(z.read("EPUB/content.opf"))
    ns = {"x": "http://www.w3.org/1999/xhtml", "dc": "http://purl.org/dc/elements/1.1/"}
    assert copyright_page.xpath("//x:a[@href='https://creativecommons.org/publicdomain/zero/1.0/']/text()",
                                namespaces=ns) == ["CC0 1.0 Universal"]
    assert copyright_page.xpath("//x:em/text()", namespaces=ns) == ["no"]
    assert copyright_page.xpath("//x:strong/text()", namespaces=ns) == ["Second"]
    assert opf.xpath("//dc:rights/text()", namespaces=ns) == ["CC0 1.0 Universal: no rights reserved."]
    assert opf.xpath("//dc:description/text()", namespaces=ns) == ["A book about endings and small print."]


def test_epub_is_valid(built: tuple[Path, Path]) -> None:
    _, epub = built
    assert epubcheck_messages(epub) == []
