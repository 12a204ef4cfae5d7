"""The line-fit fix (bookmaker.engine, WeasyPrint #1051): text that fits on a line before an inline
element keeps all its words there, not only the first ("forty" alone in the demo's Prologue)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bookmaker import engine
from bookmaker.resources import default_styles

#: The Prologue's words (manuscript/02-prologue.md): the text box before the index term ends with
#: "company, ", and the line is as wide as that text without its space, plus a little.
TEXT = "forty years old. He had spent most of his working life at a single software company,"
AFTER = '<span class="index" id="ix-1">Kingsoft</span>, where he had risen from programmer to chief executive.'


def _render(html: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Lay ``html`` out with the default theme, as the PDF build does (LayoutEngine)."""
    styles_root = default_styles()
    styles = engine.Styles((styles_root / "print.css",), "@page { size: 6in 9in; margin: 0.75in; }", styles_root)
    layout = engine.LayoutEngine([styles_root, tmp_path], [], tmp_path)
    return layout.render(f'<!DOCTYPE html><html lang="en"><body>{html}</body></html>', styles, {})


def _walk(box):  # type: ignore[no-untyped-def]
    yield box
    for child in getattr(box, "children", None) or ():
        yield from _walk(child)


def _text(box) -> str:  # type: ignore[no-untyped-def]
    from weasyprint.formatting_structure import boxes

    return "".join(b.text for b in _walk(box) if isinstance(b, boxes.TextBox))


def _lines(document, element_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The text of each line of the element with ``element_id``."""
    from weasyprint.formatting_structure import boxes

    found = []
    for page in document.pages:
        for box in _walk(page._page_box):
            element = getattr(box, "element", None)
            if isinstance(box, boxes.BlockBox) and element is not None and element.get("id") == element_id:
                found += [_text(line).strip() for line in box.children if isinstance(line, boxes.LineBox)]
    return found


def _width(document, element_id: str) -> float:  # type: ignore[no-untyped-def]
    from weasyprint.formatting_structure import boxes

    for page in document.pages:
        for box in _walk(page._page_box):
            element = getattr(box, "element", None)
            if isinstance(box, boxes.InlineBox) and element is not None and element.get("id") == element_id:
                return float(box.width)
    raise AssertionError(f"no box for #{element_id}")


@pytest.mark.parametrize("css", ["", "hyphens: none; text-align: left;"])
def test_text_before_an_inline_element_keeps_the_words_that_fit(css: str, tmp_path: Path) -> None:
    # How wide the words are in the theme's face and size, without the space that follows them.
    probe = _render(f'<p style="white-space: nowrap; text-indent: 0"><span id="probe">{TEXT}</span></p>', tmp_path)
    words = _width(probe, "probe")
    space = _width(_render('<p style="white-space: pre"><span id="s"> </span></p>', tmp_path), "s")
    assert space > 1
    # A measure where the words fit and the words with their trailing space do not.
    width = words + space / 2
    document = _render(f'<p id="p" style="width: {width}px; text-indent: 0; {css}">{TEXT} {AFTER}</p>', tmp_path)
    lines = _lines(document, "p")
    assert lines[0] == TEXT, lines
    for line, following in zip(lines, lines[1:]):
        assert len(line.split()) > 1, f"{line!r} alone on a line before {following!r}"


def test_line_fit_fix_replaces_every_imported_copy_of_split_first_line() -> None:
    # Applied and warned about, in both states, with the footnote fix in test_engine.py.
    from weasyprint.layout import inline, preferred
    from weasyprint.text import line_break

    assert engine.apply_line_fit_fix() is True
    assert inline.split_first_line is line_break.split_first_line is preferred.split_first_line
