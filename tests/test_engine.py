"""The layout engine (issue 10): the WeasyPrint fixes in both states, running heads read from the theme, PrintLayout."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest

from bookmaker import engine
from bookmaker.builders.heads import HeadMeasure, ThemeHeads
from bookmaker.model import PrintLayout
from bookmaker.resources import default_styles


#: Each WeasyPrint patch: how it is applied, how to ask whether it is, its memo, its warning.
PATCHES = [
    pytest.param(engine.apply_footnote_fix, engine.footnote_fix_applied, "_applied", "BM530", id="footnote-placement"),
    pytest.param(engine.apply_line_fit_fix, engine.line_fit_fix_applied, "_line_fit_applied", "BM531", id="line-fit"),
]


@pytest.mark.parametrize(("apply", "applied", "_memo", "code"), PATCHES)
def test_fix_applies_to_weasyprint_70(apply, applied, _memo: str, code: str, caplog: pytest.LogCaptureFixture) -> None:
    import weasyprint

    assert weasyprint.__version__.startswith("70.")
    with caplog.at_level(logging.WARNING, logger="bookmaker"):
        assert apply() is True
    assert applied()
    assert not [r for r in caplog.records if getattr(r, "code", None) == code]


@pytest.mark.parametrize(("apply", "applied", "memo", "code"), PATCHES)
def test_fix_warns_once_when_it_does_not_apply(apply, applied, memo: str, code: str, monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    import weasyprint

    monkeypatch.setattr(engine, memo, None)
    monkeypatch.setattr(weasyprint, "__version__", "71.2")
    with caplog.at_level(logging.WARNING, logger="bookmaker"):
        assert apply() is False
        assert apply() is False
    warnings = [r for r in caplog.records if getattr(r, "code", None) == code]
    assert len(warnings) == 1 and "71.2" in warnings[0].getMessage()
    assert not applied()


def _theme(tmp_path: Path, head_rules: str) -> Path:
    fonts = default_styles() / "fonts"
    css = tmp_path / "print.css"
    css.write_text(
        ":root { --head: 14pt; --face: \"Display\", serif; }\n"
        f"@font-face {{ font-family: \"Display\"; src: url({fonts / 'EBGaramond-Bold.ttf'}); font-weight: bold; }}\n"
        f"@font-face {{ font-family: \"Display\"; src: url({fonts / 'EBGaramond-Regular.otf'}); }}\n"
        "@page { @top-center { font-family: var(--face); font-size: var(--head); } }\n" + head_rules,
        encoding="utf-8")
    return css


def test_running_head_style_comes_from_the_theme(tmp_path: Path) -> None:
    css = _theme(tmp_path, "@page :right { @top-center { font-weight: bold; letter-spacing: 0.1em; } }\n"
                           "@page :left { @top-center { text-transform: uppercase; font-size: 9pt; } }\n")
    heads = ThemeHeads(css)
    right, left = heads.style("right"), heads.style("left")
    assert right is not None and left is not None
    assert right.size == 14 and right.font is not None and right.font.name == "EBGaramond-Bold.ttf"
    assert abs(right.tracking - 0.1) < 1e-9 and not right.upper
    assert left.size == 9 and left.font is not None and left.font.name == "EBGaramond-Regular.otf" and left.upper


def test_a_larger_head_is_cut_shorter(tmp_path: Path) -> None:
    text = "The Long Winter at the Observatory on the Hill above the Town"
    small = ThemeHeads(default_styles() / "print.css").style("right")
    large = ThemeHeads(_theme(tmp_path, "")).style("right")
    measure = HeadMeasure()
    limit = 250.0
    fitted_small, fitted_large = measure.fit(text, limit, small), measure.fit(text, limit, large)
    assert fitted_large.endswith("\u2026") and len(fitted_large) < len(fitted_small)
    assert (measure.width(fitted_large, large) or 0) <= limit


def test_print_layout_answers_page_questions() -> None:
    layout = PrintLayout(("i", "ii", "iii", "1", "2", "3"), {"contents": "iii", "ch1": "1", "ch1-b4": "2"},
                         {"2": ("ch1-b4", 12)})
    assert layout.page_count == 6
    assert layout.folio_of("ch1") == "1" and layout.folio_of("ch1", "ch1-b4") == "2"
    assert layout.folio_of("ch1", "missing") is None
    assert layout.page_of("ch1", "ch1-b4") == 5 and layout.page_of("contents") == 3


MARGIN_CSS = """
@page { size: 5in 7in; margin: 0.8in 0.7in;
  @top-left { content: "left head"; }  @top-right { content: string(title); text-align: right; }
  @bottom-center { content: counter(page); padding-top: 4pt; border-top: 0.5pt solid black; }
  @left-middle { content: "side"; }  @bottom-right-corner { content: "c"; background: #ccc; } }
@page :left { @top-left { content: none; } @top-center { content: "centre " counter(page, lower-roman); } }
@page :first { @bottom-center { content: none; } @right-top { content: "first"; width: 30%; } }
h1 { string-set: title content(); break-before: page; }
"""


def _margin_pdf(styles: Path) -> bytes:
    html = "".join(f"<h1>Part {n}</h1>" + "<p>Some words to fill a line or two of the page.</p>" * 40 for n in range(3))
    layout = engine.LayoutEngine([styles.parent], [], styles.parent)
    document = layout.render(html, engine.Styles((styles,), "", styles.parent), {})
    data = document.write_pdf(pdf_identifier=False)
    assert len(document.pages) > 6
    return data


def test_margin_box_shortcut_lays_out_the_same_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every kind of margin box (generated or not beside generated ones, corners, sides) comes out
    byte for byte as WeasyPrint's own code lays it out."""
    from weasyprint import layout
    from weasyprint.layout import page

    styles = tmp_path / "print.css"
    styles.write_text(MARGIN_CSS, encoding="utf-8")
    original = page.make_margin_boxes
    monkeypatch.setattr(engine, "_margin_shortcut_applied", None)
    assert engine.apply_margin_box_shortcut() is True
    assert page.make_margin_boxes is not original and layout.make_margin_boxes is page.make_margin_boxes
    shortcut = _margin_pdf(styles)
    monkeypatch.setattr(page, "make_margin_boxes", original)
    monkeypatch.setattr(layout, "make_margin_boxes", original)
    assert _margin_pdf(styles) == shortcut


def test_margin_box_shortcut_leaves_another_weasyprint_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    import weasyprint
    from weasyprint.layout import page

    monkeypatch.setattr(engine, "_margin_shortcut_applied", None)
    monkeypatch.setattr(weasyprint, "__version__", "71.2")
    before = page.make_margin_boxes
    assert engine.apply_margin_box_shortcut() is False
    assert page.make_margin_boxes is before


_LIBRARIES = """
import json, sys
def libraries():
    import weasyprint.text.ffi as ffi
    with open("/proc/self/maps") as maps:
        files = sorted({line.split()[-1].rsplit("/", 1)[-1] for line in maps if ".so" in line})
    wanted = ("gobject", "pango", "harfbuzz", "fontconfig")
    return {"files": [f for f in files if any(w in f for w in wanted)],
            "optional": [ffi.harfbuzz_subset is None, ffi.harfbuzz_vector is None]}
"""


def _import_report(code: str) -> dict[str, object]:
    import json
    import subprocess
    import sys

    script = _LIBRARIES + "\nspawned = []\nsys.addaudithook(lambda event, args: spawned.append(event) if event == 'subprocess.Popen' else None)\n" + code + "\nprint(json.dumps({**libraries(), 'spawned': len(spawned)}))\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_weasyprint_loads_the_same_libraries_without_compiler_probes() -> None:
    usual = _import_report("import weasyprint")
    fast = _import_report("from bookmaker.engine import load_weasyprint; load_weasyprint()")
    assert fast["files"] == usual["files"] and fast["optional"] == usual["optional"]
    assert any("pango" in f for f in fast["files"])  # type: ignore[attr-defined]
    # find_library ran ldconfig, gcc and ld for every name that did not load as it was.
    assert usual["spawned"] > 5 and fast["spawned"] <= 1, (usual["spawned"], fast["spawned"])


def test_weasyprint_is_imported_the_usual_way_when_the_quick_import_fails() -> None:
    # The first import of weasyprint.text.ffi fails; load_weasyprint imports it again as usual.
    fails_once = """
import importlib.abc
class FailOnce(importlib.abc.MetaPathFinder):
    done = False
    def find_spec(self, name, path, target=None):
        if name == "weasyprint.text.ffi" and not FailOnce.done:
            FailOnce.done = True
            raise ImportError("simulated")
        return None
sys.meta_path.insert(0, FailOnce())
from bookmaker.engine import load_weasyprint
load_weasyprint()
assert FailOnce.done
import weasyprint
weasyprint.HTML(string="<p>x</p>").render()
"""
    report = _import_report(fails_once)
    assert any("pango" in f for f in report["files"])  # type: ignore[attr-defined]
    assert report["spawned"] > 5  # the usual search ran


def test_font_subsetter_is_the_one_weasyprint_uses() -> None:
    # Found without importing WeasyPrint; WeasyPrint's own search must agree.
    report = _import_report("from bookmaker import engine\nfound = engine.font_subsetter()\n"
                            "import weasyprint.text.ffi as ffi\n"
                            "assert (found == 'harfbuzz') == (ffi.harfbuzz_subset is not None), found")
    assert report["files"]
    # scripts/test installs libharfbuzz-subset0: without it every PDF test would be twice as slow.
    assert engine.font_subsetter() == "harfbuzz"


def test_a_missing_subsetter_is_said_once(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(engine, "_subsetter_warned", False)
    with caplog.at_level(logging.WARNING, logger="bookmaker"):
        engine.warn_slow_subsetter()
    assert not [r for r in caplog.records if getattr(r, "code", None) == "BM532"]
    engine.font_subsetter.cache_clear()
    monkeypatch.setattr(engine, "HARFBUZZ_SUBSET", ("libharfbuzz-subset-not-here.so.0",))
    try:
        assert engine.font_subsetter() == "fonttools"
        with caplog.at_level(logging.WARNING, logger="bookmaker"):
            engine.warn_slow_subsetter()
            engine.warn_slow_subsetter()
    finally:
        engine.font_subsetter.cache_clear()
    warned = [r for r in caplog.records if getattr(r, "code", None) == "BM532"]
    assert len(warned) == 1 and "libharfbuzz-subset0" in warned[0].getMessage()


TEXT_CSS = """
@page { size: 4in 6in; margin: 0.6in; }
body { text-align: justify; hyphens: auto; }
.u { text-decoration: underline; }  .ls { letter-spacing: 0.04em; }  .ws { word-spacing: 1.5pt; }
.sc { font-variant: small-caps; font-variant-numeric: oldstyle-nums; }  .narrow { width: 9em; }
pre { white-space: pre-wrap; tab-size: 4; text-align: left; }  .pl { white-space: pre-line; }
.big { font-size: 14pt; }  .mono { font-family: monospace; }  b { font-weight: bold; }  sup { font-size: 70%; }
"""


def _text_html() -> str:
    words = ("the watchmaker kept her notebooks in a drawer beside the bench and wrote in them "
             "every evening about escapements springs and the patience of customers").split()
    parts = []
    for n in range(24):
        line = " ".join(words[(n * 7 + i) % len(words)] for i in range(60))
        extras = ["<span class=\"u\">an underlined phrase of several words</span>",
                  "<span class=\"ls\">tracked letters across a line</span>", "<span class=\"ws\">wide word spacing</span>",
                  "<span class=\"sc\">Small Capitals 1984</span>", "Donaudampfschifffahrtsgesellschaft",
                  "twenty\u00a0three", "<em>an emphasis that runs over</em>", "<span class=\"big\">larger words here</span>",
                  "<b>bold words</b><sup>12</sup>", "<span class=\"mono\">monospaced words()</span>", "\u05e9\u05dc\u05d5\u05dd right to left"]
        parts.append(f"<p lang=\"{'de' if n % 5 == 0 else 'en'}\">{line[:200]} {extras[n % len(extras)]} {line[200:]}</p>")
    parts.append("<pre>\tindented\twith tabs and a line long enough to wrap around the measure of the page</pre>")
    parts.append("<p class=\"pl\">one line\nanother line that is long enough to be broken by the engine somewhere</p>")
    parts.append("<p class=\"narrow\">averyveryverylongwordwithoutanybreakopportunity and then some short words</p>")
    return "".join(parts)


def _text_pdf(styles: Path) -> bytes:
    layout = engine.LayoutEngine([styles.parent], [], styles.parent)
    document = layout.render(_text_html(), engine.Styles((styles,), "", styles.parent), {})
    assert len(document.pages) > 3
    return document.write_pdf(pdf_identifier=False)


def test_pango_shortcuts_lay_out_the_same_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shared Layout.setup, kept justified text and the skipped next-word tries give, byte for
    byte, the PDF of WeasyPrint's own code (with the line-fit fix in both), on justified and
    hyphenated text with decorations, spacing, features, tabs, hard line breaks and both directions."""
    from weasyprint.layout import inline, preferred
    from weasyprint.text import line_break

    styles = tmp_path / "print.css"
    styles.write_text(TEXT_CSS, encoding="utf-8")
    assert engine.apply_line_fit_fix() and engine.apply_pango_shortcuts()
    assert line_break.Layout.setup is engine._shared_setup
    tries: list[str] = []
    set_text = line_break.Layout.set_text
    monkeypatch.setattr(line_break.Layout, "set_text", lambda self, text, justify=False: (
        tries.append(text), set_text(self, text, justify))[1])
    shortcut = _text_pdf(styles)
    with_shortcuts = len(tries)

    fix_only, reason = engine._patched(line_break, "split_first_line", {engine._FITS: engine._FITS_FIXED},
                                       {"_bookmaker_fits_but_for_space": engine._fits_but_for_space}, "line breaking")
    assert fix_only is not None, reason
    for module in (line_break, inline, preferred):
        monkeypatch.setattr(module, "split_first_line", fix_only)
    monkeypatch.setattr(line_break.Layout, "setup", engine.ORIGINALS[("weasyprint.text.line_break", "Layout.setup")])
    monkeypatch.setattr(inline, "add_word_spacing", engine.ORIGINALS[("weasyprint.layout.inline", "add_word_spacing")])
    tries.clear()
    assert _text_pdf(styles) == shortcut
    assert with_shortcuts < len(tries)  # the next-word tries were skipped, not only made alike


def test_pango_shortcuts_leave_another_weasyprint_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from weasyprint.text import line_break

    monkeypatch.setattr(engine, "_pango_shortcuts_applied", None)
    monkeypatch.setattr(engine, "_SETUP_SOURCE", "0" * 64)  # as if Layout.setup were another one
    own = engine.ORIGINALS.get(("weasyprint.text.line_break", "Layout.setup"), line_break.Layout.setup)
    monkeypatch.setattr(line_break.Layout, "setup", own)
    before = line_break.Layout.setup
    assert engine.apply_pango_shortcuts() is False
    assert line_break.Layout.setup is before


def test_next_word_width_is_measured_on_the_layout_at_hand(tmp_path: Path) -> None:
    """The next-word shortcut skips a try only when the line plus the word is surely too wide."""
    from weasyprint.formatting_structure import boxes
    from weasyprint.text.line_break import create_layout, line_size

    styles = tmp_path / "print.css"
    styles.write_text("@page { size: 4in 6in; }", encoding="utf-8")
    layout_engine = engine.LayoutEngine([tmp_path], [], tmp_path)
    document = layout_engine.render("<p>Words</p>", engine.Styles((styles,), "", tmp_path), {})
    style = next(box.style for box in engine._descendants(document.pages[0]._page_box) if isinstance(box, boxes.TextBox))
    em = style["font_size"]

    def width(text: str) -> float:
        made = create_layout(text, style, None, None, 0)  # held: its lines live as long as it does
        return float(line_size(made.get_first_line()[0], style)[0])

    whole = width("watchmaker springs escapement")
    first = width("watchmaker springs ")
    # Laid out where the last word does not fit: Pango breaks before it.
    layout = create_layout("watchmaker springs escapement and more", style, None, whole - em, 0)
    line, resume = layout.get_first_line()
    assert resume == len("watchmaker springs ".encode())
    first_width = line_size(line, style)[0]
    assert abs(first_width - first) < em  # the line's own width, as split_first_line measures it
    overflows = engine._word_overflows
    assert overflows(layout, "watchmaker springs ", "escapement", first_width, whole - em, style)
    assert not overflows(layout, "watchmaker springs ", "escapement", first_width, whole, style)
    assert not overflows(layout, "watchmaker springs ", "escapement", first_width, whole - em / 8, style)  # too close to tell
    assert not overflows(layout, "watchmaker ", "springs", first_width, whole, style)  # not where the second line opens


def test_generated_css_is_parsed_once_and_a_document_s_own_comes_after(tmp_path: Path) -> None:
    styles = tmp_path / "print.css"
    styles.write_text("p { margin: 0; }", encoding="utf-8")
    layout = engine.LayoutEngine([tmp_path], [], tmp_path)
    shared = "@page { size: 4in 6in; }"
    sizes = []
    for own in ("", "@page { size: 5in 7in; }", "@page { size: 3in 5in; }"):
        document = layout.render("<p>Words</p>", engine.Styles((styles,), shared, tmp_path, own), {})
        sizes.append((round(document.pages[0].width), round(document.pages[0].height)))
    assert sizes == [(384, 576), (480, 672), (288, 480)]  # CSS pixels: 96 an inch
    assert len([key for prepared in engine._THEMES.values() for key in prepared[4] if key[0] == shared]) == 1


def _char_origins(pdf: bytes) -> list[list[tuple[str, float, float]]]:
    import pymupdf

    pages = []
    with pymupdf.open(stream=pdf, filetype="pdf") as document:
        for page in document:
            raw = page.get_text("rawdict")
            pages.append([(c["c"], c["origin"][0], c["origin"][1]) for block in raw["blocks"]
                          for line in block.get("lines", []) for span in line["spans"] for c in span["chars"]])
    return pages


def test_justified_text_is_drawn_from_one_run_as_pango_draws_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Justified boxes drawn from their text shaped once, each space given the justification as
    Pango gives it (half before the glyph, none at the line's ends), make the PDF of WeasyPrint's
    own word-by-word drawing byte for byte, on the mixed text above; boxes with word-spacing or
    letter-spacing are still set with the spacing by WeasyPrint's code."""
    from weasyprint import draw
    from weasyprint.draw import text
    from weasyprint.text import line_break

    styles = tmp_path / "print.css"
    styles.write_text(TEXT_CSS, encoding="utf-8")
    assert engine.apply_justified_drawing()
    justified: list[str] = []
    set_text = line_break.Layout.set_text
    monkeypatch.setattr(line_break.Layout, "set_text", lambda self, text, justify=False: (
        justify and self.justification_spacing and justified.append(text), set_text(self, text, justify))[1])
    shortcut = _text_pdf(styles)
    spaced = list(justified)
    own = engine.ORIGINALS[("weasyprint.draw.text", "draw_text")]
    monkeypatch.setattr(draw, "draw_text", own)
    monkeypatch.setattr(text, "draw_text", own)
    justified.clear()
    assert _text_pdf(styles) == shortcut
    # The shortcut did draw: only the boxes whose spacing is more than the justification were set with it.
    assert spaced and len(spaced) < len(justified) / 4
    assert all(t.strip() in "tracked letters across a line wide word spacing" for t in spaced), spaced


def _space_geometry(style, text: str, spacing: float) -> dict[int, tuple[int, int]]:
    """What Pango adds to each glyph (width, x offset) of ``text`` set with ``justify=True``, by byte offset."""
    from weasyprint.text.ffi import ffi
    from weasyprint.text.line_break import Layout

    def glyphs(justify: bool) -> tuple[Any, dict[int, tuple[int, int]]]:
        layout = Layout(style, spacing)
        layout.set_text(text, justify=justify)
        run, found = layout.get_first_line()[0].runs, {}
        while run != ffi.NULL:
            item, run = run.data, run.next
            for i in range(item.glyphs.num_glyphs):
                geometry = item.glyphs.glyphs[i].geometry
                found[item.item.offset + item.glyphs.log_clusters[i]] = (geometry.width, geometry.x_offset)
        return layout, found  # the layout holds the glyphs

    (_j, spaced), (_p, plain) = glyphs(True), glyphs(False)
    return {at: (spaced[at][0] - plain[at][0], spaced[at][1] - plain[at][1]) for at in plain if spaced[at] != plain[at]}


@pytest.mark.parametrize(("text", "spacing"), [
    ("ab cd", 3.2), (" ab cd\u00a0ef ", 3.2), ("ab\u00a0", 3.2), ("a  b", 1.7),
    ("a b ", 3.0),  # whole points: Pango rounds the half to a point
    (" a\u00a0b c ", 4.0),
])
def test_spaces_get_the_justification_pango_gives_them(tmp_path: Path, text: str, spacing: float) -> None:
    from types import SimpleNamespace

    from weasyprint.formatting_structure import boxes
    from weasyprint.text.ffi import TO_UNITS

    styles = tmp_path / "print.css"
    styles.write_text("@page { size: 4in 6in; }", encoding="utf-8")
    document = engine.LayoutEngine([tmp_path], [], tmp_path).render("<p>Words</p>", engine.Styles((styles,), "", tmp_path), {})
    style = next(box.style for box in engine._descendants(document.pages[0]._page_box) if isinstance(box, boxes.TextBox))
    expected = _space_geometry(style, text, spacing)
    assert expected  # Pango did space them
    assert engine._spaces(SimpleNamespace(text=text, _bookmaker_extra=int(spacing * TO_UNITS))) == expected


def _png(path: Path, mode: str, **save: Any) -> Path:
    from PIL import Image

    size = (48, 30)
    image = Image.new(mode, size)
    image.putdata([((x * 5 + y * 3) % 256, (x * y) % 256, (255 - x * 4) % 256)[:len(mode)] if mode != "L" and mode != "I;16"
                   else (x * 5 + y * 7) % 256 for y in range(size[1]) for x in range(size[0])])
    image.save(path, **save)
    return path


def test_png_rows_go_into_the_pdf_as_they_are_and_show_the_same_pixels(tmp_path: Path) -> None:
    """8-bit grey and RGB PNGs keep their own compressed rows (a level-1 file, which WeasyPrint's
    re-encoding at the default level would change); a 16-bit, a palette and an interlaced PNG go
    through WeasyPrint's code; the images show the files' pixels."""
    import pymupdf
    from PIL import Image

    assert engine.apply_png_shortcut()
    files = {
        "rgb": _png(tmp_path / "rgb.png", "RGB", compress_level=1),
        "grey": _png(tmp_path / "grey.png", "L", compress_level=1),
        "palette": _png(tmp_path / "palette.png", "RGB").with_name("palette.png"),
        "deep": _png(tmp_path / "deep.png", "I;16"),
    }
    Image.open(files["palette"]).convert("P").save(files["palette"])
    kept = {name: engine._png_rows(path.read_bytes(), 48, 30, "L" if name == "grey" else "RGB")
            for name, path in files.items()}
    assert kept["rgb"] and kept["grey"] and not kept["palette"] and not kept["deep"]
    rgb = files["rgb"].read_bytes()
    assert not engine._png_rows(rgb[:28] + b"\x01" + rgb[29:], 48, 30, "RGB")  # interlaced (Pillow writes none)
    assert not engine._png_rows(rgb, 48, 31, "RGB") and not engine._png_rows(rgb, 48, 30, "L")
    styles = tmp_path / "print.css"
    styles.write_text("@page { size: 4in 6in; } img { display: block; width: 48px; }", encoding="utf-8")
    html = "".join(f'<img src="{path.name}">' for path in files.values())
    pdf = engine.LayoutEngine([tmp_path], [], tmp_path).render(html, engine.Styles((styles,), "", tmp_path), {}).write_pdf()
    with pymupdf.open(stream=pdf, filetype="pdf") as document:
        xrefs = [info[0] for info in document[0].get_images(full=True)]
        streams = {document.xref_stream_raw(xref) for xref in xrefs}
        assert kept["rgb"] in streams and kept["grey"] in streams
        shown = [document.extract_image(xref)["image"] for xref in xrefs]
    assert len(shown) == len(files)
    for name in ("rgb", "grey", "palette"):  # in the page's order
        source = Image.open(files[name]).convert("RGB")
        data = shown[list(files).index(name)]
        assert Image.open(io.BytesIO(data)).convert("RGB").tobytes() == source.tobytes(), name


def test_fonts_are_subset_without_a_new_cffi_type_per_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The subsetter's glyph arrays are made with one open array type: documents with other
    numbers of glyphs parse no new cffi type, and the PDF is WeasyPrint's own byte for byte."""
    from weasyprint.pdf import fonts
    from weasyprint.text.ffi import ffi

    assert engine.apply_subset_shortcut()
    styles = tmp_path / "print.css"
    styles.write_text("@page { size: 4in 6in; } .b { font-weight: bold; }", encoding="utf-8")
    layout = engine.LayoutEngine([tmp_path], [], tmp_path)

    def pdf(words: str) -> bytes:
        html = f"<p>{words}</p><p class='b'>{words[::-1]}</p>"
        return layout.render(html, engine.Styles((styles,), "", tmp_path), {}).write_pdf(pdf_identifier=False)

    pdf("warm up the fonts and types")
    types = len(ffi._parsed_types)
    shortcut = [pdf(words) for words in ("quartz", "the quick brown fox", "jumps over the lazy dog, zebra!")]
    assert len(ffi._parsed_types) == types
    monkeypatch.setattr(fonts.Font, "_harfbuzz_subset", engine.ORIGINALS[("weasyprint.pdf.fonts", "Font._harfbuzz_subset")])
    assert [pdf(words) for words in ("quartz", "the quick brown fox", "jumps over the lazy dog, zebra!")] == shortcut
    assert len(ffi._parsed_types) > types  # WeasyPrint's own code does parse new ones


def test_what_the_patches_warned_reaches_every_section_s_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The patches may be applied in the fork server (warm_theme), whose warnings no terminal
    sees: each section's layout says them again, so they reach the build and the cache."""
    styles = tmp_path / "print.css"
    styles.write_text("@page { size: 4in 6in; }", encoding="utf-8")
    said = [["the line-fit fix is not applied (a test)", None, None, "BM531"]]
    monkeypatch.setattr(engine, "_patch_warnings", said)
    reports = []
    for n in range(2):
        job = engine.SectionJob(f"k{n}", f"<p>Section {n}</p>", engine.Styles((styles,), "", tmp_path), (),
                                (tmp_path,), (), tmp_path, tmp_path / "cache", True)
        reports.append(engine.lay_out_section(job))
    assert all(report["warnings"] == said for report in reports)


def test_deflate_shortcut_deflates_at_level_6(monkeypatch: pytest.MonkeyPatch) -> None:
    """pydyf's level-9 streams are deflated at DEFLATE_LEVEL, and still inflate to the same bytes."""
    import zlib

    import pydyf

    monkeypatch.setattr(engine, "_deflate_applied", None)
    monkeypatch.setattr(pydyf.Stream, "data", pydyf.Stream.data)
    assert engine.apply_deflate_shortcut() is True
    data = b"BT /F1 11 Tf 72 700 Td (The quick brown fox) Tj ET\n" * 400
    stream = pydyf.Stream([data], compress=True).data
    deflated = stream.split(b"stream\n", 1)[1].rsplit(b"\nendstream", 1)[0]
    assert zlib.decompress(deflated) == data
    compressor = zlib.compressobj(level=engine.DEFLATE_LEVEL)
    assert deflated == compressor.compress(data) + compressor.flush()
    assert deflated != zlib.compress(data, 9)


def test_deflate_shortcut_leaves_another_pydyf_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    import pydyf

    monkeypatch.setattr(engine, "_deflate_applied", None)
    monkeypatch.setattr(pydyf.Stream, "data", pydyf.Stream.data)
    monkeypatch.setattr(engine, "_DEFLATE", "        compressobj = zlib.compressobj(level=4)\n")
    before = pydyf.Stream.data
    assert engine.apply_deflate_shortcut() is False
    assert pydyf.Stream.data is before


def test_only_the_engine_imports_weasyprint() -> None:
    # Issue 10: every use of WeasyPrint (fetcher, layout, patches, page map) in one module.
    import ast

    package = Path(engine.__file__).parent
    found = []
    for source in sorted(package.rglob("*.py")):
        if source.name == "engine.py" and source.parent == package:
            continue
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{source.relative_to(package)}:{node.lineno} {name}" for name in names
                      if name == "weasyprint" or name.startswith("weasyprint.")]
    assert found == []
