"""Two note streams, keyed endnotes and their places in both formats (issue 12)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from conftest import epubcheck_messages, pdf_text_pages, write_book

OPS = "http://www.idpf.org/2007/ops"
XHTML = "http://www.w3.org/1999/xhtml"
NS = {"h": XHTML, "epub": OPS}
ACE = Path(__file__).resolve().parent.parent / "node_modules" / ".bin" / "ace-puppeteer"
CHROMIUM = Path("/usr/bin/chromium")

#: Filler about a river town, varied so that lines break differently.
WORDS = ("the ferry crossed at dawn while the market opened and carters argued over the price of salt "
         "near the old granary where the schoolmaster kept his bees and counted the barges").split()


def filler(seed: int, n: int = 70) -> str:
    words = [WORDS[(seed * 7 + i * 3) % len(WORDS)] for i in range(n)]
    return (" ".join(words)).capitalize() + "."


def chapter(number: int, keyed: int, feet: int = 1) -> str:
    """A chapter with ``keyed`` endnotes whose key phrases are unique ("pelican 2 3") and footnotes."""
    paragraphs, notes = [], []
    for i in range(1, keyed + 1):
        text = filler(number * 10 + i)
        if i == 1:
            text += f" They called it [the pelican {number} {i} bridge]{{.key}}[^^k{i}] in those years."
        else:
            text += f" Everybody remembered the pelican {number} {i} stone.[^^k{i}]"
        if i <= feet:
            text += f" A side remark followed.[^f{i}]"
            notes.append(f"[^f{i}]: Footnote {number}.{i}, a discursive aside.")
        paragraphs.append(text)
        notes.append(f"[^^k{i}]: Source for chapter {number} item {i}: the town register.")
    return f"# River Town {number}\n\n" + "\n\n".join(paragraphs) + "\n\n" + "\n".join(notes) + "\n"


@dataclass
class Built:
    root: Path
    pdf: Path | None
    epub: Path
    pages: list[str]
    folios: list[str]


def build(root: Path, out: Path, formats: str = "pdf,epub") -> Built:
    env = dict(os.environ, SOURCE_DATE_EPOCH="1780000000")
    import sys

    done = subprocess.run([sys.executable, "-m", "bookmaker", "build", str(root), "-o", str(out), "--format", formats],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    pdf = next(out.glob("*.pdf"), None)
    pages = pdf_text_pages(pdf) if pdf else []
    folios = _folios(pdf) if pdf else []
    return Built(root, pdf, next(out.glob("*.epub")), pages, folios)


def _folios(pdf: Path) -> list[str]:
    """The folio printed on each page ('' on openers), read from the bottom line of the page."""
    import pymupdf

    out = []
    with pymupdf.open(pdf) as doc:
        for page in doc:
            height = page.rect.height
            bottom = [b[4].strip() for b in page.get_text("blocks") if b[1] > height * 0.9]
            out.append(next((t for t in bottom if re.fullmatch(r"[0-9]+|[ivxlc]+", t)), ""))
    # Openers print no folio: count on from a page that does (arabic folios are consecutive).
    known = next((i for i, t in enumerate(out) if t.isdigit()), None)
    if known is None:
        return out
    offset = known - int(out[known])
    return [str(i - offset) if i - offset >= 1 else t for i, t in enumerate(out)]


def flat(text: str) -> str:
    """Page text as one line, hyphenated words joined."""
    return " ".join(text.replace("\u2010\n", "").replace("-\n", "").split())


def epub_docs(epub: Path) -> dict[str, etree._Element]:
    with zipfile.ZipFile(epub) as z:
        return {n.rsplit("/", 1)[-1]: etree.fromstring(z.read(n)) for n in z.namelist() if n.endswith(".xhtml")}


# ---- keyed endnotes beside page footnotes ------------------------------------------------------


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = write_book(tmp_path_factory.mktemp("keyed") / "m", {
        "book.yaml": "title: River Town\nauthor: Ann Writer\nlanguage: en\n"
                     "notes:\n  footnotes: page\n  endnotes: keyed\n",
        **{f"0{n}-town.md": chapter(n, keyed=9) for n in (1, 2, 3)},
    })
    return build(root, root.parent / "out")


def notes_pages(built: Built) -> list[int]:
    start = next(i for i, text in enumerate(built.pages) if text.lstrip().startswith("Notes\n") or "\nNotes\n" in text[:40])
    return list(range(start, len(built.pages)))


def test_keyed_page_numbers_are_the_pages_where_the_key_phrases_print(keyed: Built) -> None:
    body = " ".join(keyed.pages[: notes_pages(keyed)[0]])
    assert "pelican 1 1" in body
    notes_text = "\n".join(keyed.pages[i] for i in notes_pages(keyed))
    entries = re.findall(r"(\d+)\s+((?:remembered )?the pelican \d \d (?:bridge|stone)):", " ".join(notes_text.split()))
    assert len(entries) == 27, entries
    body_pages = [flat(t) for t in keyed.pages[: notes_pages(keyed)[0]]]
    for folio, phrase in entries:
        printed = [i for i, text in enumerate(body_pages) if phrase in text]
        # A phrase broken over a page turn belongs to the page where it starts.
        printed += [i for i in range(len(body_pages) - 1) if phrase in f"{body_pages[i]} {body_pages[i + 1]}"]
        assert printed, phrase
        assert keyed.folios[printed[0]] == folio, (phrase, folio, printed[0])
    # Pages differ: the notes are spread over several pages of text, not all "1".
    assert len({folio for folio, _ in entries}) >= 4


def test_keyed_notes_have_no_call_and_footnotes_stay_on_their_page(keyed: Built) -> None:
    for text in keyed.pages[: notes_pages(keyed)[0]]:
        flat = " ".join(text.split())
        # No superscript number after a key phrase (the call is left out of the text).
        assert not re.search(r"pelican \d \d (?:bridge|stone)\.?\d", flat), flat
        if "A side remark followed." in flat:
            assert re.search(r"1\.\s+Footnote \d\.1, a discursive aside\.", flat)


def test_notes_running_heads_name_the_pages_of_their_notes(keyed: Built) -> None:
    pages = notes_pages(keyed)
    assert len(pages) >= 2, "the test needs a Notes section of two pages or more"
    for index in pages[1:]:
        flat = " ".join(keyed.pages[index].split())
        head = re.search(r"Notes to pages? (\d+)(?:\u2013(\d+))?", flat)
        assert head, flat[:120]
        entries = [int(f) for f in re.findall(r"(\d+) (?:remembered )?the pelican", flat)]
        if entries:
            low, high = int(head.group(1)), int(head.group(2) or head.group(1))
            # The head spans the pages of the notes that begin on this page.
            assert low == entries[0] and high >= entries[-1] - (entries[-1] // 100) * 100 % 100


def test_keyed_notes_in_the_epub_link_both_ways_with_page_list_labels(keyed: Built) -> None:
    docs = epub_docs(keyed.epub)
    notes = docs["book-notes.xhtml"]
    nav = docs["nav.xhtml"]
    page_list = set(nav.xpath('//h:nav[@epub:type="page-list"]//h:a/text()', namespaces=NS))
    items = notes.xpath('//h:li[@epub:type="endnote"]', namespaces=NS)
    assert len(items) == 27
    for li in items:
        page = li.xpath('string(.//h:b[@class="note-page"])', namespaces=NS)
        assert page in page_list
        href = li.xpath('string(.//h:a[@class="note-key"]/@href)', namespaces=NS)
        target_file, anchor = href.split("#")
        spot = docs[target_file].xpath(f'//*[@id="{anchor}"]')
        assert spot, href
        back = spot[0].xpath('.//h:a[@class="keyref"]/@href', namespaces=NS)
        assert back == [f"book-notes.xhtml#{li.get('id')}"]
    # Page footnotes are popups in their chapter; keyed notes have no noteref.
    chapter = docs["town.xhtml"]
    assert len(chapter.xpath('//h:aside[@epub:type="footnote"]', namespaces=NS)) == 1
    assert len(chapter.xpath('//h:a[@epub:type="noteref"]', namespaces=NS)) == 1
    assert epubcheck_messages(keyed.epub) == []


def test_epub_only_keyed_notes_name_the_chapter(keyed: Built, tmp_path: Path) -> None:
    only = build(keyed.root, tmp_path / "epub", "epub")
    notes = epub_docs(only.epub)["book-notes.xhtml"]
    pages = notes.xpath('//h:b[@class="note-page"]/text()', namespaces=NS)
    assert pages and set(pages) <= {"1. River Town 1", "2. River Town 2", "3. River Town 3"}
    assert epubcheck_messages(only.epub) == []


# ---- every place in both formats ------------------------------------------------------------------

PLACES = {
    "chapter-book": "notes:\n  footnotes: chapter\n  endnotes: book\n  numbering: book\n",
    "book-chapter": "notes:\n  footnotes: book\n  endnotes: chapter\n",
    "old-endnotes": "notes: endnotes\n",
    "old-book-endnotes": "notes: book-endnotes\n",
}


@pytest.fixture(scope="module", params=sorted(PLACES))
def placed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Built]:
    root = write_book(tmp_path_factory.mktemp(request.param) / "m", {
        "book.yaml": "title: River Town\nauthor: Ann Writer\nlanguage: en\n" + PLACES[request.param],
        **{f"0{n}-town.md": chapter(n, keyed=2, feet=2) for n in (1, 2)},
        "09-thanks.md": "---\nkind: acknowledgments\ntitle: Thanks\n---\n\nThanks to the ferrymen.\n",
    })
    return request.param, build(root, root.parent / "out")


def test_each_place_in_print(placed: tuple[str, Built]) -> None:
    mode, built = placed
    text = [" ".join(p.split()) for p in built.pages]
    where = {i: t for i, t in enumerate(text)}
    opener2 = next(i for i, t in where.items() if "River Town 2" in t and "Chapter 2" in t)
    foot_1 = next(i for i, t in where.items() if "Footnote 1.1, a discursive aside" in t)
    end_1 = next(i for i, t in where.items() if "Source for chapter 1 item 1" in t)
    thanks = next(i for i, t in where.items() if "Thanks to the ferrymen" in t)
    if mode in ("chapter-book",):
        assert foot_1 < opener2 < thanks < end_1
        # Numbering through the book: chapter 2's first endnote continues chapter 1's.
        assert re.search(r"3\. Source for chapter 2 item 1", " ".join(text[end_1:]))
        # Footnotes beside numbered endnotes are marked with symbols.
        assert "* Footnote 1.1" in " ".join(text[:opener2])
    elif mode == "book-chapter":
        assert end_1 < opener2 < thanks < foot_1
        # Book-end footnotes beside numbered chapter endnotes: symbols, restarting in each chapter.
        assert "2. River Town 2 * Footnote 2.1" in " ".join(text[foot_1:])
    elif mode == "old-endnotes":
        assert foot_1 < opener2 and end_1 < opener2
    else:
        assert thanks < foot_1 and thanks < end_1
        assert "1. River Town 1" in " ".join(text[thanks:]) and "2. River Town 2" in " ".join(text[thanks:])


def test_each_place_in_the_epub_links_both_ways(placed: tuple[str, Built]) -> None:
    mode, built = placed
    docs = epub_docs(built.epub)
    refs = [(name, a) for name, doc in docs.items() for a in doc.xpath('//h:a[@epub:type="noteref"]', namespaces=NS)]
    assert len(refs) == 8  # two footnotes and two endnotes in each of two chapters
    for name, a in refs:
        target, anchor = (a.get("href").split("#") + [""])[:2]
        target_doc = docs[target or name]
        note = target_doc.xpath(f'//*[@id="{anchor}"]')
        assert note, a.get("href")
        assert note[0].get(f"{{{OPS}}}type") in ("footnote", "endnote")
        back = note[0].xpath('.//h:a[@role="doc-backlink"]/@href', namespaces=NS)
        assert back and back[0].split("#")[-1] == a.get("id")
    book_notes = "book-notes.xhtml" in docs
    assert book_notes == (mode != "old-endnotes")
    if mode in ("old-endnotes", "book-chapter"):
        assert docs["town.xhtml"].xpath('//h:section[@epub:type="endnotes"]', namespaces=NS)
    assert epubcheck_messages(built.epub) == []


def test_ace_accepts_every_notes_mode(placed: tuple[str, Built], keyed: Built, tmp_path: Path) -> None:
    mode, built = placed
    if not ACE.exists() or not CHROMIUM.exists():
        pytest.fail("Ace by DAISY or chromium is missing (npm install; apt-get install chromium)")
    epubs = [("mode", built.epub)] + ([("keyed", keyed.epub)] if mode == "book-chapter" else [])
    env = dict(os.environ, PUPPETEER_EXECUTABLE_PATH=str(CHROMIUM))
    for name, epub in epubs:
        out = tmp_path / name
        done = subprocess.run([str(ACE), "--silent", "--force", "--outdir", str(out), str(epub)], env=env, timeout=300)
        assert done.returncode == 0
        report = json.loads((out / "report.json").read_text())
        found = [(a["earl:test"]["earl:impact"], a["earl:test"]["dct:title"])
                 for doc in report["assertions"] for a in doc.get("assertions", [])]
        assert [f for f in found if f[0] in ("critical", "serious")] == [], (mode, name)


# ---- configuration ----------------------------------------------------------------------------


def test_notes_mapping_is_validated_with_the_rest(tmp_path: Path) -> None:
    from bookmaker.config import load_config
    from bookmaker.errors import ConfigError

    root = write_book(tmp_path / "m", {
        "book.yaml": "title: T\nauthor: A\nlanguage: en\nnotes:\n  footnotes: margin\n  endnotes: keyed\n"
                     "citation-notes: sidenotes\n",
        "a.md": "# A\n\nText.\n",
    })
    with pytest.raises(ConfigError) as info:
        load_config(root)
    problems = "\n".join(info.value.problems)
    assert "book.yaml:4: 'notes.footnotes' expected one of page, chapter, book, got 'margin'" in problems
    assert "'citation-notes' expected one of footnotes, endnotes" in problems


def test_old_notes_words_keep_their_meaning(tmp_path: Path) -> None:
    from bookmaker.config import load_config

    for word, expected in (("footnotes", ("page", "book")), ("endnotes", ("chapter", "chapter")),
                           ("book-endnotes", ("book", "book"))):
        root = write_book(tmp_path / word, {"book.yaml": f"title: T\nauthor: A\nlanguage: en\nnotes: {word}\n"})
        notes = load_config(root).notes
        assert (notes.footnotes, notes.endnotes) == expected


def test_labels_restart_per_file_and_streams_never_collide(tmp_path: Path) -> None:
    from bookmaker.pipeline import read_book

    root = write_book(tmp_path / "m", {
        "book.yaml": "title: T\nauthor: A\nlanguage: en\n",
        "a.md": "# A\n\nOne[^1] and two[^^1] and three[^x].\n\n[^1]: Foot A.\n[^^1]: End A.\n[^x]: Foot X.\n",
        "b.md": "# B\n\nAgain[^1] and [this phrase]{.key}[^^1].\n\n[^1]: Foot B.\n[^^1]: End B.\n",
    })
    book = read_book(root)
    a, b = (c for c in book.chapters if c.kind == "chapter")
    assert [(n.stream, n.mark, "".join(n.body.itertext()).strip()) for n in a.notes] == [
        ("foot", "*", "Foot A."), ("end", "1", "End A."), ("foot", "\u2020", "Foot X.")]
    assert [(n.stream, n.mark) for n in b.notes] == [("foot", "*"), ("end", "1")]
    assert b.notes[1].key == "this phrase"
    # The last words before the call, not reaching back past the footnote call before them.
    assert a.notes[1].key == "and two"
