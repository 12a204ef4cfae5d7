"""``bookmaker new``: a project that builds at once and whose EPUB passes EPUBCheck."""

from __future__ import annotations

from pathlib import Path

import yaml

from bookmaker.config import KNOWN_KEYS, PDF_KEYS
from bookmaker.lint import check_manuscript
from conftest import epubcheck_messages, run_cli


def test_new_project_checks_clean_builds_and_passes_epubcheck(tmp_path, monkeypatch):
    result = run_cli("new", "my-book", "--title", "My: \"Book\"", "--author", "Ann Lee", "--styles", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "created my-book/" in result.stdout and "bookmaker preview" in result.stdout
    project = tmp_path / "my-book"
    assert sorted(p.name for p in (project / "manuscript").iterdir()) == [
        "00-dedication.md", "01-first-chapter.md", "02-second-chapter.md", "book.yaml",
    ]
    assert (project / "styles" / "print.css").is_file() and (project / "styles" / "fonts").is_dir()
    assert (project / ".gitignore").read_text() == "build/\n"

    check = run_cli("check", cwd=project)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout == "" and check.stderr.strip() == "no problems found"

    # check --outputs runs EPUBCheck on the very EPUB that build writes (one slow EPUBCheck
    # run is enough: it is the real one below).
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780000000")
    checked: list[bytes] = []

    class Spy:
        def __init__(self, path: str) -> None:
            checked.append(Path(path).read_bytes())
            self.messages: list[object] = []

    monkeypatch.setattr("epubcheck.EpubCheck", Spy)
    assert check_manuscript(project / "manuscript", outputs=True) == []

    build = run_cli("build", cwd=project, env={"SOURCE_DATE_EPOCH": "1780000000"})
    assert build.returncode == 0, build.stderr
    assert build.stderr == ""  # no warnings, and no progress line when piped
    assert "wrote build/my-book.pdf" in build.stdout and "wrote build/my-book.epub" in build.stdout
    assert checked == [(project / "build" / "my-book.epub").read_bytes()]
    assert epubcheck_messages(project / "build" / "my-book.epub") == []


def test_book_yaml_explains_every_key_and_parses(tmp_path):
    assert run_cli("new", "b", "--language", "de", cwd=tmp_path).returncode == 0
    text = (tmp_path / "b" / "manuscript" / "book.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text) == {"title": "Untitled", "author": "Your Name", "language": "de"}
    for key in KNOWN_KEYS:
        assert f"\n# {key}:" in text or f"\n{key}:" in text, key
    for key in PDF_KEYS:
        assert f"#   {key}:" in text, key


def test_new_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine", encoding="utf-8")
    result = run_cli("new", "taken", cwd=tmp_path)
    assert result.returncode == 5
    assert result.stderr == "error: 'taken' already exists and is not empty; choose a new folder name\n"
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"
    assert not (tmp_path / "taken" / "manuscript").exists()
    (tmp_path / "empty").mkdir()
    assert run_cli("new", "empty", cwd=tmp_path).returncode == 0
