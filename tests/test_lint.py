"""``bookmaker check``: one planted instance of every finding, each with its code and exact file:line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from bookmaker.lint import SEVERITY, check_manuscript, print_box_inches, print_dpi
from conftest import MINIMAL_YAML, run_cli


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "PNG")
    return buffer.getvalue()


PLANTED = {
    "book.yaml": MINIMAL_YAML + "colour: blue\n",
    "01-notes.md": """\
        ---
        kind: chapter
        mood: dark
        ---

        # Notes and Links

        A call to a missing note.[^nowhere]

        A [broken link](#no-such-anchor).

        ## Section {#dup}

        #### Too Deep

        <p>Raw "quotes" here.</p>

        <p>Raw dashes -- here.</p>

        ![](images/tiny.png)

        ![Missing](images/missing.png)

        ![Broken](images/broken.png)

        ![Remote](https://example.com/x.png)

        A `"quoted" -- code span` and ![Fine](images/big.png) are fine.

        [^unused]: Never called.
        """,
    "02-dup.md": """\
        # Another

        ## Again {#dup}
        """,
    "03-empty.md": """\
        ---
        title: Empty
        ---
        """,
    "04-badfront.md": """\
        ---
        kind: chapterr
        ---

        # Bad Kind
        """,
    "05-notitle.md": "Just text, and no title.\n",
    "images/tiny.png": png(50, 40),
    "images/big.png": png(1600, 900),
    "images/broken.png": b"\x89PNG\r\n\x1a\nnot really a png",
}

#: Every planted finding: (code, file, line).
EXPECTED = {
    ("BM101", "book.yaml", 5),
    ("BM102", "01-notes.md", 3),
    ("BM301", "01-notes.md", 8),
    ("BM401", "01-notes.md", 10),
    ("BM202", "01-notes.md", 14),
    ("BM203", "01-notes.md", 16),
    ("BM204", "01-notes.md", 18),
    ("BM502", "01-notes.md", 20),
    ("BM504", "01-notes.md", 20),
    ("BM501", "01-notes.md", 22),
    ("BM503", "01-notes.md", 24),
    ("BM505", "01-notes.md", 26),
    ("BM302", "01-notes.md", 30),
    ("BM402", "02-dup.md", 3),
    ("BM201", "03-empty.md", 4),
    ("BM103", "04-badfront.md", 2),
    ("BM200", "05-notitle.md", 1),
}


def test_check_reports_every_planted_finding_with_code_and_line(make_book):
    root = make_book(PLANTED)
    findings = check_manuscript(root)
    got = {(f.code, Path(f.path).name, f.line) for f in findings}
    assert got == EXPECTED, "\n".join(str(f) for f in findings)
    for f in findings:
        assert f.severity == SEVERITY[f.code]
    # Reading order: book.yaml, then each chapter from top to bottom.
    assert [Path(f.path).name for f in findings][:2] == ["book.yaml", "01-notes.md"]
    lines = [f.line for f in findings if f.path.endswith("01-notes.md")]
    assert lines == sorted(lines)


def test_check_cli_prints_editor_locations_and_fails_on_errors(make_book):
    root = make_book(PLANTED)
    result = run_cli("check", "manuscript", cwd=root.parent, env={"NO_COLOR": "1"})
    assert result.returncode == 4, result.stderr
    lines = result.stdout.splitlines()
    assert "manuscript/01-notes.md:8: warning: BM301 footnote reference [^nowhere] has no definition" in lines
    assert "manuscript/02-dup.md:3: error: BM402 duplicate id 'dup' (also in 01-notes.md); ids must be unique in the book" in lines
    assert len(lines) == len(EXPECTED)
    assert "\x1b[" not in result.stdout  # no colour when piped
    assert result.stderr.strip() == "6 errors, 11 warnings"


def test_check_json_is_machine_readable(make_book):
    root = make_book(PLANTED)
    result = run_cli("check", str(root), "--format", "json")
    data = json.loads(result.stdout)
    assert data["errors"] == 6 and data["warnings"] == 11
    assert {(f["code"], Path(f["path"]).name, f["line"]) for f in data["findings"]} == EXPECTED


def test_check_clean_book_passes_and_strict_fails_on_warnings(make_book):
    root = make_book({"book.yaml": MINIMAL_YAML, "01.md": "# One\n\nText.\n"})
    assert check_manuscript(root) == []
    assert run_cli("check", str(root)).returncode == 0
    (root / "02.md").write_text("# Two\n\nText.[^x]\n", encoding="utf-8")
    assert run_cli("check", str(root)).returncode == 0
    strict = run_cli("check", str(root), "--strict")
    assert strict.returncode == 6
    assert "02.md:3: warning: BM301" in strict.stdout


@pytest.mark.parametrize(
    ("yaml_text", "code", "line", "message"),
    [
        ("title: [unclosed\n", "BM100", 2, "invalid YAML"),
        (MINIMAL_YAML + "contents: [01.md, 99-missing.md]\n", "BM104", 5, "file not found: 99-missing.md"),
    ],
)
def test_config_errors_are_findings_with_exit_3(make_book, yaml_text, code, line, message):
    root = make_book({"book.yaml": yaml_text, "01.md": "# One\n"})
    (finding,) = check_manuscript(root)
    assert (finding.code, Path(finding.path).name, finding.line) == (code, "book.yaml", line)
    assert message in finding.message
    assert run_cli("check", str(root)).returncode == 3


def test_code_spans_may_hold_straight_quotes(make_book):
    root = make_book({"book.yaml": MINIMAL_YAML, "01.md": '# One\n\nSay `"hi" -- there`.\n\n```\n"x" -- y\n```\n'})
    assert check_manuscript(root) == []


def test_print_resolution_estimate(make_book):
    from bookmaker.config import load_config

    box = print_box_inches(load_config(make_book({"book.yaml": MINIMAL_YAML})))
    assert 4.0 < box[0] < 5.0 and 4.0 < box[1] < 6.0  # 6x9 in: the text block, figures capped
    assert print_dpi(300, 200, box) == 96  # printed at its CSS size
    assert print_dpi(2400, 1200, box) > 300
    small = make_book({"book.yaml": MINIMAL_YAML + "pdf:\n  trim: a5\n"}, name="a5")
    assert print_box_inches(load_config(small))[0] < box[0]


def test_outputs_runs_epubcheck_and_reports_in_the_same_format(make_book, monkeypatch):
    # The real EPUBCheck runs in test_cli_new (it is slow); here its messages are faked.
    root = make_book({"book.yaml": MINIMAL_YAML, "01.md": "# One\n\nText.\n"})

    class FakeMessage:
        id, level, message = "RSC-005", "ERROR", "Error while parsing file"
        location = "a-small-life.epub/EPUB/text/one.xhtml:12:5"

    class FakeCheck:
        def __init__(self, path: str) -> None:
            self.messages = [FakeMessage()]

    monkeypatch.setattr("epubcheck.EpubCheck", FakeCheck)
    (finding,) = check_manuscript(root, outputs=True)
    assert (finding.code, finding.severity, finding.location) == ("RSC-005", "error", "a-small-life.epub/EPUB/text/one.xhtml:12")


def test_with_smart_punctuation_off_plain_quotes_and_dashes_are_reported(make_book):
    text = "# One\n\nShe wrote \u201cthis\u201d herself.\n\nBut \"this\" -- not.\n"
    on = make_book({"book.yaml": MINIMAL_YAML, "01.md": text}, name="on")
    assert check_manuscript(on) == []
    off = make_book({"book.yaml": MINIMAL_YAML + "smart_punctuation: false\n", "01.md": text}, name="off")
    assert [(f.code, f.line) for f in check_manuscript(off)] == [("BM203", 5), ("BM204", 5)]


def test_unsafe_raw_html_is_a_coded_warning(make_book):
    root = make_book({"book.yaml": MINIMAL_YAML, "01.md": "# One\n\nText.\n\n<script>alert(1)</script>\n\n<p onclick=\"x()\">Hi</p>\n"})
    data = json.loads(run_cli("check", str(root), "--format", "json").stdout)
    found = {(f["code"], f["severity"], f["line"]) for f in data["findings"]}
    assert ("BM601", "warning", 5) in found and ("BM601", "warning", 7) in found
    assert not [f for f in data["findings"] if f["code"] == "BM001"]
