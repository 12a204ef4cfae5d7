"""Store editions: Kobo's kepub spans and wrappers, the Kindle-safe EPUB, Apple's display options; all EPUBCheck-clean."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from conftest import epubcheck_messages, write_book
from lxml import etree
from PIL import Image

from bookmaker.builders.stores import APPLE_OPTIONS_NAME, kindle_css, kindle_lint, split_sentences
from bookmaker.pipeline import build

XHTML = {"x": "http://www.w3.org/1999/xhtml"}


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def store_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("stores")
    theme = base / "styles"
    theme.mkdir()
    # A theme using CSS custom properties, which Send to Kindle does not support.
    (theme / "epub.css").write_text(
        ":root { --ink: #222222; --gap: 1.5em; }\np { color: var(--ink); margin-bottom: var(--gap, 1em); }\n"
        "h1 { color: var(--accent, #8a1c1c); }\n/* a comment -- with two dashes */\n", encoding="utf-8")
    root = write_book(base / "manuscript", {
        "book.yaml": "title: Tide Tables\nauthor: Ines Varga\nlanguage: en\nstyles: ../styles\nepub:\n  embed_fonts: true\n",
        "01-one.md": (
            "# Low Water\n\n"
            "The tide went out at noon. Mr. Hale walked to the rocks! Did he find the crab? He did.\n\n"
            "A second paragraph, one sentence only.\n\n"
            "![](wide.png)\n\n"
            "```\nCode. Is not. Split.\n```\n"
        ),
        "02-two.md": "# 潮汐\n\n我们来到海边。潮水退了！你看见了吗？\n",
    })
    (root / "wide.png").write_bytes(_png(3200, 1600))
    out = base / "out"
    build(root, out, ("epub", "kepub", "kindle-epub"))
    return out


def _doc(epub: Path, name: str) -> etree._Element:
    with zipfile.ZipFile(epub) as zf:
        return etree.fromstring(zf.read(name))


def _chapter(epub: Path, needle: str) -> etree._Element:
    """The chapter document of ``epub`` whose text contains ``needle``."""
    with zipfile.ZipFile(epub) as zf:
        for name in zf.namelist():
            if name.startswith("EPUB/text/") and needle.encode("utf-8") in zf.read(name):
                return etree.fromstring(zf.read(name))
    raise AssertionError(f"no chapter holds {needle!r}")


def test_every_store_edition_passes_epubcheck(store_build: Path) -> None:
    for name in ("tide-tables.epub", "tide-tables.kepub.epub", "tide-tables.kindle.epub"):
        assert epubcheck_messages(store_build / name) == [], name


def test_kepub_wraps_each_sentence_in_numbered_kobo_spans(store_build: Path) -> None:
    root = _chapter(store_build / "tide-tables.kepub.epub", "Low Water")
    body = root.find("x:body", XHTML)
    columns = body[0]
    assert columns.get("id") == "book-columns" and columns[0].get("id") == "book-inner" and len(body) == 1
    assert root.xpath("//x:head/x:style[@id='kobostylehacks']", namespaces=XHTML)
    first = root.xpath("//x:p[contains(., 'The tide went out')]", namespaces=XHTML)[0]
    spans = first.xpath("x:span[@class='koboSpan']", namespaces=XHTML)
    # Four sentences; "Mr." is an abbreviation, not a sentence end.
    assert [s.text.strip() for s in spans] == ["The tide went out at noon.", "Mr. Hale walked to the rocks!",
                                                "Did he find the crab?", "He did."]
    para = spans[0].get("id").split(".")[1]
    assert [s.get("id") for s in spans] == [f"kobo.{para}.{i}" for i in range(1, 5)]
    second = root.xpath("//x:p[contains(., 'A second paragraph')]", namespaces=XHTML)[0]
    assert second[0].get("id") == f"kobo.{int(para) + 1}.1"
    # Images sit in a span of their own; code is left alone.
    assert root.xpath("//x:span[@class='koboSpan']/x:img", namespaces=XHTML)
    assert not root.xpath("//x:pre//x:span[@class='koboSpan']", namespaces=XHTML)
    ids = root.xpath("//@id")
    assert len(ids) == len(set(ids))
    # The text is unchanged by the wrapping.
    plain = _chapter(store_build / "tide-tables.epub", "Low Water")
    assert "".join(first.itertext()) == "".join(plain.xpath("//x:p[contains(., 'The tide went out')]", namespaces=XHTML)[0].itertext())


def test_kepub_splits_chinese_at_chinese_full_stops(store_build: Path) -> None:
    root = _chapter(store_build / "tide-tables.kepub.epub", "潮汐")
    paragraph = root.xpath("//x:p[contains(., '海边')]", namespaces=XHTML)[0]
    texts = [s.text for s in paragraph.iter("{http://www.w3.org/1999/xhtml}span") if s.get("class") == "koboSpan"]
    assert texts == ["我们来到海边。", "潮水退了！", "你看见了吗？"]


def test_kepub_keeps_the_cover_property(store_build: Path) -> None:
    opf = _doc(store_build / "tide-tables.kepub.epub", "EPUB/content.opf")
    assert opf.xpath("//*[local-name()='item'][@properties='cover-image']")


def test_kindle_edition_passes_the_kindle_lint(store_build: Path) -> None:
    kindle = store_build / "tide-tables.kindle.epub"
    assert kindle_lint(kindle) == []
    # The plain EPUB has what the Kindle variant removes: the lint can fail.
    problems = kindle_lint(store_build / "tide-tables.epub")
    assert any("custom properties" in p for p in problems) and any("empty alt" in p for p in problems)
    with zipfile.ZipFile(kindle) as zf:
        css = zf.read("EPUB/css/epub.css").decode("utf-8")
        image = Image.open(io.BytesIO(zf.read("EPUB/images/wide.png")))
    assert "var(" not in css and "--ink" not in css
    assert "color: #222222" in css and "margin-bottom: 1.5em" in css and "color: #8a1c1c" in css
    assert css.startswith('@charset "utf-8";')
    assert max(image.size) == 2560 and image.size[0] / image.size[1] == pytest.approx(2.0, abs=0.01)
    img = _chapter(kindle, "Low Water").xpath("//x:img", namespaces=XHTML)[0]
    assert img.get("alt").strip()


def test_apple_display_options_when_fonts_are_embedded(store_build: Path) -> None:
    with zipfile.ZipFile(store_build / "tide-tables.epub") as zf:
        options = etree.fromstring(zf.read(APPLE_OPTIONS_NAME))
    assert options.xpath("//option[@name='specified-fonts']/text()") == ["true"]


def test_apple_display_options_absent_without_fonts(tmp_path: Path) -> None:
    root = write_book(tmp_path / "m", {"book.yaml": "title: Plain\nauthor: P\nlanguage: en\n", "a.md": "# A\n\nOnly Latin text.\n"})
    build(root, tmp_path / "out", ("epub",))
    with zipfile.ZipFile(tmp_path / "out" / "plain.epub") as zf:
        assert APPLE_OPTIONS_NAME not in zf.namelist()


@pytest.mark.parametrize(("text", "language", "pieces"), [
    ("One. Two! Three?", "en", ["One. ", "Two! ", "Three?"]),
    ("Dr. Who came at 5 p.m. today. Then left.", "en", ["Dr. Who came at 5 p.m. today. ", "Then left."]),
    ("J. R. Hartley wrote it. Yes.", "en", ["J. R. Hartley wrote it. ", "Yes."]),
    ("Das ist z.B. gut. Ja.", "de", ["Das ist z.B. gut. ", "Ja."]),
    ("“Go.” She went.", "en", ["“Go.” ", "She went."]),
    ("一。二！三", "zh-Hans", ["一。", "二！", "三"]),
])
def test_sentence_splitting_is_language_aware(text: str, language: str, pieces: list[str]) -> None:
    assert split_sentences(text, language) == pieces
    assert "".join(split_sentences(text, language)) == text


def test_kindle_css_resolves_nested_variables() -> None:
    css = kindle_css(":root { --a: 2em; --b: var(--a); }\nh2 { margin: var(--b) 0; }\n")
    assert "var(" not in css and "margin: 2em 0" in css


def test_kindle_alt_text_for_an_uncaptioned_image_is_in_the_book_language() -> None:
    from bookmaker.builders.stores import kindle_document
    from bookmaker.labels import labels_for

    class German:
        language = "de"
        labels: dict[str, str] = {}

    page = (b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head><body>'
            b'<p><img src="a.png" alt=""/></p><figure><img src="b.png"/><figcaption>Das Haus</figcaption></figure>'
            b'</body></html>')
    root = etree.fromstring(kindle_document(page, labels_for(German())("illustration")))  # type: ignore[arg-type]
    alts = [img.get("alt") for img in root.iter("{http://www.w3.org/1999/xhtml}img")]
    assert alts == ["Abbildung", "Das Haus"]
