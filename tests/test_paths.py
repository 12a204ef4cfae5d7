"""Outputs do not depend on how the manuscript path is typed or on the working directory; ids never collide."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import MINIMAL_YAML, run_cli

EPOCH = "1780000000"

SUBFOLDERS = {
    "book.yaml": MINIMAL_YAML + "contents:\n  - part-1/chapter-1.md\n  - part-2/chapter-1.md\n  - ./part-2/../notes.md\n",
    "part-1/chapter-1.md": "# The First Morning\n\nText, and [a link](../part-2/chapter-1.md).\n",
    "part-2/chapter-1.md": "# The Second Morning\n\nMore text.\n",
    "notes.md": "---\nkind: afterword\n---\n\n# Afterword\n\nThe end.\n",
}


def _build(book_arg: str, cwd: Path, out: Path) -> bytes:
    result = run_cli("build", book_arg, "-o", str(out), "--format", "epub", cwd=cwd, env={"SOURCE_DATE_EPOCH": EPOCH}, timeout=120)
    assert result.returncode == 0, result.stderr
    (epub,) = out.glob("*.epub")
    return epub.read_bytes()


def test_relative_absolute_and_other_cwd_give_the_same_epub(make_book: Callable[..., Path], tmp_path: Path) -> None:
    book = make_book(SUBFOLDERS, name="work/ms")
    work = book.parent
    (tmp_path / "elsewhere").mkdir()
    relative = _build("ms", work, tmp_path / "o1")
    absolute = _build(str(book), tmp_path / "elsewhere", tmp_path / "o2")
    dotted = _build("../work/./ms/", tmp_path / "elsewhere", tmp_path / "o3")
    assert relative == absolute == dotted
    names = set(zipfile.ZipFile(tmp_path / "o1" / "a-small-life.epub").namelist())
    # Chapter files are named by their path in the book, never by the bare (repeated) stem.
    assert {"EPUB/text/part-1-chapter-1.xhtml", "EPUB/text/part-2-chapter-1.xhtml", "EPUB/text/notes.xhtml"} <= names


def test_an_id_on_the_title_heading_is_the_chapter_anchor_from_any_path_form(make_book: Callable[..., Path], tmp_path: Path) -> None:
    # The case of issue 9: refused from a relative path ("duplicate id 'chapter-10'"), built from an absolute one.
    book = make_book({
        "book.yaml": MINIMAL_YAML + "contents: [01-part-one/chapter-10.md, 02-part-two/chapter-10.md]\n",
        "01-part-one/chapter-10.md": "# Setting Out {#setting-out}\n\nSee [the road](../02-part-two/chapter-10.md#chapter-10).\n",
        "02-part-two/chapter-10.md": "# The Long Road {#chapter-10}\n\nBack to [the start](../01-part-one/chapter-10.md).\n",
    }, name="work/ms")
    relative = _build("ms", book.parent, tmp_path / "o1")
    absolute = _build(str(book), tmp_path, tmp_path / "o2")
    assert relative == absolute
    names = set(zipfile.ZipFile(tmp_path / "o1" / "a-small-life.epub").namelist())
    assert {"EPUB/text/setting-out.xhtml", "EPUB/text/chapter-10.xhtml"} <= names


def test_made_up_ids_move_out_of_the_way_of_the_authors_ids(make_book: Callable[..., Path]) -> None:
    from bookmaker.pipeline import read_book

    book = read_book(make_book({
        "book.yaml": MINIMAL_YAML,
        # The path id 'kingsoft' and the heading id 'early-notes' would be made up here ...
        "early.md": "# Early\n\n## Notes\n\nA claim.[^1]\n\n[^1]: A source.\n",
        "kingsoft.md": "# Kingsoft\n\nText.\n",
        # ... but the author wrote them in a later file, with a note id for good measure.
        "later.md": "# Later\n\n## The Company {#kingsoft}\n\n[Aside]{#early-notes} and <span id=\"early-fn-1\">x</span>.\n\n"
                    "[Notes](#early-notes), [company](#kingsoft), [the chapter](kingsoft.md).\n",
    }))
    early, kingsoft, later = book.chapters
    assert kingsoft.id == "kingsoft-2"
    assert [h.id for h in early.headings] == ["early-notes-2"]
    assert [n.id for n in early.notes] == ["early-fn-1-2"]
    assert later.body.xpath("boolean(.//h2[@id='kingsoft'])") and later.body.xpath("boolean(.//span[@id='early-notes'])")
    links = [(a.get("data-chapter"), a.get("data-anchor")) for a in later.body.iter("a")]
    assert links == [("later", "early-notes"), ("later", "kingsoft"), ("kingsoft-2", None)]


def test_two_author_ids_that_clash_are_still_an_error(make_book: Callable[..., Path]) -> None:
    from bookmaker.errors import ManuscriptError
    from bookmaker.pipeline import read_book

    with pytest.raises(ManuscriptError, match=r"duplicate id 'same' \(also in part-1/a\.md\)"):
        read_book(make_book({"book.yaml": MINIMAL_YAML, "part-1/a.md": "# A {#same}\n\nx\n", "part-2/a.md": "# B\n\n## B {#same}\n"}))
