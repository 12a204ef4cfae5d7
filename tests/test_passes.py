"""One list of book-wide passes: build, check and preview run the same passes and name every problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bookmaker import passes
from bookmaker.errors import EXIT_MANUSCRIPT, ManuscriptError, ProblemList, Report
from bookmaker.lint import check_manuscript
from bookmaker.model import Book
from bookmaker.pipeline import read_book
from bookmaker.preview import PreviewSite
from conftest import MINIMAL_YAML, run_cli

#: Three problems in three files: a duplicate id, a missing image and front matter of an unknown kind.
THREE_PROBLEMS = {
    "book.yaml": MINIMAL_YAML,
    "01-one.md": "# One\n\n## Early Years {#early}\n\nText.\n",
    "02-two.md": "# Two\n\n## Again {#early}\n\nText.\n\n![A chart](chart.png)\n",
    "03-three.md": "---\nkind: chapterr\n---\n\n# Three\n\nText.\n",
}


def test_build_names_every_problem_not_only_the_first(make_book: Callable[..., Path], tmp_path: Path) -> None:
    book = make_book(THREE_PROBLEMS)
    result = run_cli("build", str(book), "-o", str(tmp_path / "out"), "--format", "epub", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    # The first problem in reading order decides the exit code (front matter: 3).
    assert result.returncode == 3, result.stderr
    lines = result.stderr.splitlines()
    assert any("03-three.md:2: 'kind': unknown kind 'chapterr'" in line for line in lines), result.stderr
    assert any("02-two.md:3: duplicate id 'early' (also in 01-one.md)" in line for line in lines), result.stderr
    assert any("02-two.md:7: image not found: chart.png" in line for line in lines), result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_check_reports_the_same_problems_under_their_codes(make_book: Callable[..., Path]) -> None:
    book = make_book(THREE_PROBLEMS)
    errors = {(f.code, Path(f.path or "").name, f.line) for f in check_manuscript(book) if f.severity == "error"}
    assert errors == {("BM103", "03-three.md", 2), ("BM402", "02-two.md", 3), ("BM501", "02-two.md", 7)}


def test_read_book_raises_all_problems_together(make_book: Callable[..., Path]) -> None:
    book = make_book({k: v for k, v in THREE_PROBLEMS.items() if k != "03-three.md"})
    with pytest.raises(ProblemList) as info:
        read_book(book)
    assert [e.code for e in info.value.errors] == ["BM402", "BM501"]
    assert info.value.exit_code == EXIT_MANUSCRIPT


def _planted_pass(book: Book, report: Report) -> None:
    """A pass as a later issue adds one: it finds a problem in the last chapter."""
    last = book.chapters[-1]
    report.add(ManuscriptError("planted pass ran", last.source, 1, code="BM900"))


def test_a_pass_added_to_the_list_runs_in_build_check_and_preview(
    make_book: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    book = make_book({"book.yaml": MINIMAL_YAML, "a.md": "# A\n\nText.\n", "b.md": "# B\n\nMore.\n"})
    assert not [f for f in check_manuscript(book) if f.severity == "error"]
    monkeypatch.setattr(passes, "PASSES", (*passes.PASSES, _planted_pass))
    with pytest.raises(ManuscriptError, match="planted pass ran"):
        read_book(book)
    assert [(f.code, f.message) for f in check_manuscript(book) if f.severity == "error"] == [("BM900", "planted pass ran")]
    site = PreviewSite(book)
    assert site.book is None and "planted pass ran" in "".join(site.errors.values())
