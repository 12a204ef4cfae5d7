"""A build leaves nothing behind in the temporary folder, whether it lays out in its own process or in workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from bookgen import generate_book
from conftest import run_cli


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_build_leaves_no_temporary_files(jobs: str, tmp_path: Path) -> None:
    # WeasyPrint copies each @font-face file into a weasyprint-* folder that only a finaliser
    # removes, and worker processes end without running finalisers.
    book = generate_book(tmp_path / "manuscript", chapters=4, paragraphs=3, figures=False)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = run_cli("build", str(book), "-o", str(tmp_path / "out"), "-q", "-j", jobs, "--no-cache",
                     env={"TMPDIR": str(scratch)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "a-generated-life.pdf").is_file()
    assert sorted(p.name for p in scratch.iterdir()) == []
