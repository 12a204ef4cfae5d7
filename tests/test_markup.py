"""Markdown to the Book model: notes, ids, figures, scene breaks, well-formed XHTML."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from bookmaker.builders.epub import EpubBuilder
from bookmaker.pipeline import read_book
from conftest import MINIMAL_YAML


def test_chapter_title_kind_and_headings(make_book: Callable[..., Path]) -> None:
    root = make_book({
        "book.yaml": MINIMAL_YAML,
        "01-one.md": "# The First Chapter\n\nSome text.\n\n## A Section\n\nMore.\n",
        "02-ded.md": "---\nkind: dedication\n---\n\nFor you.\n",
    })
    book = read_book(root)
    one, ded = book.chapters
    assert (one.kind, one.title, one.id) == ("chapter", "The First Chapter", "one")
    assert [h.text for h in one.headings] == ["A Section"]
    assert one.headings[0].id == "one-a-section"
    assert one.body.find("h1") is None, "the title heading is lifted out of the body"
    assert (ded.kind, ded.title) == ("dedication", "Dedication")
    assert one.number == 1 and ded.number is None


def test_footnote_labels_restart_per_chapter_without_collisions(make_book: Callable[..., Path]) -> None:
    root = make_book({
        "book.yaml": MINIMAL_YAML,
        "a.md": "---\ntitle: A\n---\n\nAlpha.[^1] Beta.[^x]\n\n[^1]: First note of A.\n[^x]: Second note of A.\n",
        "b.md": "---\ntitle: B\n---\n\nGamma.[^1]\n\n[^1]: First note of B.\n",
    })
    book = read_book(root)
    a, b = book.chapters
    assert [(n.number, n.id) for n in a.notes] == [(1, "a-fn-1"), (2, "a-fn-2")]
    assert [(n.number, n.id) for n in b.notes] == [(1, "b-fn-1")]
    assert "".join(b.notes[0].body.itertext()).strip() == "First note of B."
    refs = [r.get("note") for r in a.body.iter("noteref")]
    assert refs == ["a-fn-1", "a-fn-2"]
    # Every id in the joined book is unique (the PDF is one HTML document).
    ids = [el.get("id") for c in book.chapters for el in c.body.iter() if isinstance(el.tag, str) and el.get("id")]
    ids += [n.id for c in book.chapters for n in c.notes]
    assert len(ids) == len(set(ids))


def test_missing_and_unused_footnotes_warn_with_line(make_book: Callable[..., Path], caplog: pytest.LogCaptureFixture) -> None:
    root = make_book({
        "book.yaml": MINIMAL_YAML,
        "a.md": "---\ntitle: A\n---\n\nText[^gone] here.\n\n[^spare]: Never used.\n",
    })
    with caplog.at_level(logging.WARNING, logger="bookmaker"):
        read_book(root)
    path = root / "a.md"
    assert f"{path}:5: footnote reference [^gone] has no definition" in caplog.messages
    assert f"{path}:7: footnote [^spare] is defined but never referenced" in caplog.messages


def test_smart_quotes_are_characters_and_xhtml_is_well_formed(make_book: Callable[..., Path]) -> None:
    root = make_book({
        "book.yaml": MINIMAL_YAML,
        "a.md": "---\ntitle: Quotes & <Things>\n---\n\n\"Hello,\" she said -- it's 1990... ---\n\nA&nbsp;B &copy; <br> done.\n",
    })
    book = read_book(root)
    builder = EpubBuilder(book)
    data = builder.page(builder.chapter_doc(book.chapters[0]))
    text = data.decode("utf-8")
    assert "\u201cHello,\u201d" in text and "it\u2019s" in text and "\u2026" in text and "\u2014" in text
    assert "&rsquo;" not in text and "&nbsp;" not in text and "&copy;" not in text
    root_el = etree.fromstring(data)  # raises if not well-formed
    assert root_el.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert "Quotes &amp; &lt;Things&gt;" in text


def test_figure_scene_break_and_internal_link(make_book: Callable[..., Path], tmp_path: Path) -> None:
    from PIL import Image

    root = make_book({
        "book.yaml": MINIMAL_YAML,
        "a.md": "---\ntitle: A\n---\n\nSee [the other](b.md#later).\n\n![A red square](img/sq.png \"The caption\")\n\n* * *\n\nAfter.\n",
        "b.md": "---\ntitle: B\n---\n\nText.\n\n## Later {#later}\n\nEnd.\n",
    })
    (root / "img").mkdir()
    Image.new("RGB", (40, 40), "red").save(root / "img" / "sq.png")
    book = read_book(root)
    body = book.chapters[0].body
    figure = body.find("figure")
    assert figure is not None and figure.findtext("figcaption") == "The caption"
    assert figure.find("img").get("data-asset") == "sq.png"
    assert body.find("hr").get("class") == "scene-break"
    link = body.find(".//a")
    assert (link.get("data-chapter"), link.get("data-anchor")) == ("b", "later")
    assert EpubBuilder(book).get_target_uri("b", "later") == "b.xhtml#later"


def test_default_contents_order_includes_subfolders(make_book: Callable[..., Path]) -> None:
    root = make_book({
        "book.yaml": MINIMAL_YAML,
        "02-b.md": "# B\n",
        "01-a.md": "# A\n",
        "part2/01-c.md": "# C\n",
        ".hidden/x.md": "# Hidden\n",
    })
    assert [c.title for c in read_book(root).chapters] == ["A", "B", "C"]


def test_contents_order_is_respected(make_book: Callable[..., Path]) -> None:
    root = make_book({
        "book.yaml": MINIMAL_YAML + "contents: [z.md, a.md]\n",
        "a.md": "# A\n",
        "z.md": "# Z\n",
    })
    assert [c.title for c in read_book(root).chapters] == ["Z", "A"]


def test_parts_hold_their_chapters(make_book: Callable[..., Path]) -> None:
    root = make_book({
        "book.yaml": MINIMAL_YAML,
        "1.md": "---\nkind: part\ntitle: Early Years\n---\n",
        "2.md": "# One\n",
        "3.md": "# Two\n",
        "4.md": "---\nkind: part\ntitle: Later Years\n---\n",
        "5.md": "# Three\n",
        "6.md": "---\nkind: acknowledgments\ntitle: Thanks\n---\n\nThanks.\n",
    })
    book = read_book(root)
    assert [(e.chapter.title, [c.chapter.title for c in e.children]) for e in book.toc] == [
        ("Early Years", ["One", "Two"]),
        ("Later Years", ["Three"]),
        ("Thanks", []),
    ]
    assert [c.number for c in book.chapters] == [1, 1, 2, 2, 3, None]


def test_link_to_an_id_on_the_title_heading_resolves(make_book: Callable[..., Path], caplog: pytest.LogCaptureFixture) -> None:
    root = make_book({
        "book.yaml": MINIMAL_YAML,
        "a.md": "# Alpha {#alpha-start}\n\nSee [B](b.md#beta-start).\n",
        "b.md": "# Beta {#beta-start}\n\nBack to [A](a.md#alpha-start).\n",
    })
    with caplog.at_level(logging.WARNING, logger="bookmaker"):
        book = read_book(root)
    assert not [m for m in caplog.messages if "points nowhere" in m]
    assert book.chapters[1].title == "Beta"
    # The id on the title heading is the chapter's own anchor: the link goes to the chapter.
    assert [c.id for c in book.chapters] == ["alpha-start", "beta-start"]
    link = book.chapters[0].body.find(".//a")
    assert (link.get("data-chapter"), link.get("data-anchor")) == ("beta-start", None)


def test_captions_get_smart_punctuation_and_emphasis(make_book: Callable[..., Path]) -> None:
    from PIL import Image

    root = make_book({
        "book.yaml": MINIMAL_YAML,
        "a.md": "# A\n\n![Alt](sq.png \"Lei Jun's *first* office -- 1992\")\n",
    })
    Image.new("RGB", (40, 40), "red").save(root / "sq.png")
    caption = read_book(root).chapters[0].body.find(".//figcaption")
    assert "".join(caption.itertext()) == "Lei Jun\u2019s first office \u2013 1992"
    assert caption.find("em").text == "first"
