"""``numbering:`` (arabic, roman, words, none) in both formats, and titles that carry their own numbers."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from bookmaker.numbering import number_words, own_number
from conftest import MINIMAL_YAML, build_with_warnings, pdf_text_pages, write_book

NS = {"x": "http://www.w3.org/1999/xhtml", "ncx": "http://www.daisy.org/z3986/2005/ncx/", "epub": "http://www.idpf.org/2007/ops"}


def test_number_words_in_english_german_and_french() -> None:
    assert [number_words(n, "en") for n in (1, 12, 21, 40, 101)] == ["One", "Twelve", "Twenty-One", "Forty", "One Hundred and One"]
    assert [number_words(n, "de-AT") for n in (1, 12, 21, 31, 100)] == ["eins", "zwölf", "einundzwanzig", "einunddreißig", "einhundert"]
    assert [number_words(n, "fr") for n in (1, 21, 71, 80, 81, 99)] == [
        "un", "vingt et un", "soixante et onze", "quatre-vingts", "quatre-vingt-un", "quatre-vingt-dix-neuf"]
    assert number_words(3, "xx") is None


@pytest.mark.parametrize(("title", "number"), [
    ("I: Ancestry and Early Youth", "I"), ("Chapter One: The Start", "One"), ("3. The Move", "3"),
    ("Chapter 12", "12"), ("XIV \u2013 Exile", "XIV"), ("Twenty-One: Late", "Twenty-One"),
    ("1984", None), ("I Was Born", None), ("One", None), ("IV", "IV"), ("10 Downing Street", None), ("Onerous Duties", None), ("The Move", None),
])
def test_titles_that_carry_a_number(title: str, number: str | None) -> None:
    assert own_number(title, "en") == number


def test_german_and_french_titles_with_their_chapter_word() -> None:
    assert own_number("Kapitel drei: Die Flucht", "de") == "drei"
    assert own_number("Chapitre deux", "fr") == "deux"
    assert own_number("Drei Brüder", "de") is None


PRENUMBERED = {
    "book.yaml": MINIMAL_YAML,
    "01.md": "# I: Ancestry and Early Youth\n\nBorn in a small town.\n",
    "02.md": "# II: The Journey South\n\nA long road.\n",
    "03.md": "# A Chapter Without a Number\n\nThe exception.\n",
}


def _nav(epub: Path) -> tuple[list[str], list[str], dict[str, str]]:
    z = zipfile.ZipFile(epub)
    nav = etree.fromstring(z.read("EPUB/nav.xhtml"))
    labels = ["".join(a.itertext()) for a in nav.xpath('//x:nav[@epub:type="toc"]//x:a', namespaces=NS)]
    ncx = etree.fromstring(z.read("EPUB/toc.ncx"))
    points = [t.text for t in ncx.xpath("//ncx:navPoint/ncx:navLabel/ncx:text", namespaces=NS)]
    heads = {}
    for name in z.namelist():
        if name.startswith("EPUB/text/"):
            doc = etree.fromstring(z.read(name))
            heads[Path(name).stem] = " / ".join(" ".join(p.itertext()) for p in doc.xpath('//x:p[@class="chapter-number"]', namespaces=NS))
    return labels, points, heads


@pytest.fixture(scope="module")
def prenumbered(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], list[str]]:
    root = tmp_path_factory.mktemp("prenumbered")
    return build_with_warnings(write_book(root / "manuscript", PRENUMBERED), root / "out")


def test_prenumbered_titles_get_no_second_number_in_the_epub(prenumbered: tuple[dict[str, Path], list[str]]) -> None:
    labels, points, heads = _nav(prenumbered[0]["epub"])
    assert labels == points == ["I: Ancestry and Early Youth", "II: The Journey South", "3. A Chapter Without a Number"]
    assert heads == {"c-01": "", "c-02": "", "c-03": "Chapter 3"}


def test_prenumbered_titles_get_no_second_number_in_print(prenumbered: tuple[dict[str, Path], list[str]]) -> None:
    import pymupdf

    pages = [t.replace("\xa0", " ") for t in pdf_text_pages(prenumbered[0]["pdf"])]
    opener = next(text for text in pages if "Born in a small town." in text)
    assert "Chapter" not in opener and "I: Ancestry and Early Youth" in opener
    third = next(text for text in pages if "The exception." in text)
    assert "Chapter 3" in third
    contents = next(text for text in pages if text.lstrip().startswith("Contents"))
    assert not re.search(r"\b1\s+I: Ancestry", contents), contents
    with pymupdf.open(prenumbered[0]["pdf"]) as doc:
        outline = [title for _, title, _ in doc.get_toc()]
    assert outline == ["Contents", "I: Ancestry and Early Youth", "II: The Journey South", "3. A Chapter Without a Number"]


def test_prenumbered_titles_warn_once_suggesting_numbering_none(prenumbered: tuple[dict[str, Path], list[str]]) -> None:
    found = [w for w in prenumbered[1] if "their own number" in w]
    assert len(found) == 1, prenumbered[1]
    assert re.search(r"01\.md:1: 2 chapter titles carry their own number \('I: Ancestry and Early Youth'\).*'numbering: none'", found[0])


def test_numbering_none_is_quiet_and_numbers_nothing(make_book: Callable[..., Path], tmp_path: Path) -> None:
    book = make_book({**PRENUMBERED, "book.yaml": MINIMAL_YAML + "numbering: none\n"})
    outputs, seen = build_with_warnings(book, tmp_path / "out", ("epub",))
    labels, points, heads = _nav(outputs["epub"])
    assert labels == ["I: Ancestry and Early Youth", "II: The Journey South", "A Chapter Without a Number"]
    assert set(heads.values()) == {""}
    assert seen == []


def test_numbering_roman(make_book: Callable[..., Path], tmp_path: Path) -> None:
    book = make_book({"book.yaml": MINIMAL_YAML + "numbering: roman\n", **{f"{n:02d}.md": f"# Day {n}\n\nText.\n" for n in range(1, 5)}})
    labels, points, heads = _nav(build_with_warnings(book, tmp_path / "out", ("epub",))[0]["epub"])
    assert labels == points == ["I. Day 1", "II. Day 2", "III. Day 3", "IV. Day 4"]
    assert heads["c-04"] == "Chapter IV"


@pytest.fixture(scope="module")
def german_words(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("words")
    files = {"book.yaml": "title: Ein Leben\nauthor: Anna Beispiel\nlanguage: de\nnumbering: words\n"}
    files |= {f"{n:02d}.md": f"# Die Stadt am Fluss {n}\n\nEin Absatz über das Jahr {1900 + n}.\n" for n in range(1, 4)}
    files["04.md"] = "# Das einundzwanzigste Jahr\n\nNoch ein Absatz.\n"
    return build_with_warnings(write_book(root / "manuscript", files), root / "out")[0]


def test_numbering_words_in_the_books_language_epub(german_words: dict[str, Path]) -> None:
    labels, points, heads = _nav(german_words["epub"])
    assert labels == points == ["Eins: Die Stadt am Fluss 1", "Zwei: Die Stadt am Fluss 2", "Drei: Die Stadt am Fluss 3",
                                "Vier: Das einundzwanzigste Jahr"]
    assert heads["c-03"].endswith(" drei")


def test_numbering_words_in_the_books_language_pdf(german_words: dict[str, Path]) -> None:
    import pymupdf

    pages = [t.replace("\xa0", " ") for t in pdf_text_pages(german_words["pdf"])]
    opener = next(text for text in pages if "Jahr 1903" in text)
    assert re.search(r"\bdrei\b", opener, re.I), opener
    contents = next(text for text in pages if "Zwei: Die Stadt am Fluss 2" in text)
    assert "Vier: Das einundzwanzigste Jahr" in contents
    with pymupdf.open(german_words["pdf"]) as doc:
        outline = [title for _, title, _ in doc.get_toc()]
    assert "Drei: Die Stadt am Fluss 3" in outline


def test_unknown_numbering_is_a_config_error(make_book: Callable[..., Path]) -> None:
    from bookmaker.config import load_config
    from bookmaker.errors import ConfigError

    with pytest.raises(ConfigError, match=r"book\.yaml:5: 'numbering' expected one of arabic, roman, words, none, got 'greek'"):
        load_config(make_book({"book.yaml": MINIMAL_YAML + "numbering: greek\n", "a.md": "# A\n"}))
