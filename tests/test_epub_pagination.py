"""Page-break placement from a print page map, and the block ids it relies on (no builds)."""

from __future__ import annotations

from pathlib import Path

from lxml import etree, html

from bookmaker.anchors import anchor_blocks
from bookmaker.pagination import insert_breaks, page_sequence, place_breaks, roman_value

OPS = "{http://www.idpf.org/2007/ops}type"


def test_roman_values() -> None:
    assert [roman_value(x) for x in ("i", "iv", "ix", "xiv", "xl", "mcmxc")] == [1, 4, 9, 14, 40, 1990]
    assert roman_value("12") is None and roman_value("") is None and roman_value("iv ") is None


def test_sequence_fills_pages_on_which_nothing_starts() -> None:
    page_map = {"half": "i", "title": "iii", "p1": "1", "p2": "2", "p5": "5"}
    assert page_sequence(page_map) == ["i", "ii", "iii", "1", "2", "3", "4", "5"]


def test_breaks_go_before_the_first_element_of_each_page_in_reading_order() -> None:
    page_map = {"half": "i", "title": "iii", "a": "1", "b": "1", "c": "2", "d": "4", "late": "9", "e": "4"}
    # "late" is printed later than where the ebook has it (e.g. book-end notes): passed over.
    slots = ["title", "a", "b", "c", "late", "x", "d", "e"]
    assert place_breaks(slots, page_map) == {
        "title": ["i", "ii", "iii"],
        "a": ["1"],
        "c": ["2"],
        "late": ["3", "4", "5", "6", "7", "8", "9"],
    }
    slots.remove("late")
    assert place_breaks(slots, page_map)["d"] == ["3", "4"]


def test_markers_keep_html_content_models_valid() -> None:
    body = html.fragment_fromstring(
        "<div><p id='p'>Text <em>x</em></p><ul id='ul'><li id='li'>item</li></ul>"
        "<table id='t'><tr id='tr'><td>cell</td></tr></table>"
        "<figure id='f'><figcaption id='cap'>Caption</figcaption><img src='a.png' alt='a'/></figure></div>"
    )
    placed = insert_breaks(body, {"p": ["1"], "li": ["2", "3"], "tr": ["4"], "cap": ["5"], "missing": ["6"]})
    assert placed == ["1", "2", "3", "4", "5"]
    spans = {s.get("id"): s for s in body.iter("span")}
    assert spans["page-1"].getnext().get("id") == "p" and spans["page-1"].getparent() is body
    assert spans["page-2"].getparent().get("id") == "li" and spans["page-3"].tail == "item"
    assert spans["page-4"].getparent().tag == "td" and spans["page-4"].tail == "cell"
    assert spans["page-5"].getparent().get("id") == "cap" and spans["page-5"].tail == "Caption"
    span = spans["page-2"]
    assert (span.get(OPS), span.get("role"), span.get("aria-label")) == ("pagebreak", "doc-pagebreak", "2")


def test_every_block_gets_a_stable_unique_id() -> None:
    from bookmaker.model import Book, Chapter

    def chapter(cid: str, source: str) -> Chapter:
        return Chapter(kind="chapter", title=cid, id=cid, source=Path(f"{cid}.md"), body=html.fragment_fromstring(source, create_parent="div"))

    one = chapter("one", "<p>a</p><p id='one-b2'>b</p><blockquote><p>c</p></blockquote><p>d <em>e</em></p>")
    two = chapter("two", "<h2 id='s'>S</h2><ol><li>x</li></ol>")
    book = Book(config=None, chapters=[one, two], identifier="", build_date=None)  # type: ignore[arg-type]
    anchor_blocks(book)
    ids = [el.get("id") for el in one.body.iter() if el.get("id")]
    assert ids == ["one-b1", "one-b2", "one-b3", "one-b4", "one-b5"]
    assert one.body.find("p/em").get("id") is None
    assert [el.get("id") for el in two.body.iter() if el.get("id")] == ["s", "two-b1", "two-b2"]
    assert etree.tostring(two.body.find("ol")) == b'<ol id="two-b1"><li id="two-b2">x</li></ol>'


def test_word_breaks_count_words_as_the_pdf_does() -> None:
    from bookmaker.pagination import insert_word_breaks

    tree = etree.fromstring(
        '<div><p id="c-b1">One two <em>three</em>\u2019s four<a class="noteref" href="#n">1</a> five six</p></div>'
    )
    placed = insert_word_breaks(tree, {"7": ("c-b1", 3), "8": ("c-b1", 5)})
    assert placed == ["7", "8"]
    p = tree.find("p")
    seven, eight = p.xpath(".//span[@role='doc-pagebreak']")
    assert (seven.get("id"), seven.get("aria-label"), eight.get("id")) == ("page-7", "7", "page-8")
    # Page 7 begins with the fourth word, page 8 with the sixth: the note call is not a word.
    assert seven.tail == "four" and seven.getprevious().tail == "\u2019s "
    assert eight.tail == "six" and eight.getprevious().tail == " five "


def test_blank_pages_at_the_end_of_a_run_are_listed_when_the_pdf_gives_every_folio() -> None:
    page_map = {"half": "i", "toc": "iii", "ch1": "1", "ch2": "3"}
    # Page iv is a blank verso after the contents: no element starts on it.
    pages = ["i", "ii", "iii", "iv", "1", "2", "3"]
    assert page_sequence(page_map) == ["i", "ii", "iii", "1", "2", "3"]
    assert page_sequence(page_map, pages) == pages
    breaks = place_breaks(["half", "toc", "ch1", "ch2"], page_map, pages=pages)
    assert breaks == {"half": ["i"], "toc": ["ii", "iii"], "ch1": ["iv", "1"], "ch2": ["2", "3"]}
