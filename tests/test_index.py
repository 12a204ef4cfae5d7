"""The index and cross-references: collation, locators, print pages found in the PDF, EPUB Indexes markup."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from conftest import epubcheck_messages, pdf_text_pages, run_cli

from bookmaker.collation import letter_group, sort_key
from bookmaker.index import Locator, Marker, PageLabels, elide

NS = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops",
      "opf": "http://www.idpf.org/2007/opf"}

# -- collation and elision -------------------------------------------------------------------------


@pytest.mark.parametrize(("first", "last", "expected"), [
    (3, 10, "3–10"), (71, 72, "71–72"), (96, 117, "96–117"), (100, 104, "100–104"), (1100, 1113, "1100–1113"),
    (101, 108, "101–8"), (808, 833, "808–33"), (1103, 1104, "1103–4"), (321, 328, "321–28"),
    (498, 532, "498–532"), (1087, 1089, "1087–89"), (1496, 1500, "1496–1500"), (11564, 11615, "11564–615"),
    (12991, 13001, "12991–3001"), (45, 47, "45–47"),
])
def test_ranges_elide_as_chicago_9_64(first: int, last: int, expected: str) -> None:
    assert elide(first, last) == expected


def test_word_by_word_order_with_numbers_first_and_accents_beside_their_letter() -> None:
    terms = ["Newark", "New York", "Ábel", "Abbot", "Acre", "1848 storm", "9 lives", "Émile", "Emu", "zebra", "Zürich"]
    assert sorted(terms, key=sort_key) == ["9 lives", "1848 storm", "Abbot", "Ábel", "Acre", "Émile", "Emu",
                                           "New York", "Newark", "zebra", "Zürich"]
    assert sorted(["Newark", "New York"], key=lambda t: sort_key(t, letter_by_letter=True)) == ["Newark", "New York"]


def test_swedish_files_a_ring_after_z_and_letter_groups_follow() -> None:
    assert sorted(["Örebro", "Åre", "Zinkgruvan", "Arvika"], key=lambda t: sort_key(t, "sv")) == \
        ["Arvika", "Zinkgruvan", "Åre", "Örebro"]
    assert sorted(["Örebro", "Åre", "Zinkgruvan", "Arvika"], key=sort_key)[:2] == ["Åre", "Arvika"]
    assert [letter_group(t, "sv") for t in ("Åre", "Émile", "1848", "雷军")] == ["Å", "E", "", "\uffff"]


def _labels(pages: dict[str, str], folios: list[str]) -> PageLabels:
    return PageLabels(pages.get, folios)


def test_locators_join_consecutive_pages_and_keep_one_per_page() -> None:
    folios = ["i", "ii", "iii"] + [str(n) for n in range(1, 400)]
    pages = {"a": "45", "b": "45", "c": "46", "d": "47", "e": "50", "f": "321", "g": "328", "n": "52", "r": "ii", "s": "1"}
    locs = [Locator(Marker(m, "c", "subject", ("t",), in_note=m == "n")) for m in "abcden"]
    locs.append(Locator(Marker("f", "c", "subject", ("t",), range="open"), Marker("g", "c", "subject", ("t",), range="close")))
    locs += [Locator(Marker("r", "c", "subject", ("t",))), Locator(Marker("s", "c", "subject", ("t",)))]
    shown = _labels(pages, folios).shown(locs)
    texts = [s.text if s.end_text is None else f"{s.text}–{s.end_text}" for s in shown]
    # Roman front matter never joins the arabic page 1; the note stays apart as 52n.
    assert texts == ["ii", "1", "45–47", "50", "52n", "321–28"]
    assert shown[2].target.id == "a" and shown[2].end_target.id == "d"


# -- a small book built once -----------------------------------------------------------------------

FILLER = ("The keepers wrote down the weather at every change of watch, and the ledger they kept "
          "grew thick with tides, lamps trimmed, ships sighted and the slow work of painting the tower. ")


def _para(token: str, extra: str = "", n: int = 5) -> str:
    return f"{token} {extra}" + FILLER * n


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ledger")
    m = root / "manuscript"
    m.mkdir()
    (m / "book.yaml").write_text("title: The Keeper's Ledger\nauthor: Mara Holm\nlanguage: en\n"
                                 "contents: [00-preface.md, 01-tower.md, 02-storm.md, 98-names.md, 99-index.md]\n"
                                 "lists: [tables]\n")
    (m / "00-preface.md").write_text("---\nkind: preface\n---\n# Preface\n\n"
                                     "Prefok [the ledger]{.index entry=\"Ledger\"} begins here. " + FILLER * 3)
    tower = ["# The Tower\n",
             _para("Vexa", "[Quillfeather]{.index} lit the lamp. [Quillfeather]{.index} again.", 2),
             _para("Dredgo", "[]{.index entry=\"Harbour!dredging\" range=\"open\"}The dredging began.[^d]", 3)]
    tower += [_para(f"Tow{n}", "", 6) for n in range(6)]
    tower += [_para("Dreclo", "The dredging ended.[]{.index entry=\"Harbour!dredging\" range=\"close\"}", 1),
              _para("Abelo", "[Ábel]{.index} and [Abbot]{.index} and [Acre]{.index} met "
                    "[林则徐]{.index sort=\"Lin Zexu\"} near [Lomond]{.index} and the [Lighthouse]{.index} "
                    "and [Orrin Vale]{.index entry=\"Vale, Orrin\" index=\"names\"}, with "
                    "[1848 storm]{.index} and [Harbour]{.index entry=\"Harbour!pilots\" mention=\"principal\"}.", 1),
              "Berths " + "".join(f'[]{{.index entry="Harbour!berth {n:02d}"}}' for n in range(60)) + " were numbered.",
              "[^d]: Notok the silt was measured by [Brackwater]{.index}.\n"]
    (m / "01-tower.md").write_text("\n\n".join(tower))
    storm = ["# The Storm\n",
             _para("Refo", "For the silt, [see page {page}](01-tower.md#tower-b3); the gale is "
                   "[on page {page}](#storm-section), in [{title}](#storm-section) of chapter "
                   "[{chapter}](01-tower.md); the chart is [](#tbl-tides); and [](#nowhere-at-all).", 1)]
    storm += [_para(f"Sto{n}", "", 6) for n in range(4)]
    storm += ["## The Great Gale {#storm-section}\n", _para("Galo", "[Quillfeather]{.index} returned.", 1),
              "| Tide | Height |\n|---|---|\n| high | 4 m |\n\nTable: Tides at the tower {#tbl-tides}\n"]
    (m / "02-storm.md").write_text("\n\n".join(storm))
    (m / "98-names.md").write_text("---\nkind: index\nindex: names\ntitle: Index of Names\n---\n")
    (m / "99-index.md").write_text("---\nkind: index\n---\n# Index\n\nPage numbers followed by n refer to notes.\n")
    (m / "index.yaml").write_text("Lights: {see: Lighthouse}\nLomond: {see_also: [Harbour]}\n")
    out = root / "out"
    result = run_cli("build", str(m), "-o", str(out), "-v", env={"SOURCE_DATE_EPOCH": "1780000000"})
    assert result.returncode == 0, result.stderr
    epub_only = root / "epub-only"
    only = run_cli("build", str(m), "-o", str(epub_only), "--format", "epub")
    assert only.returncode == 0, only.stderr
    return {"pdf": out / "the-keeper-s-ledger.pdf", "epub": out / "the-keeper-s-ledger.epub",
            "epub_only": epub_only / "the-keeper-s-ledger.epub", "stderr": Path(result.stderr)}


def _pages(pdf: Path) -> list[str]:
    # Words hyphenated at a line end are joined again before searching.
    return [re.sub(r"[\-\u2010]\n", "", text) for text in pdf_text_pages(pdf)]


def _folios(pages: list[str]) -> list[str]:
    """Each page's folio, counted from the PDF text alone: arabic 1 is the page where "Chapter 1" opens."""
    start = next(i for i, text in enumerate(pages) if "Chapter 1" in text and "Contents" not in text)
    roman = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"]
    return [roman[i] if i < start else str(i - start + 1) for i in range(len(pages))]


def _printed_page(pages: list[str], word: str) -> str:
    folios = _folios(pages)
    index_start = next(i for i, text in enumerate(pages) if text.lstrip().startswith("Index of Names"))
    hits = [folios[i] for i, text in enumerate(pages[:index_start]) if word in text]
    assert hits, word
    return hits[0]


def _index_text(pages: list[str], title: str) -> str:
    start = next(i for i, text in enumerate(pages) if text.lstrip().startswith(title))
    text = pages[start]
    for more in pages[start + 1:]:
        if more.lstrip().startswith("Index"):
            break
        text += more
    return " ".join(text.split())


def test_print_locators_are_the_pages_where_the_markers_print(ledger: dict[str, Path]) -> None:
    pages = _pages(ledger["pdf"])
    index = _index_text(pages, "Index\n")
    vexa, galo = _printed_page(pages, "Vexa"), _printed_page(pages, "Galo")
    # Two markers on one page give one locator.
    assert f"Quillfeather, {vexa}, {galo}" in index, index
    start, end = _printed_page(pages, "Dredgo"), _printed_page(pages, "Dreclo")
    assert int(end) > int(start) + 1, (start, end)
    assert f"dredging, {elide(int(start), int(end))}" in index
    assert f"Brackwater, {_printed_page(pages, 'Notok')}n" in index
    assert f"Ledger, {_printed_page(pages, 'Prefok')}" in index and _printed_page(pages, "Prefok").isalpha()


def test_print_index_order_groups_and_cross_references(ledger: dict[str, Path]) -> None:
    pages = _pages(ledger["pdf"])
    index = _index_text(pages, "Index\n")
    assert "Page numbers followed by n refer to notes." in index
    order = [index.index(t) for t in ("Numbers and symbols", "1848 storm", "Abbot", "Ábel", "Acre", "Lighthouse",
                                      "林则徐", "Lomond")]
    assert order == sorted(order), index
    assert "Lights. See Lighthouse" in index
    assert "Lomond, " in index and "See also Harbour" in index
    names = _index_text(pages, "Index of Names")
    assert f"Vale, Orrin, {_printed_page(pages, 'Abelo')}" in names and "Quillfeather" not in names


def test_cross_references_print_pages_labels_and_question_marks(ledger: dict[str, Path]) -> None:
    pages = _pages(ledger["pdf"])
    text = " ".join(" ".join(pages).split())
    assert f"see page {_printed_page(pages, 'Dredgo')}" in text
    gale = next(_folios(pages)[i] for i, t in enumerate(pages) if "The Great Gale" in t and "Contents" not in t)
    assert f"on page {gale}, in The Great Gale of chapter 1" in text
    assert "the chart is Table 2.1; and ??." in text
    assert "Table 2.1. Tides at the tower" in text


def test_list_of_tables_in_both_formats(ledger: dict[str, Path]) -> None:
    pages = _pages(ledger["pdf"])
    listing = next(i for i, t in enumerate(pages) if t.lstrip().startswith("Tables"))
    printed = next(_folios(pages)[i] for i, t in enumerate(pages) if "Tides at the tower" in t and i != listing)
    assert re.search(r"Table 2\.1\. Tides at the tower[ .]*" + printed + r"\b", " ".join(pages[listing].split()))
    _z, docs = _epub(ledger["epub"])
    links = docs["EPUB/nav.xhtml"].xpath('//x:nav[@epub:type="lot"]//x:a', namespaces=NS)
    assert [(a.text, a.get("href")) for a in links] == [("Table 2.1. Tides at the tower", "text/storm.xhtml#tbl-tides")]


def test_print_index_page_has_two_columns(ledger: dict[str, Path]) -> None:
    import pymupdf

    with pymupdf.open(ledger["pdf"]) as doc:
        page = doc[next(i for i in range(len(doc)) if "Numbers and symbols" in doc[i].get_text())]
        xs = {round(b[0]) for b in page.get_text("blocks") if b[4].strip() and not b[4].startswith(("Index", "Page numbers"))}
        width = page.rect.width
    lefts = sorted(xs)
    assert lefts[-1] - lefts[0] > width / 4, lefts


def test_print_index_repeats_the_main_entry_at_the_head_of_a_column(ledger: dict[str, Path]) -> None:
    import pymupdf

    with pymupdf.open(ledger["pdf"]) as doc:
        heads = []
        for i in range(len(doc)):
            for block in doc[i].get_text("blocks"):
                if "(continued)" in block[4]:
                    others = [b for b in doc[i].get_text("blocks") if abs(b[0] - block[0]) < 15 and b[4].strip()
                              and b[1] > 60]
                    heads.append((block[4].strip(), min(b[1] for b in others) == block[1]))
    assert heads and all(text.startswith("Harbour (continued)") and first for text, first in heads), heads


def _epub(path: Path) -> tuple[zipfile.ZipFile, dict[str, etree._Element]]:
    z = zipfile.ZipFile(path)
    docs = {n: etree.fromstring(z.read(n)) for n in z.namelist() if n.endswith(".xhtml")}
    return z, docs


def test_epub_index_links_to_markers_with_print_page_labels(ledger: dict[str, Path]) -> None:
    z, docs = _epub(ledger["epub"])
    opf = etree.fromstring(z.read("EPUB/content.opf"))
    assert opf.xpath("//opf:item[@href='text/index.xhtml']/@properties", namespaces=NS) == ["index"]
    nav = docs["EPUB/nav.xhtml"]
    page_list = nav.xpath('//x:nav[@epub:type="page-list"]//x:a/text()', namespaces=NS)
    assert nav.xpath('//x:nav[@epub:type="landmarks"]//x:a[@epub:type="index"]/@href', namespaces=NS) == ["text/index.xhtml"]
    index = docs["EPUB/text/index.xhtml"]
    section = index.xpath('//x:section[@epub:type="index" and @role="doc-index"]', namespaces=NS)
    assert len(section) == 1
    assert index.xpath('//x:section[@epub:type="index-group"]/x:h2', namespaces=NS)
    pages = _pages(ledger["pdf"])
    entry = index.xpath('//x:li[@epub:type="index-entry"][x:span[@epub:type="index-term"]="Quillfeather"]', namespaces=NS)[0]
    locators = entry.xpath('x:a[@epub:type="index-locator"]', namespaces=NS)
    assert [a.text for a in locators] == [_printed_page(pages, "Vexa"), _printed_page(pages, "Galo")]
    for a in index.xpath('//x:a[@epub:type="index-locator"] | //x:span[@epub:type="index-locator-range"]/x:a', namespaces=NS):
        label = "".join(a.itertext()).rstrip("n")
        assert label in page_list or len(label) < 3, label  # elided range ends ("28") are not full folios
        file, _, anchor = a.get("href").partition("#")
        target = docs[f"EPUB/text/{file}"].xpath(f'//*[@id="{anchor}"]')
        assert target, a.get("href")
    rng = index.xpath('//x:li[x:span="dredging"]/x:span[@epub:type="index-locator-range"]/x:a', namespaces=NS)
    assert len(rng) == 2 and rng[1].get("href").endswith(tuple(
        a for a in [f"#{el.get('id')}" for el in docs["EPUB/text/tower.xhtml"].xpath('//x:span[@class="index"]', namespaces=NS)]))
    see = index.xpath('//x:li[x:span="Lights"]/x:a[@epub:type="index-xref-preferred"]', namespaces=NS)[0]
    assert see.get("href") == "#" + index.xpath('//x:li[x:span="Lighthouse"]/@id', namespaces=NS)[0]
    assert index.xpath('//x:li[x:span="Lomond"]/x:a[@epub:type="index-xref-related"]/x:span[@epub:type="index-term"]="Harbour"',
                       namespaces=NS)
    assert docs["EPUB/text/names.xhtml"].xpath('//x:span[@epub:type="index-term"]="Vale, Orrin"', namespaces=NS)


def test_epub_only_build_labels_locators_by_chapter_not_page(ledger: dict[str, Path]) -> None:
    _z, docs = _epub(ledger["epub_only"])
    index = docs["EPUB/text/index.xhtml"]
    labels = index.xpath('//x:a[@epub:type="index-locator"]//text()', namespaces=NS)
    assert labels and not [label for label in labels if label.isdigit()], labels
    assert "ch.\u00a01" in labels and "Preface" in labels
    storm = " ".join(docs["EPUB/text/storm.xhtml"].xpath("string(//x:body)", namespaces=NS).split())
    assert "For the silt, see chapter 1;" in storm


@pytest.mark.parametrize("which", ["epub", "epub_only"])
def test_epubcheck_accepts_both_indexes(ledger: dict[str, Path], which: str) -> None:
    assert epubcheck_messages(ledger[which]) == []


def test_warnings_name_file_and_line(tmp_path: Path) -> None:
    m = tmp_path / "m"
    m.mkdir()
    (m / "book.yaml").write_text("title: T\nauthor: A\nlanguage: en\n")
    (m / "01.md").write_text("# One\n\nText [x]{.index entry=\"Gone\" range=\"open\"} and [雷军]{.index}.\n\n"
                             "[y]{.index entry=\"Y\" see=\"Nobody\"} [](02.md#missing)\n")
    result = run_cli("build", str(m), "-o", str(tmp_path / "o"), "--format", "epub")
    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert re.search(r"01\.md:3: .*opened but never closed", err), err
    assert re.search(r"01\.md:3: .*'雷军' has no sort key", err), err
    assert re.search(r"01\.md:5: .*'Nobody', which is not an entry", err), err
    assert re.search(r"01\.md:3: .*no file with 'kind: index'", err), err
    assert re.search(r"01\.md:5: .*points nowhere", err), err


def test_unknown_list_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    m = tmp_path / "m"
    m.mkdir()
    (m / "book.yaml").write_text("title: T\nauthor: A\nlanguage: en\nlists: [figures, maps]\n")
    (m / "01.md").write_text("# One\n\nText.\n")
    result = run_cli("build", str(m), "-o", str(tmp_path / "o"), "--format", "epub")
    assert result.returncode == 3
    assert re.search(r"book\.yaml:4: 'lists' expected figures or tables, got 'maps'", result.stderr), result.stderr


# -- a generated book with 500+ markers ------------------------------------------------------------

SURNAMES = ["Adler", "Baptiste", "Çelik", "Dvořák", "Eriksen", "Fournier", "García", "Håkansson", "Ibáñez", "Jansen",
            "Kowalski", "Łukasz", "Moreau", "Nørgaard", "Okafor", "Petrović", "Quintero", "Rossi", "Schäfer", "Tanaka"]
TOPICS = ["harbours", "lamps", "tides", "storms", "charts", "ledgers", "ships", "bells", "fog", "keepers"]


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five chapters, 560 markers: people, places with sub-entries and sub-sub-entries, see and see also."""
    root = tmp_path_factory.mktemp("crowded")
    m = root / "manuscript"
    m.mkdir()
    (m / "book.yaml").write_text("title: Many Names\nauthor: Ines Brandt\nlanguage: en\n")
    count = 0
    for ch in range(1, 6):
        paragraphs = [f"# Chapter of {TOPICS[ch]}\n"]
        for p in range(14):
            marks = []
            for k in range(8):
                n = ch * 100 + p * 8 + k
                person = SURNAMES[n % len(SURNAMES)]
                topic = TOPICS[n % len(TOPICS)]
                marks.append(f"[{person}]{{.index entry=\"{person}, {chr(65 + n % 26)}.\"}}")
                marks.append(f"[]{{.index entry=\"{topic.capitalize()}!{TOPICS[(n // 3) % 10]}!year {1800 + n % 40}\"}}")
                count += 2
            if p == 0:
                marks.append(f"[雷{ch}]{{.index sort=\"Lei {ch}\" see-also=\"Adler, A.\"}}")
                count += 1
            paragraphs.append(" met ".join(marks) + ". " + FILLER)
        (m / f"{ch:02d}-c.md").write_text("\n\n".join(paragraphs))
    (m / "99-index.md").write_text("---\nkind: index\n---\n")
    (m / "index.yaml").write_text("Lanterns: {see: Lamps}\nSeas: {see: Tides}\n")
    assert count > 500
    out = root / "out"
    result = run_cli("build", str(m), "-o", str(out), "--format", "epub")
    assert result.returncode == 0, result.stderr
    return out / "many-names.epub"


def test_a_book_with_500_markers_passes_epubcheck_and_ace(crowded: Path, tmp_path: Path) -> None:
    from test_epub import ACE, CHROMIUM, _ace

    _z, docs = _epub(crowded)
    index = docs["EPUB/text/index.xhtml"]
    locators = index.xpath('//x:a[@epub:type="index-locator"]', namespaces=NS)
    assert len(locators) > 500
    assert index.xpath('//x:li[@epub:type="index-entry"]//x:li//x:li[@epub:type="index-entry"]', namespaces=NS)
    assert epubcheck_messages(crowded) == []
    assert ACE.exists() and CHROMIUM.exists(), "Ace by DAISY and chromium are needed (see test_epub)"
    process = _ace(crowded, tmp_path / "ace")
    assert process.wait(timeout=300) == 0
    import json

    report = json.loads((tmp_path / "ace" / "report.json").read_text())
    found = [(a["earl:test"]["earl:impact"], a["earl:test"]["dct:title"]) for doc in report["assertions"]
             for a in doc.get("assertions", [])]
    assert [f for f in found if f[0] in ("critical", "serious")] == []


def test_a_wrong_index_yaml_is_a_config_error_with_file_and_line(tmp_path: Path) -> None:
    m = tmp_path / "m"
    m.mkdir()
    (m / "book.yaml").write_text("title: T\nauthor: A\nlanguage: en\n")
    (m / "01.md").write_text("# One\n\nText [x]{.index}.\n")
    (m / "index.yaml").write_text("Lamps: {see: Lights}\nTides: {sea: Moon}\n")
    result = run_cli("build", str(m), "-o", str(tmp_path / "o"), "--format", "epub")
    assert result.returncode == 3
    assert re.search(r"index\.yaml:2: 'Tides': unknown key 'sea'", result.stderr), result.stderr
    assert not (tmp_path / "o" / "t.epub").exists()
