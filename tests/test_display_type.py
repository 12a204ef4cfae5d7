"""Display type: titles, headings, running heads and the contents never hyphenate, long titles break into balanced lines, letter-spaced small caps copy as words."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pymupdf
import pytest

from bookmaker.display import balanced_lines
from conftest import run_cli, write_book

TITLE = "The Extraordinary and Unrepeatable Adventures of an Internationally Misunderstood Lexicographer"
CHAPTER = "Incomprehensibilities of Characteristically Unconventional Institutionalisation"


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_book(tmp_path_factory.mktemp("display") / "ms", {
        "book.yaml": (f"title: {TITLE}\nsubtitle: Being an Account of Dictionaries and Railway Carriages\n"
                      "author: Philippa Wolstenholme\nlanguage: en\npublisher: Holdout Press\ndate: 2026-03-01\n"),
        "01-part.md": "---\nkind: part\n---\n# Part One: Beginnings Notwithstanding Circumstances\n\nThe part opens.\n",
        "02-chapter.md": (f"# {CHAPTER}\n\n" + "She arrived at the institution with a portmanteau of pamphlets. " * 60
                          + "\n\n## Internationalisation and Counterrevolutionary Correspondence\n\nMore text.\n"),
    })
    out = root.parent / "out"
    result = run_cli("build", str(root), "-o", str(out), "--format", "pdf", env={"SOURCE_DATE_EPOCH": "1780000000"})
    assert result.returncode == 0, result.stderr
    return next(out.glob("*.pdf"))


def _lines(pdf: Path) -> list[tuple[int, str, float, tuple[float, float, float, float]]]:
    """(page, text, size, bbox) of every text line."""
    found = []
    with pymupdf.open(pdf) as doc:
        for number, page in enumerate(doc):
            for block in page.get_text("dict")["blocks"]:
                for line in block.get("lines", []):
                    text = "".join(span["text"] for span in line["spans"])
                    size = max(span["size"] for span in line["spans"])
                    if text.strip():
                        found.append((number, text, size, line["bbox"]))
    return found


def test_no_display_line_is_hyphenated(pdf: Path) -> None:
    lines = _lines(pdf)
    body_size = 11.0
    display = [(p, t) for p, t, size, _ in lines if size > body_size + 0.5 or size < 10]
    assert display
    hyphenated = [t for _, t in display if t.rstrip().endswith(("\u2010", "-", "\u00ad"))]
    assert hyphenated == []
    # The contents entry for the long chapter title wraps between words.
    with pymupdf.open(pdf) as doc:
        contents = next(page.get_text() for page in doc if "Contents" in page.get_text())
    assert "Incomprehensibilities" in contents and "Institutionalisation" in contents
    assert "\u2010" not in contents


def test_long_titles_break_into_balanced_lines(pdf: Path) -> None:
    lines = _lines(pdf)
    half = [(t, bbox) for p, t, size, bbox in lines if p == 0 and size > 15]
    assert len(half) >= 2
    assert " ".join(t.strip() for t, _ in half).lower() == TITLE.lower()
    widths = [bbox[2] - bbox[0] for _, bbox in half]
    assert min(widths) / max(widths) > 0.7, [t for t, _ in half]
    title = [(t, bbox) for p, t, size, bbox in lines if size > 30]
    assert " ".join(t.strip() for t, _ in title) == TITLE
    widths = [bbox[2] - bbox[0] for _, bbox in title]
    assert min(widths) / max(widths) > 0.55, [t for t, _ in title]
    # A chapter title is balanced too: no line of one word under a long line.
    chapter = [t.strip() for p, t, size, _ in lines if 18 < size < 21 and t.strip() and t.strip() in CHAPTER]
    assert len(chapter) == 2 and all(len(t.split()) >= 2 for t in chapter), chapter


def test_balancing_keeps_every_word_and_fits() -> None:
    words = "one two three four five six seven eight nine ten eleven".split()
    lines = balanced_lines(words, 20, len)
    assert " ".join(lines).split() == words
    assert all(len(line) <= 20 for line in lines)
    assert max(map(len, lines)) - min(map(len, lines)) <= 6
    assert balanced_lines(["short"], 3, len) == ["short"]
    assert balanced_lines(words, 100, len) == [" ".join(words)]


def test_letter_spaced_small_caps_copy_as_words(pdf: Path) -> None:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    for words in ("Holdout Press", "Part One", "Chapter 1", "Philippa Wolstenholme", "Contents"):
        assert words in flat, words
    # The running head of versos (the author, small caps) and the lead-in.
    assert flat.count("Philippa Wolstenholme") >= 2
    assert "She arrived at the institution" in flat
