"""limits.max_seconds and limits.max_memory_mb stop a build cleanly; the preview answers a malformed reload request."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bookmaker.config import Limits
from bookmaker.errors import ManuscriptError
from bookmaker.limits import budget
from conftest import run_cli, write_book


def test_wall_time_budget_stops_the_work() -> None:
    with pytest.raises(ManuscriptError, match=r"longer than limits\.max_seconds \(1 s\)"):
        with budget(Limits(max_seconds=1), Path("book.yaml")):
            time.sleep(5)


def test_memory_budget_turns_exhaustion_into_a_named_error() -> None:
    with pytest.raises(ManuscriptError, match=r"more memory than limits\.max_memory_mb \(300 MB\)"):
        with budget(Limits(max_memory_mb=300), Path("book.yaml")):
            bytearray(600 * 1024 * 1024)
    bytearray(600 * 1024 * 1024)  # the limit is lifted afterwards


def test_budget_keys_are_validated_and_documented(tmp_path: Path) -> None:
    book = write_book(tmp_path / "book", {
        "book.yaml": "title: T\nauthor: A\nlanguage: en\nlimits: {max_seconds: soon, max_memory_mb: 4096}\n",
        "a.md": "# One\n\nText.\n",
    })
    result = run_cli("build", str(book), "-o", str(tmp_path / "out"), "--format", "epub", timeout=120)
    assert result.returncode == 3, result.stderr
    assert "'limits.max_seconds' expected a positive whole number, got 'soon'" in result.stderr
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "max_seconds:" in readme and "max_memory_mb:" in readme


def test_preview_reload_with_a_bad_since_is_a_400(tmp_path: Path) -> None:
    from bookmaker.preview import PreviewServer

    root = write_book(tmp_path / "book", {"book.yaml": "title: T\nauthor: A\nlanguage: en\n", "a.md": "# One\n\nText.\n"})
    server = PreviewServer(root, port=0).start()
    try:
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(server.url + "__reload?since=abc", timeout=10)
        assert info.value.code == 400
    finally:
        server.close()
