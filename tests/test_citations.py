"""Citations in pandoc syntax, formatted by pandoc's citeproc, and the generated bibliography (issue 12)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import epubcheck_messages, write_book

BIB = r"""
@book{shirky2015,
  author = {Shirky, Clay},
  title = {Little Rice: Smartphones, Xiaomi, and the Chinese Dream},
  publisher = {Columbia Global Reports},
  year = {2015}
}
@book{li2016,
  author = {{Li Wanqiang}},
  title = {The Xiaomi Way: Customer Engagement Strategies That Built One of the Largest Smartphone Companies in the World},
  publisher = {McGraw-Hill Education},
  year = {2016}
}
@article{lin2013,
  author = {Lin, Mei},
  title = {Mobile Phones in Rural Towns},
  journal = {Journal of Small Studies},
  volume = {7},
  number = {2},
  pages = {101--120},
  year = {2013}
}
"""

CSL_JSON = [
    {"id": "shirky2015", "type": "book", "author": [{"family": "Shirky", "given": "Clay"}],
     "title": "Little Rice: Smartphones, Xiaomi, and the Chinese Dream", "publisher": "Columbia Global Reports",
     "issued": {"date-parts": [[2015]]}},
    {"id": "li2016", "type": "book", "author": [{"literal": "Li Wanqiang"}],
     "title": "The Xiaomi Way", "publisher": "McGraw-Hill Education", "issued": {"date-parts": [[2016]]}},
    {"id": "lin2013", "type": "article-journal", "author": [{"family": "Lin", "given": "Mei"}],
     "title": "Mobile Phones in Rural Towns", "container-title": "Journal of Small Studies", "volume": "7",
     "issue": "2", "page": "101-120", "issued": {"date-parts": [[2013]]}},
]

CHAPTER_ONE = """\
# The Phone

The first phones sold out in minutes [@shirky2015, 45]. The second batch went as fast [@shirky2015, 50].
And again [@shirky2015, 50]. The fans had a name for it [see @li2016, chap. 2; @lin2013, 105, for the towns].
As @shirky2015 [60] says, it was theatre. The founder's own account [-@li2016, 12] agrees.
A side remark.[^aside] Nobody has written [@nobody1999] about it.

Code keeps its text: `[@shirky2015]`.

[^aside]: Compare [@lin2013, 110].
"""


def make(root: Path, style: str | None, bib: str = "refs.bib", extra: str = "") -> Path:
    files: dict[str, str | bytes] = {
        "book.yaml": f"title: Sources\nauthor: Ann Writer\nlanguage: en\nbibliography: {bib}\n"
                     + (f"citation-style: {style}\n" if style else "") + extra,
        "01-phone.md": CHAPTER_ONE,
        "refs.bib": BIB,
        "refs.json": json.dumps(CSL_JSON, indent=1),
    }
    return write_book(root, files)


def notes_of(root: Path) -> list[str]:
    from bookmaker.pipeline import read_book

    book = read_book(root)
    chapter = next(c for c in book.chapters if c.kind == "chapter")
    return [" ".join("".join(n.body.itertext()).split()) for n in chapter.notes]


def text_of(root: Path, kind: str = "chapter") -> str:
    from bookmaker.pipeline import read_book

    book = read_book(root)
    chapter = next(c for c in book.chapters if c.kind == kind)
    return " ".join("".join(chapter.body.itertext()).split())


@pytest.mark.parametrize("bib", ["refs.bib", "refs.json"])
def test_chicago_notes_first_full_then_short(tmp_path: Path, bib: str) -> None:
    notes = notes_of(make(tmp_path / "m", None, bib))
    assert notes[0] == "Clay Shirky, Little Rice: Smartphones, Xiaomi, and the Chinese Dream (Columbia Global Reports, 2015), 45."
    assert notes[1] == "Shirky, Little Rice, 50."
    assert notes[2] == "Shirky, Little Rice, 50."  # no ibid in the default style
    # Prefix, locator label and suffix; the second work is given in full at its first citation.
    assert notes[3].startswith("See Li Wanqiang, The Xiaomi Way")
    assert "chap. 2" in notes[3] and "105, for the towns." in notes[3]
    # "@shirky2015 [60] says": the author in the text, the note without the author.
    assert notes[4] == "Little Rice, 60."
    assert "As Shirky says, it was theatre." in text_of(make(tmp_path / "m2", None, bib))
    # "[-@li2016, 12]": the author suppressed.
    assert notes[5] == "The Xiaomi Way, 12." if bib == "refs.json" else notes[5].startswith("The Xiaomi Way")
    # A citation inside the author's note is formatted there, without parentheses.
    assert "Compare Lin, “Mobile Phones in Rural Towns,” 110." in notes


def test_ibid_style(tmp_path: Path) -> None:
    notes = notes_of(make(tmp_path / "m", "chicago-notes-bibliography-ibid"))
    assert notes[0].startswith("Clay Shirky, Little Rice")
    assert notes[1] == "Ibid., 50."  # same source, another page
    assert notes[2] == "Ibid."  # same source, same page


def test_author_date_in_text_locators_and_suppressed_author(tmp_path: Path) -> None:
    root = make(tmp_path / "m", "chicago-author-date")
    text = text_of(root)
    assert "sold out in minutes (Shirky 2015, 45)." in text
    assert "(see Li Wanqiang 2016, chap. 2; Lin 2013, 105, for the towns)" in text
    assert "As Shirky (2015, 60) says" in text
    assert "own account (2016, 12) agrees" in text
    assert "Code keeps its text: [@shirky2015]." in text
    bibliography = text_of(root, "bibliography")
    assert bibliography.index("Li Wanqiang") < bibliography.index("Lin, Mei") < bibliography.index("Shirky, Clay")


def test_unknown_key_is_a_warning_with_line_and_prints_in_brackets(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = make(tmp_path / "m", None)
    with caplog.at_level("WARNING"):
        text = text_of(root)
    assert "Nobody has written [nobody1999] about it." in text
    assert any("01-phone.md:6" in r.getMessage() or getattr(r, "line", None) == 6 for r in caplog.records) or \
        "citation key 'nobody1999' is not in the bibliography" in caplog.text
    check = subprocess.run([sys.executable, "-m", "bookmaker", "check", str(root)], capture_output=True, text=True)
    assert "01-phone.md:6: warning: BM730 citation key 'nobody1999' is not in the bibliography" in check.stdout + check.stderr


def test_bibliography_lists_cited_and_nocite_works_in_print_and_epub(tmp_path: Path) -> None:
    root = make(tmp_path / "m", None, extra="nocite: [lin2013]\ncitation-notes: endnotes\n")
    (root / "01-phone.md").write_text("# The Phone\n\nIt sold out [@shirky2015, 45].\n", encoding="utf-8")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "bookmaker", "build", str(root), "-o", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    from conftest import pdf_text_pages

    pages = [" ".join(p.split()) for p in pdf_text_pages(out / "sources.pdf")]
    bib_page = next(i for i, t in enumerate(pages) if t.startswith("Bibliography"))
    notes_page = next(i for i, t in enumerate(pages) if t.startswith("Notes"))
    assert notes_page < bib_page
    assert "Lin, Mei. “Mobile Phones in Rural Towns.” Journal of Small Studies 7, no. 2 (2013): 101–20." in pages[bib_page]
    assert "Shirky, Clay. Little Rice" in pages[bib_page]
    assert "Li Wanqiang" not in pages[bib_page]
    assert epubcheck_messages(out / "sources.epub") == []


@pytest.mark.parametrize(("name", "content", "line"), [
    ("refs.bib", "@book{a,\n  title = {A},\n  year = {2000}\n\n@book{b, title={B}}\n", 1),
    ("refs.bib", "@book{,\n  title = {A}\n}\n", 1),
    ("refs.json", '[\n {"id": "a",\n  "title": "A"\n ,]\n', 4),
])
def test_broken_bibliography_is_one_line_naming_file_and_line(tmp_path: Path, name: str, content: str, line: int) -> None:
    root = make(tmp_path / "m", None, bib=name)
    (root / name).write_text(content, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "bookmaker", "build", str(root), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 4
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, done.stderr
    assert f"{name}:{line}:" in lines[0]
    assert "Traceback" not in done.stderr


def test_style_must_be_bundled_or_a_csl_file_in_the_manuscript(tmp_path: Path) -> None:
    from bookmaker.config import load_config
    from bookmaker.errors import ConfigError

    root = make(tmp_path / "m", "harvard-ish")
    with pytest.raises(ConfigError) as info:
        load_config(root)
    assert "'citation-style' expected one of chicago-notes-bibliography" in "\n".join(info.value.problems)
