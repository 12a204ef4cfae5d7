"""Generated text in the book's language (issue 9): catalogues, tag fallbacks, ``labels:`` overrides, both formats."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
import pyphen
from lxml import etree

from bookmaker.labels import (
    ROLE_LABELS,
    Labels,
    catalogue,
    catalogue_names,
    check_override,
    label_names,
    placeholders,
    resolve_language,
)
from conftest import REPO, epubcheck_messages, pdf_text_pages, run_cli, write_book

BOOKS = REPO / "tests" / "books"
XHTML = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops"}
OPF = {"opf": "http://www.idpf.org/2007/opf"}
#: The languages issue 9 asks for (zh-Hant comes along so that Traditional books do not fall back to Simplified).
REQUIRED = ("en", "de", "fr", "es", "it", "pt", "nl", "zh-Hans", "zh-Hant", "ja")
EPOCH = {"SOURCE_DATE_EPOCH": "1780000000"}


def epub_xml(epub: Path, name: str) -> etree._Element:
    with zipfile.ZipFile(epub) as z:
        return etree.fromstring(z.read(f"EPUB/{name}"))


def epub_names(epub: Path) -> list[str]:
    with zipfile.ZipFile(epub) as z:
        return z.namelist()


def text(root: etree._Element, path: str) -> str:
    """The whole text of the first element at ``path`` (CJK runs sit in spans of their own)."""
    found = root.find(path, namespaces=XHTML)
    return "" if found is None else "".join(found.itertext())


def chapter_xml(epub: Path, title: str) -> etree._Element:
    """The chapter document whose title is ``title`` (file names are the id pass's business)."""
    for name in epub_names(epub):
        if name.startswith("EPUB/text/"):
            doc = epub_xml(epub, name.removeprefix("EPUB/"))
            if text(doc, ".//x:h1") == title:
                return doc
    raise AssertionError(f"no chapter titled {title!r}")


# -- the catalogues ----------------------------------------------------------------------------


def test_every_required_language_has_a_complete_catalogue_with_the_same_fields() -> None:
    shipped = set(catalogue_names().values())
    assert set(REQUIRED) <= shipped
    reference = catalogue("en")
    for name in shipped:
        texts = catalogue(name)
        assert set(texts) == set(reference), f"{name}.yaml: missing {set(reference) - set(texts)}, extra {set(texts) - set(reference)}"
        for key, text in texts.items():
            assert text.strip(), f"{name}.yaml: {key} is empty"
            # A translation may reorder its fields but never invent or drop one the code fills in.
            assert placeholders(text) == placeholders(reference[key]), f"{name}.yaml: {key}"


def test_role_labels_name_real_labels_with_a_name_field() -> None:
    for role, name in ROLE_LABELS.items():
        if name is not None:
            assert placeholders(catalogue("en")[name]) == {"name"}, role


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("de", "de"), ("de-AT", "de"), ("DE-ch", "de"), ("fr-CA", "fr"), ("pt-BR", "pt"), ("es-419", "es"),
     ("zh", "zh-Hans"), ("zh-CN", "zh-Hans"), ("zh-Hans", "zh-Hans"), ("zh-TW", "zh-Hant"), ("zh-HK", "zh-Hant"),
     ("zh-Hant-TW", "zh-Hant"), ("ja-JP", "ja"), ("en-GB", "en"), ("sw", None), ("tlh", None)],
)
def test_language_tags_fall_back_to_the_nearest_catalogue(tag: str, expected: str | None) -> None:
    assert resolve_language(tag) == expected


def test_hyphenation_dictionary_for_every_alphabetic_catalogue() -> None:
    # WeasyPrint hyphenates with Pyphen by the element's lang; Chinese and Japanese break between characters.
    for name in catalogue_names().values():
        if name.split("-")[0] in ("zh", "ja"):
            continue
        assert pyphen.language_fallback(name) is not None, name
    assert pyphen.language_fallback("de-AT") and pyphen.language_fallback("pt-BR")


def test_labels_fill_fields_join_names_and_find_part_titles() -> None:
    de = Labels("de-AT")
    assert de("chapter", number=3) == "Kapitel 3"
    assert de.join_names(["A", "B", "C"]) == "A, B und C"
    assert de.role_line("translator", "X") == ("Übersetzt von", "")
    assert de.match_prefix("part", "Teil Zwei: Genf") == ("Teil Zwei", "Genf")
    assert de.match_prefix("part", "Part Two: Geneva") == ("Part Two", "Geneva")
    assert de.match_prefix("part", "Teilzeit") is None
    ja = Labels("ja")
    assert ja("chapter", number=2) == "第2章"
    assert ja.role_line("translator", "X") == ("", "訳")
    assert Labels("zh-Hans").match_prefix("part", "第二部分：归来") == ("第二部分", "归来")
    assert Labels("sw")("contents") == "Contents"
    assert Labels("de", {"contents": "Inhaltsverzeichnis"})("contents") == "Inhaltsverzeichnis"


def test_override_checks_fields_and_braces() -> None:
    assert check_override("chapter", "Kapitel {number}") is None
    assert check_override("chapter", "— {number} —") is None
    assert "{num}" in (check_override("chapter", "Kapitel {num}") or "")
    assert "unmatched" in (check_override("chapter", "Kapitel {number") or "")
    assert "contents" in label_names()


# -- book.yaml 'labels:' ----------------------------------------------------------------------


def test_labels_key_errors_all_at_once_and_unknown_names_get_a_suggestion(tmp_path: Path) -> None:
    book = write_book(tmp_path / "ms", {
        "book.yaml": """\
            title: Probe
            author: A. Autor
            language: de
            labels:
              contens: Verzeichnis
              chapter: "Kapitel {nummer}"
              notes: [Anmerkungen]
            """,
        "01.md": "# Eins\n\nText.\n",
    })
    result = run_cli("build", str(book), "-o", str(tmp_path / "out"))
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert any("book.yaml:5:" in line and "'labels.contens': unknown label; did you mean 'contents'?" in line for line in lines), lines
    assert any("book.yaml:6:" in line and "{nummer}" in line and "{number}" in line for line in lines), lines
    assert any("book.yaml:7:" in line and "'labels.notes' expected a string" in line for line in lines), lines
    assert "Traceback" not in result.stderr
    check = run_cli("check", str(book), "--format", "json")
    assert '"BM120"' in check.stdout


def test_language_without_catalogue_warns_and_uses_english(tmp_path: Path) -> None:
    book = write_book(tmp_path / "ms", {
        "book.yaml": "title: Kitabu\nauthor: Mwandishi\nlanguage: sw\n",
        "01.md": "# Mwanzo\n\nManeno.\n",
    })
    result = run_cli("build", str(book), "-o", str(tmp_path / "out"), "--format", "epub")
    assert result.returncode == 0, result.stderr
    assert re.search(r"book\.yaml:3: .*no catalogue of generated text for 'sw'", result.stderr), result.stderr
    nav = epub_xml(tmp_path / "out" / "kitabu.epub", "nav.xhtml")
    assert nav.findtext(".//x:h1", namespaces=XHTML) == "Contents"
    assert nav.get("lang") == "sw"
    check = run_cli("check", str(book), "--format", "json")
    assert '"BM121"' in check.stdout


# -- a German book, both formats ------------------------------------------------------------------


def build_sample(tmp_path_factory: pytest.TempPathFactory, name: str, slug: str) -> tuple[Path, Path]:
    """A sample book of tests/books built with the real CLI: (PDF, EPUB)."""
    out = tmp_path_factory.mktemp(name)
    result = run_cli("build", str(BOOKS / name), "-o", str(out), env=EPOCH)
    assert result.returncode == 0, result.stderr
    return out / f"{slug}.pdf", out / f"{slug}.epub"


@pytest.fixture(scope="module")
def german(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_sample(tmp_path_factory, "uhrmacherin", "die-uhrmacherin")


def test_german_print_furniture(german: tuple[Path, Path]) -> None:
    pages = pdf_text_pages(german[0])
    text = "\n".join(pages)
    contents = next(p for p in pages if "Inhalt" in p.split("\n")[:3] or p.lstrip().startswith("Inhalt"))
    assert "Teil I" in contents and "Eine Kindheit im Erzgebirge" in contents
    assert "Kapitel 1" in text and "Kapitel 2" in text
    assert "Herausgegeben von Jonas Weber" in text
    assert "Erschienen bei Verlag Am Hang, 2026" in text
    assert "Die Uhrmacherin: Ein Leben zwischen Glashütte und Genf" in text
    assert "Anmerkungen" not in text  # footnotes: no notes heading in print
    for english in ("Contents", "Chapter", "Published by", "Edited by", "Part I"):
        assert english not in text, english


def test_german_ebook_furniture(german: tuple[Path, Path]) -> None:
    epub = german[1]
    nav = epub_xml(epub, "nav.xhtml")
    assert nav.findtext(".//x:nav[@id='toc']/x:h1", namespaces=XHTML) == "Inhalt"
    toc = [a.text for a in nav.findall(".//x:nav[@id='toc']//x:a", namespaces=XHTML)]
    assert "Teil I: Die Lehrjahre" in toc and "1. Eine Kindheit im Erzgebirge" in toc
    landmarks = [a.text for a in nav.findall(".//x:nav[@id='landmarks']//x:a", namespaces=XHTML)]
    assert landmarks[:3] == ["Umschlag", "Inhalt", "Beginn des Inhalts"]
    chapter = chapter_xml(epub, "Eine Kindheit im Erzgebirge")
    assert chapter.findtext(".//x:p[@class='chapter-number']", namespaces=XHTML) == "Kapitel 1"
    back = chapter.find(".//x:a[@role='doc-backlink']", namespaces=XHTML)
    assert back.get("aria-label") == "Zurück zur Stelle der Anmerkung 1"
    copyright_page = epub_xml(epub, "pages/copyright.xhtml")
    lines = [" ".join("".join(p.itertext()).split()) for p in copyright_page.iter("{http://www.w3.org/1999/xhtml}p")]
    assert "Erschienen bei Verlag Am Hang, 2026" in lines and "ISBN 9780306406157" in lines
    title_page = "".join(epub_xml(epub, "pages/titlepage.xhtml").itertext())
    assert "Herausgegeben von Jonas Weber" in title_page
    opf = epub_xml(epub, "content.opf")
    summary = opf.find(".//opf:meta[@property='schema:accessibilitySummary']", namespaces=OPF).text
    assert summary.startswith("Diese Publikation hat ein Inhaltsverzeichnis")
    cover = epub_xml(epub, "pages/cover.xhtml").find(".//x:img", namespaces=XHTML)
    assert cover.get("alt") == "Umschlag: Die Uhrmacherin, Ein Leben zwischen Glashütte und Genf, von Greta Brandt"
    with zipfile.ZipFile(epub) as z:
        ncx = z.read("EPUB/toc.ncx").decode()
    assert "<text>Seiten</text>" in ncx and "Teil I: Die Lehrjahre" in ncx


def test_german_epub_is_clean(german: tuple[Path, Path]) -> None:
    assert epubcheck_messages(german[1]) == []


# -- overrides, and Chinese and Japanese ------------------------------------------------------------


def test_labels_override_both_formats(tmp_path: Path) -> None:
    book = write_book(tmp_path / "ms", {
        "book.yaml": """\
            title: Probe
            author: A. Autor
            publisher: Kleiner Verlag
            date: 2026
            language: de
            labels:
              contents: Inhaltsverzeichnis
              chapter: "— {number} —"
              published_by: "{publisher} · {year}"
            """,
        "01.md": "# Eins\n\nText.\n",
    })
    result = run_cli("build", str(book), "-o", str(tmp_path / "out"), env=EPOCH)
    assert result.returncode == 0, result.stderr
    text = "\n".join(pdf_text_pages(tmp_path / "out" / "probe.pdf"))
    assert "Inhaltsverzeichnis" in text and "— 1 —" in text and "Kleiner Verlag · 2026" in text
    assert "Kapitel 1" not in text
    epub = tmp_path / "out" / "probe.epub"
    assert epub_xml(epub, "nav.xhtml").findtext(".//x:h1", namespaces=XHTML) == "Inhaltsverzeichnis"
    assert chapter_xml(epub, "Eins").findtext(".//x:p[@class='chapter-number']", namespaces=XHTML) == "— 1 —"


@pytest.mark.parametrize(("language", "contents", "chapter", "translated"),
                         [("zh-Hans", "目录", "第1章", "李明 译"), ("ja", "目次", "第1章", "李明 訳"), ("zh-TW", "目錄", "第1章", "李明 譯")])
def test_chinese_and_japanese_labels(tmp_path: Path, language: str, contents: str, chapter: str, translated: str) -> None:
    book = write_book(tmp_path / "ms", {
        "book.yaml": f"title: 钟表匠\nauthor:\n  - 王芳\n  - name: 李明\n    role: translator\nlanguage: {language}\n",
        "01.md": "# 童年\n\n她出生在一个钟表匠的家庭。\n",
    })
    result = run_cli("build", str(book), "-o", str(tmp_path / "out"), "--format", "epub", env=EPOCH)
    assert result.returncode == 0, result.stderr
    epub = next((tmp_path / "out").glob("*.epub"))
    nav = epub_xml(epub, "nav.xhtml")
    assert text(nav, ".//x:h1") == contents
    assert ["".join(a.itertext()) for a in nav.findall(".//x:nav[@id='toc']//x:a", namespaces=XHTML)] == ["第1章 童年"]
    assert text(chapter_xml(epub, "童年"), ".//x:p[@class='chapter-number']") == chapter
    assert translated in "".join(epub_xml(epub, "pages/titlepage.xhtml").itertext())
    if language == "zh-Hans":
        assert epubcheck_messages(epub) == []


# -- quotes and lang spans in the built books ------------------------------------------------------

N = "\u202f"


@pytest.fixture(scope="module")
def french(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_sample(tmp_path_factory, "horlogere", "l-horlogere-de-geneve")


def _normal(text: str) -> str:
    """PDF or XHTML text with line breaks as spaces (a U+202F stays what it is)."""
    return re.sub(r"[ \n]+", " ", text)


def test_german_quotes_in_both_formats(german: tuple[Path, Path]) -> None:
    printed = _normal(" ".join(pdf_text_pages(german[0])))
    chapter = chapter_xml(german[1], "Eine Kindheit im Erzgebirge")
    ebook = _normal("".join(chapter.itertext()))
    for text in (printed, ebook):
        assert "„Eine Uhr, die stehen bleibt, lügt zweimal am Tag nicht.“" in text
        assert "„Und du sagst ‚nicht‘ öfter, als dir guttut.“" in text
        assert "O’Reillys Verlag" in text and "Hans’ alte Lupe" in text
        assert '"' not in text and "'" not in text
    genf = _normal("".join(chapter_xml(german[1], "Nach Genf").itertext()))
    assert "„Ich fass’ es nicht: Sie bezahlen mich fürs Lernen.“" in genf
    assert "‚balancier‘" in genf
    assert f"«{N}Bienvenue, mademoiselle{N}!{N}»" in printed


def test_french_spacing_and_guillemets_in_both_formats(french: tuple[Path, Path]) -> None:
    pages = pdf_text_pages(french[0])
    printed = _normal(" ".join(pages))
    chapter = chapter_xml(french[1], "L’arrivée")
    ebook = _normal("".join(chapter.itertext()))
    for text in (printed, ebook):
        assert f"demanda{N}: «{N}Vous parlez français{N}?{N}»" in text
        assert f"répondit{N}: «{N}Un peu{N}; assez pour" in text and f"prendre{N}!{N}»" in text  # print may hyphenate
        assert f"«{N}la petite Allemande{N}»" in text
        assert "Aujourd’hui" in text and "O’Reilly" in text
        # The German letter inside the French text takes German quotes and no French spaces.
        assert "„Vergiss nicht, wer du bist.“" in text
    assert any("Table des matières" in page for page in pages) and "Chapitre 1" in printed
    # The book.yaml title gets the apostrophe too; the file name and identifier stay those of the typed title.
    assert "L’Horlogère de Genève" in printed and "L'Horlogère" not in printed
    opf = epub_xml(french[1], "content.opf")
    assert opf.findtext(".//{http://purl.org/dc/elements/1.1/}title") == "L’Horlogère de Genève"
    assert f"«{N}Ici, on ne se presse pas{N}»" in _normal("".join(chapter_xml(french[1], "L’atelier").itertext()))


def test_lang_spans_carry_lang_and_xml_lang_in_the_ebook(german: tuple[Path, Path], french: tuple[Path, Path]) -> None:
    for epub, title, lang, words in ((german[1], "Nach Genf", "fr", "Bienvenue"), (french[1], "L’arrivée", "de", "Vergiss")):
        doc = chapter_xml(epub, title)
        assert doc.get("lang") == doc.get("{http://www.w3.org/XML/1998/namespace}lang") != lang
        spans = [s for s in doc.iter("{http://www.w3.org/1999/xhtml}span") if s.get("lang") == lang]
        assert len(spans) == 1 and words in "".join(spans[0].itertext())
        assert spans[0].get("{http://www.w3.org/XML/1998/namespace}lang") == lang


def test_lang_span_reaches_the_print_html(tmp_path: Path) -> None:
    # WeasyPrint takes each element's language from its lang attribute (hyphenation dictionary included).
    from bookmaker.builders.pdf import PdfBuilder
    from bookmaker.pipeline import read_book

    html = PdfBuilder(read_book(BOOKS / "uhrmacherin")).render_html()
    root = etree.HTML(html.encode("utf-8"))
    assert root.get("lang") == "de-AT"
    span = root.xpath("//span[@lang='fr']")
    assert len(span) == 1 and "Bienvenue" in "".join(span[0].itertext())


def test_french_epub_is_clean(french: tuple[Path, Path]) -> None:
    assert epubcheck_messages(french[1]) == []


def test_readme_lists_every_label() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [name for name in label_names() if f"| `{name}` |" not in readme]
    assert not missing, f"README 'Books in other languages' lacks {missing}"


def test_preview_furniture_is_german() -> None:
    from bookmaker.preview import PreviewSite

    site = PreviewSite(BOOKS / "uhrmacherin")
    contents = site.respond("/").body.decode("utf-8")
    assert "<h2>Inhalt</h2>" in contents and 'lang="de-AT"' in contents
    chapter = next(c for c in site.book.chapters if c.title == "Eine Kindheit im Erzgebirge")
    page = site.respond(f"/{chapter.id}.html").body.decode("utf-8")
    assert '<p class="chapter-number">Kapitel 1</p>' in page
    assert "<h2>Anmerkungen</h2>" in page and 'aria-label="Zurück zur Stelle der Anmerkung 1"' in page
    assert '<a href="/">Inhalt</a>' in page
    assert "„Eine Uhr, die stehen bleibt" in page


def test_ace_accepts_the_german_and_french_books(german: tuple[Path, Path], french: tuple[Path, Path], tmp_path: Path) -> None:
    import json

    from test_epub import ACE, CHROMIUM, _ace

    assert ACE.exists() and CHROMIUM.exists(), "Ace by DAISY and chromium are needed (see README, Development)"
    runs = {name: (tmp_path / name, _ace(epub, tmp_path / name)) for name, epub in (("de", german[1]), ("fr", french[1]))}
    for name, (out, process) in runs.items():
        assert process.wait(timeout=240) == 0, f"Ace failed on the {name} book"
        report = json.loads((out / "report.json").read_text())
        serious = [(a["earl:test"]["dct:title"], doc.get("earl:testSubject", {}).get("url"))
                   for doc in report["assertions"] for a in doc.get("assertions", [])
                   if a["earl:test"]["earl:impact"] in ("critical", "serious")]
        assert serious == [], name


@pytest.mark.parametrize(("language", "numbers"), [
    ("es", {1: "uno", 16: "dieciséis", 21: "veintiuno", 31: "treinta y uno", 100: "cien", 115: "ciento quince"}),
    ("it", {1: "uno", 21: "ventuno", 23: "ventitré", 28: "ventotto", 103: "centotré", 200: "duecento"}),
    ("pt-BR", {1: "um", 16: "dezesseis", 21: "vinte e um", 100: "cem", 101: "cento e um"}),
    ("nl", {1: "een", 21: "eenentwintig", 22: "tweeëntwintig", 23: "drieëntwintig", 101: "honderdeen"}),
    ("zh-Hans", {3: "三", 10: "十", 11: "十一", 21: "二十一", 101: "一百零一", 110: "一百一十"}),
    ("ja", {3: "三", 11: "十一", 100: "百", 101: "百一", 110: "百十"}),
])
def test_number_words_in_more_languages(language: str, numbers: dict[int, str]) -> None:
    from bookmaker.numbering import number_words

    assert {n: number_words(n, language) for n in numbers} == numbers


@pytest.mark.parametrize(("language", "label", "entry"), [("es", "Capítulo tres", "Tres: La mudanza"),
                                                           ("ja", "第三章", "第三章 La mudanza")])
def test_numbering_words_with_the_catalogue(tmp_path: Path, language: str, label: str, entry: str) -> None:
    files = {"book.yaml": f"title: Vida\nauthor: A\nlanguage: {language}\nnumbering: words\n"}
    files.update({f"0{i}.md": f"# {title}\n\nTexto.\n" for i, title in enumerate(("Uno", "Dos", "La mudanza"), 1)})
    book = write_book(tmp_path / "ms", files)
    result = run_cli("build", str(book), "-o", str(tmp_path / "out"), "--format", "epub", env=EPOCH)
    assert result.returncode == 0, result.stderr
    epub = tmp_path / "out" / "vida.epub"
    assert text(chapter_xml(epub, "La mudanza"), ".//x:p[@class='chapter-number']") == label
    toc = ["".join(a.itertext()) for a in epub_xml(epub, "nav.xhtml").findall(".//x:nav[@id='toc']//x:a", namespaces=XHTML)]
    assert toc[-1] == entry


def test_endnotes_heading_in_the_book_language(tmp_path: Path) -> None:
    book = write_book(tmp_path / "ms", {
        "book.yaml": "title: Probe\nauthor: A. Autor\nlanguage: de\nnotes: endnotes\n",
        "01.md": "# Eins\n\nText.[^1]\n\n[^1]: Eine Anmerkung.\n",
    })
    result = run_cli("build", str(book), "-o", str(tmp_path / "out"), env=EPOCH)
    assert result.returncode == 0, result.stderr
    assert text(chapter_xml(tmp_path / "out" / "probe.epub", "Eins"), ".//x:h2[@class='endnotes-title']") == "Anmerkungen"
    printed = "\n".join(pdf_text_pages(tmp_path / "out" / "probe.pdf"))
    assert "Anmerkungen" in printed and "Notes" not in printed
