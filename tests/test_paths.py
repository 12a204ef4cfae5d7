"""Outputs do not depend on how the manuscript path is typed or on the working directory; ids never collide."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

from conftest import MINIMAL_YAML, run_cli

EPOCH = "1780000000"

SUBFOLDERS = {
    "book.yaml": MINIMAL_YAML + "contents:\n  - part-1/chapter-1.md\n  - part-2/chapter-1.md\n  - ./part-2/../notes.md\n",
    "part-1/chapter-1.md": "# The First Morning\n\nText, and [a link](../part-2/chapter-1.md).\n",
    "part-2/chapter-1.md": "# The Second Morning\n\nMore text.\n",
    "notes.md": "---\nkind: afterword\n---\n\n# Afterword\n\nThe end.\n",
}


def _build(book_arg: str, cwd: Path, out: Path) -> bytes:
    result = run_cli("build", book_arg, "-o", str(out), "--format", "epub", cwd=cwd, env={"SOURCE_DATE_EPOCH": EPOCH}, timeout=120)
    assert result.returncode == 0, result.stderr
    (epub,) = out.glob("*.epub")
    return epub.read_bytes()


def test_relative_absolute_and_other_cwd_give_the_same_epub(make_book: Callable[..., Path], tmp_path: Path) -> None:
    book = make_book(SUBFOLDERS, name="work/ms")
    work = book.parent
    (tmp_path / "elsewhere").mkdir()
    relative = _build("ms", work, tmp_path / "o1")
    absolute = _build(str(book), tmp_path / "elsewhere", tmp_path / "o2")
    dotted = _build("../work/./ms/", tmp_path / "elsewhere", tmp_path / "o3")
    assert relative == absolute == dotted
    names = set(zipfile.ZipFile(tmp_path / "o1" / "a-small-life.epub").namelist())
    # Chapter files are named by their path in the book, never by the bare (repeated) stem.
    assert {"EPUB/text/part-1-chapter-1.xhtml", "EPUB/text/part-2-chapter-1.xhtml", "EPUB/text/notes.xhtml"} <= names
